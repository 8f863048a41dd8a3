package runnertest

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/jobs/runner"
)

// Token is an installation token for GitServer.
const Token = "ghs_testtoken0123456789"

// Git runs git in dir, failing the test on error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// MakeRepo creates root/name.git, a bare repository holding one commit per
// files map, and returns the commit ids in order.
func MakeRepo(t testing.TB, root, name string, commits ...map[string]string) []string {
	t.Helper()
	work := t.TempDir()
	Git(t, work, "init", "-q", "-b", "main")
	var shas []string
	for i, files := range commits {
		for p, content := range files {
			full := filepath.Join(work, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		Git(t, work, "add", "-A")
		Git(t, work, "commit", "-q", "-m", "commit "+string(rune('a'+i)))
		shas = append(shas, Git(t, work, "rev-parse", "HEAD"))
	}
	Git(t, root, "clone", "-q", "--bare", work, filepath.Join(root, name+".git"))
	return shas
}

// GitServer serves the bare repositories under root (MakeRepo's) with
// runner.GitHTTPHandler to clients that carry token the way GitHub expects
// an installation token, and to nobody else. It stops when the test ends.
func GitServer(t testing.TB, root, token string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(tokenOnly(token, runner.GitHTTPHandler(root)))
	t.Cleanup(srv.Close)
	return srv
}

// tokenOnly lets through requests carrying the installation token the way
// GitHub expects it, and nothing else.
func tokenOnly(token string, next http.Handler) http.Handler {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
