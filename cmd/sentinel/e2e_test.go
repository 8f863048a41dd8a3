package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/app/githubapp"
	"github.com/sentinel-ci/sentinel/app/githubapp/githubtest"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// A signed push delivery → a run in Docker (or the shell without a daemon)
// → triage → one check run on the fake GitHub that went queued →
// in_progress → completed: failure, whose summary names the failing test and
// its category and whose annotation sits at the test's file and line. The
// fake validates every request body against GitHub's OpenAPI description.
func TestEndToEndPushToCheckRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a sample through the whole pipeline")
	}
	fake := githubtest.New(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	gh, err := githubapp.NewClient(githubapp.Config{AppID: 1, PrivateKey: keyPEM, APIURL: fake.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := load(map[string]string{"DATABASE_URL": storetest.URL(t), "SENTINEL_ADDR": "127.0.0.1:0",
		"SENTINEL_DATA_DIR": t.TempDir(), "SENTINEL_SHUTDOWN_GRACE": "5s"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.WebhookSecret = "e2e-secret"
	m := NewMain(cfg, newLogger(testWriter{t}, "warn"))
	m.GitHub = gh
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// The demo's Go build cache, shared by the test processes that use it
	// (Go's cache is safe for concurrent use), as it is by the demo's runs.
	if err := prepareDemoRuntime(ctx, m, newProgress(io.Discard), filepath.Join(os.TempDir(), "sentinel-test-demo-cache")); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx, "serve") }()
	defer func() { stop(); <-done }()
	<-m.Listening

	gitRoot := t.TempDir()
	gitURL, stopGit, err := serveGit(gitRoot)
	if err != nil {
		t.Fatal(err)
	}
	defer stopGit()
	d := &demo{m: m, p: newProgress(io.Discard), gitRoot: gitRoot, gitURL: gitURL, samples: "../../samples",
		workDir: filepath.Join(t.TempDir(), "src"), webhook: "http://" + m.Addr + "/webhooks/github"}
	repo, err := d.prepareRepo(ctx, "testfail")
	if err != nil {
		t.Fatal(err)
	}
	sha, err := d.commit(ctx, repo, "break the rounding")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.deliver(ctx, "testfail", 4242, sha, 1); err != nil {
		t.Fatal(err)
	}
	run, err := d.waitForRun(ctx, sha)
	if err != nil {
		t.Fatal(err)
	}
	if run.State != "failed" || run.Conclusion != "failure" {
		t.Errorf("run %d: state %s conclusion %s, want failed/failure", run.ID, run.State, run.Conclusion)
	}

	var checks []githubtest.CheckRun
	for _, c := range fake.CheckRuns() {
		if c.HeadSHA == sha {
			checks = append(checks, c)
		}
	}
	if len(checks) != 1 {
		t.Fatalf("%d check runs for the commit, want exactly 1", len(checks))
	}
	c := checks[0]
	if len(c.History) == 0 || c.History[0] != "queued" || !slices.Contains(c.History, "in_progress") || c.Status != "completed" || c.Conclusion != "failure" {
		t.Errorf("check run went %v and ended %s/%s, want queued → in_progress → completed/failure", c.History, c.Status, c.Conclusion)
	}
	if !strings.Contains(c.Summary, "TestTotalWithDiscount") || !strings.Contains(strings.ToLower(c.Summary), "test") {
		t.Errorf("summary does not name the failing test and its category:\n%s", c.Summary)
	}
	annotated := false
	for _, a := range c.Annotations {
		if a.GetPath() == "pricing/pricing_test.go" && a.GetStartLine() == 26 && a.GetAnnotationLevel() == "failure" {
			annotated = true
		}
	}
	if !annotated {
		t.Errorf("no failure annotation at pricing/pricing_test.go:26 in %+v", c.Annotations)
	}
	if v := fake.Violations(); len(v) != 0 {
		t.Errorf("requests that violate GitHub's OpenAPI description: %+v", v)
	}
}
