package runner

// GitHTTPBackend lets the checkout tests build a stricter git server.
var GitHTTPBackend = gitHTTPBackend
