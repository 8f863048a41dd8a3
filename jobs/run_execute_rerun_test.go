package jobs

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// TestRunExecuteRerunFailedOnly: "Re-run failed" of a run whose Go test
// failed makes a new attempt that runs only that test (selected through
// GOFLAGS, the step's own command), skips the step that passed ("passed in
// attempt 1"), runs whole the step the failure kept from running, and the
// test, failing in attempt 1 and passing in attempt 2 of the same commit,
// is flaky after analysis. The test keeps its state in a cache: directory,
// which outlives the run.
func TestRunExecuteRerunFailedOnly(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, true)
	cloneURL, sha := h.repo(map[string]string{
		"go.mod": goMod,
		".sentinel.yml": `image: golang:1.26
cache: [.state]
steps:
  - name: build
    run: echo built
  - name: test
    run: echo "GOFLAGS is [$GOFLAGS]" >&2; go test -json ./...
    env: {GOFLAGS: -mod=mod}
    results: go-test-json
  - name: after
    run: echo after ran
`,
		"flaky/flaky_test.go": `package flaky

import (
	"os"
	"testing"
)

func TestStable(t *testing.T) {}

func TestFlaky(t *testing.T) {
	if _, err := os.Stat("../.state/attempted"); err != nil {
		os.MkdirAll("../.state", 0o755)
		os.WriteFile("../.state/attempted", nil, 0o644)
		t.Fatal("first attempt fails")
	}
}
`,
	})
	ctx := context.Background()
	logSteps := func(runID int64) {
		for _, s := range h.steps(runID) {
			t.Logf("run %d step %s attempt %d %s %q:\n%s", runID, s.Name, s.Attempt, s.State, s.Error, h.stepLog(s.ID))
		}
	}
	firstID, _ := h.enqueue(cloneURL, sha)
	if run := h.waitRun(firstID, 5*time.Minute); run.State != store.RunFailed {
		logSteps(firstID)
		t.Fatalf("first run %s (%s), want failed", run.State, run.Error)
	}
	analyze := func(runID int64) {
		rc, err := NewClient(h.db, nil, ClientConfig{}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (&TriageAnalyzeWorker{DB: h.db, Log: slog.New(slog.DiscardHandler)}).Analyze(ctx, rc, runID); err != nil {
			t.Fatal(err)
		}
	}
	analyze(firstID)

	a := &Actions{DB: h.db, River: h.client}
	secondID, err := a.Rerun(ctx, firstID, "api:token", true)
	if err != nil {
		t.Fatal(err)
	}
	run := h.waitRun(secondID, 5*time.Minute)
	steps := h.steps(secondID)
	if run.State != store.RunSucceeded || run.Attempt != 2 {
		logSteps(firstID)
		logSteps(secondID)
		t.Fatalf("re-run %s attempt %d (%s), want succeeded attempt 2", run.State, run.Attempt, run.Error)
	}
	if diff := cmp.Diff([]stepRow{{"build", "skipped", 1, -1, false}, {"test", "succeeded", 1, 0, false}, {"after", "succeeded", 1, 0, false}},
		stepRows(steps)); diff != "" {
		t.Errorf("re-run steps (-want +got)\n%s", diff)
	}
	if steps[0].Error != "passed in attempt 1" {
		t.Errorf("skipped step says %q, want %q", steps[0].Error, "passed in attempt 1")
	}
	if log := h.stepLog(steps[1].ID); !strings.Contains(log, "GOFLAGS is [-mod=mod -run=^(TestFlaky)$ -count=1]") ||
		!strings.Contains(log, "re-running only what failed in attempt 1") {
		t.Errorf("re-run test step log lacks the selection:\n%s", log)
	}
	if log := h.stepLog(steps[2].ID); !strings.Contains(log, "after ran") {
		t.Errorf("the step the failure kept from running did not run whole:\n%s", log)
	}
	if diff := cmp.Diff([]resultRow{{"example.com/demo/flaky", "TestFlaky", 1, "pass"}}, results(t, h, secondID)); diff != "" {
		t.Errorf("re-run results (-want +got): only the failing test runs\n%s", diff)
	}

	analyze(secondID)
	test, err := store.FindTest(ctx, h.db, h.repoID, "example.com/demo/flaky", "TestFlaky")
	if err != nil {
		t.Fatal(err)
	}
	if test.State() != triage.TestFlaky {
		t.Errorf("TestFlaky is %s after failing in attempt 1 and passing in attempt 2, want flaky", test.State())
	}
	stable, err := store.FindTest(ctx, h.db, h.repoID, "example.com/demo/flaky", "TestStable")
	if err != nil {
		t.Fatal(err)
	}
	if stable.State() == triage.TestFlaky {
		t.Errorf("TestStable is flaky")
	}

	// A run that succeeded has nothing to re-run failed-only.
	if _, err := a.Rerun(ctx, secondID, "api:token", true); !errors.Is(err, store.ErrInvalidTransition) {
		t.Errorf("failed-only re-run of a run that succeeded: %v, want ErrInvalidTransition", err)
	}
}
