module example.com/sentinel-samples/dns

go 1.26

// This host is under .invalid, a top-level domain reserved never to resolve (RFC 6761), so
// downloading the module fails at name resolution on every machine, with or without internet.
require deps.sentinel-demo.invalid/retry v1.4.2
