package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/app/githubapp"
	"github.com/sentinel-ci/sentinel/app/githubapp/githubtest"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// A secret set through the API reaches the step that names it, and is
// masked everywhere it could come back out: a failing test prints it, yet
// neither the stored log, the check run sent to GitHub (title, summary,
// text, annotations) nor the API's view of the run carries it.
func TestEndToEndSecretNeverLeaves(t *testing.T) {
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
		"SENTINEL_DATA_DIR": t.TempDir(), "SENTINEL_SHUTDOWN_GRACE": "5s", "SENTINEL_ADMIN_TOKEN": "e2e-admin"})
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
	pipeline := `image: golang:1.26
env: { CGO_ENABLED: "0", GOPROXY: "off", GOTOOLCHAIN: "local" }
steps:
  - name: test
    run: echo "the step has $API_TOKEN"; go test -json ./...
    results: go-test-json
    network: none
    secrets: [API_TOKEN]
`
	leak := "package pricing\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\nfunc TestLeaksTheToken(t *testing.T) {\n\tt.Fatalf(\"token is %s\", os.Getenv(\"API_TOKEN\"))\n}\n"
	for name, body := range map[string]string{".sentinel.yml": pipeline, "pricing/leak_test.go": leak} {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sha, err := d.commit(ctx, repo, "a test that prints the token")
	if err != nil {
		t.Fatal(err)
	}
	// The repository as the delivery will name it, so that its secret can be set first.
	if _, err := store.UpsertRepository(ctx, m.DB, store.Repository{GitHubID: 4242, FullName: "demo/testfail"}); err != nil {
		t.Fatal(err)
	}
	const value = "tok-E2E-5f3a9c17"
	req, _ := http.NewRequest("PUT", "http://"+m.Addr+"/api/repos/demo/testfail/secrets/API_TOKEN", strings.NewReader(`{"value": "`+value+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer e2e-admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT secret: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := d.deliver(ctx, "testfail", 4242, sha, 2); err != nil {
		t.Fatal(err)
	}
	run, err := d.waitForRun(ctx, sha)
	if err != nil {
		t.Fatal(err)
	}
	if run.State != "failed" {
		t.Errorf("run %d: %s (%s), want failed", run.ID, run.State, run.Error)
	}
	steps, err := store.ListSteps(ctx, m.DB, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	log, err := store.StepLog(ctx, m.DB, steps[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "the step has ***") || strings.Contains(string(log), value) {
		t.Errorf("stored log:\n%s", log)
	}
	var sent strings.Builder
	masked := false
	for _, c := range fake.CheckRuns() {
		if c.HeadSHA != sha {
			continue
		}
		fmt.Fprintln(&sent, c.Title, c.Summary, c.Text)
		for _, a := range c.Annotations {
			b, _ := json.Marshal(a)
			sent.Write(b)
		}
	}
	if strings.Contains(sent.String(), value) {
		t.Errorf("the secret reached GitHub:\n%s", sent.String())
	}
	if strings.Contains(sent.String(), "token is ***") {
		masked = true
	}
	if !masked {
		t.Errorf("the check run does not show the masked failure (so the test proves nothing):\n%s", sent.String())
	}
	for _, path := range []string{fmt.Sprintf("/api/runs/%d", run.ID), "/api/repos/demo/testfail/secrets"} {
		resp, err := http.Get("http://" + m.Addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), value) {
			t.Errorf("GET %s carries the secret:\n%s", path, body)
		}
	}
}
