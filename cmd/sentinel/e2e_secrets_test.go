package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/store"
)

// A secret set through the API reaches the step that names it, and is
// masked everywhere it could come back out: a failing test prints it, yet
// neither the stored log, the check run sent to GitHub (title, summary,
// text, annotations) nor the API's view of the run carries it.
func TestEndToEndSecretNeverLeaves(t *testing.T) {
	e := startE2E(t, e2eSetup{env: map[string]string{"SENTINEL_ADMIN_TOKEN": "e2e-admin"}})
	ctx, m, fake, d := e.ctx, e.m, e.fake, e.d
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
