package runner

import (
	"net/http"
	"net/http/cgi"
	"os/exec"
	"path/filepath"
	"strings"
)

// GitHTTPHandler serves the bare repositories under root over git's smart
// HTTP protocol, through `git http-backend` as a CGI program: a local
// stand-in for GitHub's clone URLs in tests, the demo and the fake GitHub.
// A request for /owner/name.git/info/refs serves root/owner/name.git.
// Like GitHub, it lets clients fetch any commit by its SHA, so shallow
// fetches of an exact commit work. It does no authentication; wrap it.
func GitHTTPHandler(root string) http.Handler {
	backend := gitHTTPBackend()
	return &cgi.Handler{
		Path: backend,
		Root: "/",
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_COUNT=2",
			"GIT_CONFIG_KEY_0=uploadpack.allowAnySHA1InWant",
			"GIT_CONFIG_VALUE_0=true",
			"GIT_CONFIG_KEY_1=safe.directory",
			"GIT_CONFIG_VALUE_1=*",
		},
	}
}

// gitHTTPBackend finds the git-http-backend program in git's exec path.
func gitHTTPBackend() string {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return "git-http-backend" // cgi reports the failure on the first request
	}
	return filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
}
