package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/app"
	"github.com/sentinel-ci/sentinel/app/githubapp/githubtest"
	"github.com/sentinel-ci/sentinel/jobs"
)

// A pull request whose tests fail gets one comment from Sentinel, created
// by the first run and edited in place by the run of the next push, never
// a second comment.
func TestEndToEndPullRequestComment(t *testing.T) {
	e := startE2E(t, e2eSetup{})
	repo, err := e.d.prepareRepo(e.ctx, "testfail")
	if err != nil {
		t.Fatal(err)
	}
	// A pipeline that fails fast, with a JUnit report naming the test: the
	// comment's path is under test here, not the Go toolchain.
	pipeline := `image: golang:1.26
steps:
  - name: test
    run: printf '<testsuite name="pricing"><testcase classname="pricing" name="TestTotalWithDiscount"><failure message="total 90.01, want 90">total 90.01, want 90</failure></testcase></testsuite>' > report.xml; exit 1
    results: junit:report.xml
    network: none
`
	if err := os.WriteFile(filepath.Join(repo, ".sentinel.yml"), []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	pr := e.fake.AddPullRequest("demo/testfail", "Round prices differently")
	var shas []string
	for i, action := range []string{"opened", "synchronize"} {
		sha, err := e.d.commit(e.ctx, repo, fmt.Sprintf("push %d of the pull request", i+1))
		if err != nil {
			t.Fatal(err)
		}
		shas = append(shas, sha)
		e.deliverPullRequest(t, "testfail", 4242, pr, action, sha)
		run, err := e.d.waitForRun(e.ctx, sha)
		if err != nil {
			t.Fatal(err)
		}
		if run.PRNumber != pr || run.State != "failed" {
			t.Fatalf("run %d: pull request %d, %s; want pull request %d, failed", run.ID, run.PRNumber, run.State, pr)
		}
		e.waitForComment(t, pr, sha[:12])
	}
	var creates, edits int
	for _, r := range e.fake.Requests() {
		switch {
		case r.Method == "POST" && r.Path == fmt.Sprintf("/repos/demo/testfail/issues/%d/comments", pr):
			creates++
		case r.Method == "PATCH" && strings.HasPrefix(r.Path, "/repos/demo/testfail/issues/comments/"):
			edits++
		}
	}
	if creates != 1 || edits < 1 {
		t.Errorf("%d comments created and %d edited, want 1 created then edited", creates, edits)
	}
	body := e.comments(pr)[0].Body
	for _, want := range []string{"TestTotalWithDiscount", shas[1][:12], "[Run #"} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
}

// deliverPullRequest posts a signed pull_request delivery for the demo
// repository name, whose head is sha on the same repository.
func (e *e2e) deliverPullRequest(t *testing.T, name string, repoID int64, number int, action, sha string) {
	t.Helper()
	repo := map[string]any{
		"id": repoID, "name": name, "full_name": "demo/" + name, "private": false,
		"owner":     map[string]any{"login": "demo", "type": "Organization"},
		"clone_url": e.d.gitURL + "/" + name + ".git", "default_branch": "main",
	}
	body, err := json.Marshal(map[string]any{
		"action": action, "number": number,
		"pull_request": map[string]any{
			"number": number, "title": "Round prices differently", "state": "open",
			"user": map[string]any{"login": "octocat"},
			"head": map[string]any{"ref": "feature", "sha": sha, "repo": repo},
			"base": map[string]any{"ref": "main", "sha": strings.Repeat("0", 40), "repo": repo},
		},
		"repository": repo, "sender": map[string]any{"login": "octocat"}, "installation": map[string]any{"id": 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(e.ctx, "POST", e.d.webhook, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("pr-%d-%s", number, sha[:12]))
	req.Header.Set("X-Hub-Signature-256", app.Sign(e.m.Config.WebhookSecret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("pull_request delivery answered %d", resp.StatusCode)
	}
}

// comments returns Sentinel's comments on pull request pr of demo/testfail.
func (e *e2e) comments(pr int) []githubtest.Comment {
	var out []githubtest.Comment
	for _, is := range e.fake.Issues("demo/testfail") {
		for _, c := range is.Comments {
			if is.Number == pr && strings.HasPrefix(c.Body, jobs.PRCommentMarker) {
				out = append(out, c)
			}
		}
	}
	return out
}

// waitForComment waits until Sentinel's comment on pr names text.
func (e *e2e) waitForComment(t *testing.T, pr int, text string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		cs := e.comments(pr)
		if len(cs) > 1 {
			t.Fatalf("%d Sentinel comments on #%d, want one", len(cs), pr)
		}
		if len(cs) == 1 && strings.Contains(cs[0].Body, text) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no Sentinel comment on #%d naming %s within a minute: %+v", pr, text, e.comments(pr))
}
