package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/app/githubapp/githubtest"
)

// A signed push delivery → a run in Docker (or the shell without a daemon)
// → triage → one check run on the fake GitHub that went queued →
// in_progress → completed: failure, whose summary names the failing test and
// its category and whose annotation sits at the test's file and line. The
// fake validates every request body against GitHub's OpenAPI description.
func TestEndToEndPushToCheckRun(t *testing.T) {
	e := startE2E(t, e2eSetup{})
	ctx, fake, d := e.ctx, e.fake, e.d
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
