package runner_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
)

func TestCheckoutOverSmartHTTP(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	shas := runnertest.MakeRepo(t, root, "acme/app",
		map[string]string{"README": "first\n"},
		map[string]string{"README": "second\n", "dir/x.txt": "x\n"})
	srv := runnertest.GitServer(t, root, runnertest.Token)
	ctx := context.Background()

	ws := filepath.Join(t.TempDir(), "ws")
	c := runner.Checkout{CloneURL: srv.URL + "/acme/app.git", SHA: shas[0], Token: runnertest.Token, Dir: ws}
	if err := c.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "README")); string(b) != "first\n" {
		t.Errorf("README = %q, want the first commit's", b)
	}
	if head := runnertest.Git(t, ws, "rev-parse", "HEAD"); head != shas[0] {
		t.Errorf("HEAD %s, want %s", head, shas[0])
	}
	if origin := runnertest.Git(t, ws, "remote", "get-url", "origin"); origin != srv.URL+"/acme/app.git" {
		t.Errorf("origin %q", origin)
	}
	if n := runnertest.Git(t, ws, "rev-list", "--count", "HEAD"); n != "1" {
		t.Errorf("history has %s commits, want a shallow clone of 1", n)
	}
	// The token must be nowhere in the workspace the steps will see.
	_ = filepath.Walk(ws, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), runnertest.Token) ||
				strings.Contains(string(b), base64.StdEncoding.EncodeToString([]byte("x-access-token:"+runnertest.Token))) {
				t.Errorf("token found in %s", p)
			}
		}
		return nil
	})

	bad := runner.Checkout{CloneURL: srv.URL + "/acme/app.git", SHA: shas[1], Token: "wrong", Dir: filepath.Join(t.TempDir(), "ws")}
	err := bad.Run(ctx)
	if err == nil || !runner.IsInfra(err) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong token: err %v, want an infrastructure error without the token", err)
	}
}

func TestCheckoutValidation(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	shas := runnertest.MakeRepo(t, root, "r", map[string]string{"a": "a"})
	tests := []struct {
		name string
		c    runner.Checkout
		ok   bool
	}{
		{"file URL", runner.Checkout{CloneURL: "file://" + root + "/r.git", SHA: shas[0]}, true},
		{"short sha", runner.Checkout{CloneURL: "file://" + root + "/r.git", SHA: shas[0][:7]}, false},
		{"option as sha", runner.Checkout{CloneURL: "file://" + root + "/r.git", SHA: "--upload-pack=touch"}, false},
		{"credentials in URL", runner.Checkout{CloneURL: "https://x-access-token:abc@github.com/a/b.git", SHA: shas[0]}, false},
		{"ssh URL", runner.Checkout{CloneURL: "ssh://git@github.com/a/b.git", SHA: shas[0]}, false},
		{"unknown commit", runner.Checkout{CloneURL: "file://" + root + "/r.git", SHA: strings.Repeat("ab", 20)}, false},
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
	shas := runnertest.MakeRepo(t, root, "strict",
		map[string]string{"README": "first\n"},
		map[string]string{"README": "second\n"})
	strict := &cgi.Handler{Path: runner.GitHTTPBackend(), Root: "/", Env: []string{
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
	if err := (runner.Checkout{CloneURL: srv.URL + "/strict.git", SHA: shas[0], Dir: ws}).Run(context.Background()); err != nil {
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

// TestCheckoutDataErrors: a commit that is not in the repository, a
// repository that is not on the server and a host where nothing listens
// are *DataError naming what is missing, not infrastructure errors.
func TestCheckoutDataErrors(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	shas := runnertest.MakeRepo(t, root, "acme/app", map[string]string{"README": "x\n"})
	srv := runnertest.GitServer(t, root, runnertest.Token)
	missing := strings.Repeat("ab", 20)
	for _, c := range []struct {
		name, url, sha, want string
	}{
		{"missing commit", srv.URL + "/acme/app.git", missing, "commit " + missing + " is not in"},
		{"missing commit, file URL", "file://" + root + "/acme/app.git", missing, "commit " + missing + " is not in"},
		{"no such repository", srv.URL + "/acme/nothing.git", shas[0], "no repository is there"},
		{"nothing listening", "http://127.0.0.1:1/acme/app.git", shas[0], "nothing answers at its host"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := runner.Checkout{CloneURL: c.url, SHA: c.sha, Token: runnertest.Token, Dir: filepath.Join(t.TempDir(), "ws")}.Run(context.Background())
			var de *runner.DataError
			if !errors.As(err, &de) || runner.IsInfra(err) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want a data error saying %q", err, c.want)
			}
		})
	}
}
