package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// bisectSuite is a JUnit-reporting script test of two tests: TestParse
// fails once the file "broken" is in the checkout, TestFormat never does.
// Set, SENTINEL_RETRY_TESTS selects the tests to run, as a retry's does.
const bisectSuite = `#!/bin/sh
selected() { [ -z "$SENTINEL_RETRY_TESTS" ] || printf '%s\n' "$SENTINEL_RETRY_TESTS" | grep -qx "$1"; }
out='<testsuite name="bisect">'
status=0
if selected TestParse; then
  if [ -f broken ]; then
    out="$out<testcase classname=\"bisect\" name=\"TestParse\"><failure message=\"parse broke\">parse broke</failure></testcase>"
    status=1
  else
    out="$out<testcase classname=\"bisect\" name=\"TestParse\"/>"
  fi
fi
if selected TestFormat; then
  out="$out<testcase classname=\"bisect\" name=\"TestFormat\"/>"
fi
echo "$out</testsuite>" > report.xml
exit $status
`

// A push of five commits to the default branch, the third of which breaks
// TestParse (by another author, from a merged pull request), after a push
// where it passed: the run of the push fails, re-runs confirm the test
// broken at the push's head, and the bisection runs it at midpoints of the
// five commits and names the third, its author and its pull request: in
// the bisection's record, the test's state, the incident's timeline and its
// GitHub issue on the fake GitHub, and the test page.
func TestEndToEndBisectFindsFirstBadCommit(t *testing.T) {
	samples := t.TempDir()
	e := startE2E(t, e2eSetup{shell: true, samples: samples, env: map[string]string{"SENTINEL_CONFIRM_BUDGET": "1h"}})
	ctx, m, fake := e.ctx, e.m, e.fake
	var pr int
	good, shas, testID := breakInPush(t, e, samples, "bisect", 5151, 3, 0, func(shas []string) {
		pr = fake.MergedPull("demo/bisect", "parser", "Rework the parser", shas[2])
	})
	breaker, head := shas[2], shas[4]
	b := waitForBisect(t, e, testID)
	if b.State != store.ProbeDone || !b.Found || b.FirstBadSHA != breaker || b.LastGoodSHA != shas[1] ||
		b.Author != "Ada Breaker" || b.PullRequest != pr || b.GoodSHA != good || b.BadSHA != head {
		t.Fatalf("bisection %+v, want first bad commit %s (change 3) by Ada Breaker in #%d", b, breaker, pr)
	}
	if len(b.Commits) != 5 || len(b.Tested) > 3 || b.Seconds <= 0 {
		t.Errorf("bisection of %d commits tested %v (%.1fs), want 5 commits and at most log2(5) runs", len(b.Commits), b.Tested, b.Seconds)
	}
	for i, sha := range b.Tested {
		want := triage.BisectGood
		if sha == breaker || sha == shas[3] {
			want = triage.BisectBad
		}
		if b.Outcomes[i] != want {
			t.Errorf("%s tested %s, want %s", sha, b.Outcomes[i], want)
		}
	}
	wantText := fmt.Sprintf("first bad commit %s by Ada Breaker in #%d", triage.ShortSHA(breaker), pr)
	if b.Message != wantText {
		t.Errorf("message %q, want %q", b.Message, wantText)
	}
	test, err := store.GetTest(ctx, m.DB, testID)
	if err != nil {
		t.Fatal(err)
	}
	if test.State() != triage.TestBroken || test.Flaky.FirstBadSHA != breaker || test.Flaky.LastGoodSHA != shas[1] {
		t.Errorf("test %s, broken at %s after %s; want broken at %s", test.State(), test.Flaky.FirstBadSHA, test.Flaky.LastGoodSHA, breaker)
	}

	// The incident of the failure: its timeline and commits, and its issue.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var comment string
		for _, is := range fake.Issues("demo/bisect") {
			for _, c := range is.Comments {
				if strings.Contains(c.Body, "Bisected") {
					comment = c.Body
				}
			}
		}
		if comment != "" {
			for _, s := range []string{breaker, "Ada Breaker", fmt.Sprintf("#%d", pr)} {
				if !strings.Contains(comment, s) {
					t.Errorf("the issue's bisection comment lacks %q:\n%s", s, comment)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no issue of demo/bisect tells the bisection: %+v", fake.Issues("demo/bisect"))
		}
		time.Sleep(300 * time.Millisecond)
	}
	var incidentID int64
	if err := m.DB.QueryRow(ctx, `SELECT id FROM incidents WHERE first_bad_sha = $1 AND last_good_sha = $2`, breaker, shas[1]).Scan(&incidentID); err != nil {
		t.Fatalf("no incident with the bisected commits: %v", err)
	}
	events, err := store.IncidentEvents(ctx, m.DB, incidentID, 0)
	if err != nil {
		t.Fatal(err)
	}
	told := false
	for _, ev := range events {
		told = told || ev.Kind == store.IncidentEventBisected && strings.Contains(ev.Message, wantText)
	}
	if !told {
		t.Errorf("incident %d's timeline lacks the bisection: %+v", incidentID, events)
	}

	// The test page.
	resp, err := http.Get(fmt.Sprintf("http://%s/tests/%d", m.Addr, testID))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, s := range []string{"First bad commit", wantText, breaker} {
		if !strings.Contains(string(page), s) {
			t.Errorf("the test page lacks %q", s)
		}
	}
}

// The same, with a commit where the test cannot run (change 2 removes the
// suite, change 3 brings it back) and the breakage at change 4: the
// bisection skips change 2, tries a commit beside it, and still names
// change 4, which no pull request brought.
func TestEndToEndBisectSkipsUnbuildableCommit(t *testing.T) {
	samples := t.TempDir()
	e := startE2E(t, e2eSetup{shell: true, samples: samples, env: map[string]string{"SENTINEL_CONFIRM_BUDGET": "1h"}})
	_, shas, testID := breakInPush(t, e, samples, "skips", 5252, 4, 2, nil)
	b := waitForBisect(t, e, testID)
	if !b.Found || b.FirstBadSHA != shas[3] || b.LastGoodSHA != shas[2] || b.Author != "Ada Breaker" || b.PullRequest != 0 {
		t.Fatalf("bisection %+v, want first bad commit %s (change 4) by Ada Breaker", b, shas[3])
	}
	outcomes := map[string]triage.BisectOutcome{}
	for _, r := range b.Runs() {
		outcomes[r.SHA] = r.Outcome
	}
	if outcomes[shas[1]] != triage.BisectSkip || outcomes[shas[3]] != triage.BisectBad || len(b.Tested) > triage.MaxBisectRuns {
		t.Errorf("tested %v: want change 2 skipped and change 4 bad", b.Runs())
	}
	if want := fmt.Sprintf("first bad commit %s by Ada Breaker", triage.ShortSHA(shas[3])); b.Message != want {
		t.Errorf("message %q, want %q", b.Message, want)
	}
}

// breakInPush makes repository demo/<name> from a suite whose TestParse
// passes, runs its first push, then pushes five commits at once, the
// breakAt-th (from 1) by Ada Breaker breaking TestParse and the
// unbuildable-th (0: none) removing the suite for one commit, calls
// beforeRun with the five commits, and runs the push. It returns the first
// push's commit, the five, and TestParse's id.
func breakInPush(t *testing.T, e *e2e, samples, name string, repoID int64, breakAt, unbuildable int, beforeRun func([]string)) (string, []string, int64) {
	t.Helper()
	ctx, m, d := e.ctx, e.m, e.d
	pipeline := `image: busybox
flaky: { confirm_runs: 3 }
incidents: { after: 1 }
steps:
  - name: test
    run: sh suite.sh
    results: junit:report.xml
`
	if err := os.MkdirAll(filepath.Join(samples, name), 0o755); err != nil {
		t.Fatal(err)
	}
	for file, body := range map[string]string{".sentinel.yml": pipeline, "suite.sh": bisectSuite} {
		if err := os.WriteFile(filepath.Join(samples, name, file), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := d.prepareRepo(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	good, err := d.commit(ctx, repo, "a suite that passes")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.deliver(ctx, name, repoID, good, 1); err != nil {
		t.Fatal(err)
	}
	if run, err := d.waitForRun(ctx, good); err != nil || run.State != store.RunSucceeded {
		t.Fatalf("run of %s: %+v (%v), want succeeded", good, run, err)
	}
	suite := filepath.Join(repo, "suite.sh")
	var shas []string
	for i := 1; i <= 5; i++ {
		author, file := "Sam Steady", fmt.Sprintf("change-%d.txt", i)
		if i == breakAt {
			author, file = "Ada Breaker", "broken"
		}
		if err := os.WriteFile(filepath.Join(repo, file), []byte(fmt.Sprintf("commit %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		switch i {
		case unbuildable:
			err = os.Remove(suite)
		case unbuildable + 1:
			err = os.WriteFile(suite, []byte(bisectSuite), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"-C", repo, "add", "-A"},
			{"-C", repo, "-c", "user.name=" + author, "-c", "user.email=dev@example.invalid", "commit", "-q", "-m", fmt.Sprintf("change %d", i)}} {
			if _, err := git(ctx, args...); err != nil {
				t.Fatal(err)
			}
		}
		sha, err := git(ctx, "-C", repo, "rev-parse", "HEAD")
		if err != nil {
			t.Fatal(err)
		}
		shas = append(shas, strings.TrimSpace(sha))
	}
	if _, err := git(ctx, "-C", repo, "push", "-q", "origin", "main"); err != nil {
		t.Fatal(err)
	}
	if beforeRun != nil {
		beforeRun(shas)
	}
	head := shas[4]
	if err := d.deliver(ctx, name, repoID, head, 2); err != nil {
		t.Fatal(err)
	}
	run, err := d.waitForRun(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	if run.State != store.RunFailed {
		t.Fatalf("run of the push: %s (%s), want failed", run.State, run.Error)
	}
	probes, err := store.RunProbes(ctx, m.DB, run.ID)
	if err != nil || len(probes) != 1 || probes[0].Name != "TestParse" {
		t.Fatalf("probes of the run: %+v (%v), want TestParse's", probes, err)
	}
	return good, shas, probes[0].TestID
}

// waitForBisect waits for the test's latest bisection to finish.
func waitForBisect(t *testing.T, e *e2e, testID int64) store.TestBisect {
	t.Helper()
	for {
		bs, err := store.TestBisects(e.ctx, e.m.DB, testID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) == 1 && bs[0].Finished() {
			return bs[0]
		}
		select {
		case <-e.ctx.Done():
			t.Fatalf("no finished bisection of test %d: %+v", testID, bs)
		case <-time.After(300 * time.Millisecond):
		}
	}
}
