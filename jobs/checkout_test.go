package jobs

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

const testToken = "ghs_testtoken0123456789"

// gitRun runs git in dir, failing the test on error.
func gitRun(t testing.TB, dir string, args ...string) string {
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

// makeRepo creates root/name.git, a bare repository holding one commit per
// files map, and returns the commit ids in order.
func makeRepo(t testing.TB, root, name string, commits ...map[string]string) []string {
	t.Helper()
	work := t.TempDir()
	gitRun(t, work, "init", "-q", "-b", "main")
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
		gitRun(t, work, "add", "-A")
		gitRun(t, work, "commit", "-q", "-m", "commit "+string(rune('a'+i)))
		shas = append(shas, gitRun(t, work, "rev-parse", "HEAD"))
	}
	gitRun(t, root, "clone", "-q", "--bare", work, filepath.Join(root, name+".git"))
	return shas
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

func TestCheckoutOverSmartHTTP(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	shas := makeRepo(t, root, "acme/app",
		map[string]string{"README": "first\n"},
		map[string]string{"README": "second\n", "dir/x.txt": "x\n"})
	srv := httptest.NewServer(tokenOnly(testToken, GitHTTPHandler(root)))
	defer srv.Close()
	ctx := context.Background()

	ws := filepath.Join(t.TempDir(), "ws")
	c := Checkout{CloneURL: srv.URL + "/acme/app.git", SHA: shas[0], Token: testToken, Dir: ws}
	if err := c.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "README")); string(b) != "first\n" {
		t.Errorf("README = %q, want the first commit's", b)
	}
	if head := gitRun(t, ws, "rev-parse", "HEAD"); head != shas[0] {
		t.Errorf("HEAD %s, want %s", head, shas[0])
	}
	if origin := gitRun(t, ws, "remote", "get-url", "origin"); origin != srv.URL+"/acme/app.git" {
		t.Errorf("origin %q", origin)
	}
	if n := gitRun(t, ws, "rev-list", "--count", "HEAD"); n != "1" {
		t.Errorf("history has %s commits, want a shallow clone of 1", n)
	}
	// The token must be nowhere in the workspace the steps will see.
	_ = filepath.Walk(ws, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), testToken) ||
				strings.Contains(string(b), base64.StdEncoding.EncodeToString([]byte("x-access-token:"+testToken))) {
				t.Errorf("token found in %s", p)
			}
		}
		return nil
	})

	bad := Checkout{CloneURL: srv.URL + "/acme/app.git", SHA: shas[1], Token: "wrong", Dir: filepath.Join(t.TempDir(), "ws")}
	err := bad.Run(ctx)
	if err == nil || !IsInfra(err) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong token: err %v, want an infrastructure error without the token", err)
	}
}

func TestCheckoutValidation(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	shas := makeRepo(t, root, "r", map[string]string{"a": "a"})
	tests := []struct {
		name string
		c    Checkout
		ok   bool
	}{
		{"file URL", Checkout{CloneURL: "file://" + root + "/r.git", SHA: shas[0]}, true},
		{"short sha", Checkout{CloneURL: "file://" + root + "/r.git", SHA: shas[0][:7]}, false},
		{"option as sha", Checkout{CloneURL: "file://" + root + "/r.git", SHA: "--upload-pack=touch"}, false},
		{"credentials in URL", Checkout{CloneURL: "https://x-access-token:abc@github.com/a/b.git", SHA: shas[0]}, false},
		{"ssh URL", Checkout{CloneURL: "ssh://git@github.com/a/b.git", SHA: shas[0]}, false},
		{"unknown commit", Checkout{CloneURL: "file://" + root + "/r.git", SHA: strings.Repeat("ab", 20)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.c.Dir = filepath.Join(t.TempDir(), "ws")
			err := tc.c.Run(context.Background())
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// TestCheckoutWithoutFetchBySHA: a server that refuses to serve a commit by
// its id (not every git host allows it) still yields the exact commit, from
// a fetch of its branches.
func TestCheckoutWithoutFetchBySHA(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	shas := makeRepo(t, root, "strict",
		map[string]string{"README": "first\n"},
		map[string]string{"README": "second\n"})
	strict := &cgi.Handler{Path: gitHTTPBackend(), Root: "/", Env: []string{
		"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=uploadpack.allowAnySHA1InWant", "GIT_CONFIG_VALUE_0=false",
	}}
	var discoveries atomic.Int32
	// Protocol v2 serves any commit by id; without the header git falls back to v0, which does not.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/info/refs") {
			discoveries.Add(1)
		}
		r.Header.Del("Git-Protocol")
		strict.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ws := filepath.Join(t.TempDir(), "ws")
	// The first commit is not a branch tip: only the fallback can find it.
	if err := (Checkout{CloneURL: srv.URL + "/strict.git", SHA: shas[0], Dir: ws}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "README")); string(b) != "first\n" {
		t.Errorf("README = %q", b)
	}
	// One ref discovery for the refused fetch by id, one for the branches.
	if n := discoveries.Load(); n != 2 {
		t.Errorf("%d ref discoveries, want 2: the fallback fetch did not happen", n)
	}
}
