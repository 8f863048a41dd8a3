package app

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/app/githubapp"
)

// TestSetupHandlerRoutes: the setup page answers on / (GET and HEAD) and
// /callback (GET) only; anything else is 404, whatever the method.
func TestSetupHandlerRoutes(t *testing.T) {
	t.Parallel()
	setup, err := githubapp.NewSetup(githubapp.SetupConfig{
		GitHubURL: "https://github.com", APIURL: "https://api.github.com/", DataDir: t.TempDir(),
		Manifest: githubapp.NewSentinelManifest("sentinel-test", "http://localhost:8080",
			"https://smee.io/AbCdEf123456", "http://127.0.0.1:1/callback"),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := SetupHandler(setup)
	tests := []struct {
		method, target string
		status         int
		wantText       string
	}{
		{http.MethodGet, "/", http.StatusOK, "Create GitHub App"},
		{http.MethodHead, "/", http.StatusOK, ""},
		{http.MethodGet, "/callback?code=c&state=forged", http.StatusBadRequest, "state mismatch"},
		{http.MethodPost, "/", http.StatusNotFound, "404 page not found"},
		{http.MethodPost, "/callback", http.StatusNotFound, "404 page not found"},
		{http.MethodGet, "/callback/", http.StatusNotFound, "404 page not found"},
		{http.MethodGet, "/favicon.ico", http.StatusNotFound, "404 page not found"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
		if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.wantText) {
			t.Errorf("%s %s: status %d, body %q; want %d containing %q", tt.method, tt.target, rec.Code, rec.Body, tt.status, tt.wantText)
		}
	}
}
