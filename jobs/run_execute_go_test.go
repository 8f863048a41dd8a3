package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
)

const goMod = "module example.com/demo\n\ngo 1.26\n"

// TestRunExecuteGoDetected runs a Go module without a pipeline file: the
// image comes from go.mod, tests run with -json and their results are stored.
func TestRunExecuteGoDetected(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, true)
	cloneURL, sha := h.repo(map[string]string{
		"go.mod":       goMod,
		"tools/go.mod": "module example.com/demo/tools\n\ngo 1.26\n", // a nested module without packages: nothing to test
		"calc/calc.go": "package calc\n\nfunc Add(a, b int) int { return a + b }\n",
		"calc/calc_test.go": `package calc

import "testing"

func TestAdd(t *testing.T) {
	if Add(2, 2) != 4 {
		t.Fatal("arithmetic is broken")
	}
}
`,
	})
	runID, _ := h.enqueue(cloneURL, sha)
	run := h.waitRun(runID, 5*time.Minute)
	if run.State != store.RunSucceeded {
		for _, s := range h.steps(runID) {
			t.Logf("step %s %s:\n%s", s.Name, s.State, h.stepLog(s.ID))
		}
		t.Fatalf("run %s: %s", run.State, run.Error)
	}
	steps := h.steps(runID)
	if diff := cmp.Diff([]stepRow{{"build", "succeeded", 1, 0, false}, {"test", "succeeded", 1, 0, false}}, stepRows(steps)); diff != "" {
		t.Errorf("steps (-want +got)\n%s", diff)
	}
	if steps[0].Image != runner.LocalImageGo() {
		t.Errorf("image %q, want golang:1.26 rewritten to %q", steps[0].Image, runner.LocalImageGo())
	}
	got := results(t, h, runID)
	if diff := cmp.Diff([]resultRow{{"example.com/demo/calc", "TestAdd", 1, "pass"}}, got); diff != "" {
		t.Errorf("results (-want +got)\n%s", diff)
	}
	modules, err := store.RunGoModules(context.Background(), h.db, runID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"example.com/demo": "", "example.com/demo/tools": "tools"}, modules); diff != "" {
		t.Errorf("go modules recorded (-want +got)\n%s", diff)
	}
}

// TestRunExecuteRetryFailed re-runs only failing tests: a flaky test passes
// on its second attempt (pass-after-fail on the same commit, for triage), a
// broken one fails every attempt and fails the run.
func TestRunExecuteRetryFailed(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, true)
	cloneURL, sha := h.repo(map[string]string{
		"go.mod": goMod,
		".sentinel.yml": `image: golang:1.26
steps:
  - name: test
    run: go test -json ./...
    results: go-test-json
    retry_failed: 2
`,
		// The workspace outlives each attempt's container: the first attempt leaves a mark.
		"flaky/flaky_test.go": `package flaky

import (
	"os"
	"testing"
)

func TestStable(t *testing.T) {}

func TestFlaky(t *testing.T) {
	if _, err := os.Stat("attempted"); err != nil {
		os.WriteFile("attempted", nil, 0o644)
		t.Fatal("timing out waiting for the cache (first attempt)")
	}
}
`,
		"broken/broken_test.go": `package broken

import "testing"

func TestBroken(t *testing.T) { t.Fatal("always fails") }
`,
	})
	runID, _ := h.enqueue(cloneURL, sha)
	run := h.waitRun(runID, 5*time.Minute)
	if run.State != store.RunFailed {
		t.Errorf("run %s (%s), want failed: TestBroken never passes", run.State, run.Error)
	}
	wantSteps := []stepRow{{"test", "failed", 1, 1, false}, {"test", "failed", 2, 1, false}, {"test", "failed", 3, 1, false}}
	if diff := cmp.Diff(wantSteps, stepRows(h.steps(runID))); diff != "" {
		t.Errorf("steps (-want +got)\n%s", diff)
	}
	want := []resultRow{
		{"example.com/demo/broken", "TestBroken", 1, "fail"},
		{"example.com/demo/broken", "TestBroken", 2, "fail"},
		{"example.com/demo/broken", "TestBroken", 3, "fail"},
		{"example.com/demo/flaky", "TestFlaky", 1, "fail"},
		{"example.com/demo/flaky", "TestFlaky", 2, "pass"},
		{"example.com/demo/flaky", "TestStable", 1, "pass"},
	}
	if diff := cmp.Diff(want, results(t, h, runID)); diff != "" {
		t.Errorf("results (-want +got)\n%s", diff)
	}
}

type resultRow struct {
	Package, Name string
	Attempt       int
	Outcome       string
}

func results(t *testing.T, h *harness, runID int64) []resultRow {
	t.Helper()
	rs, err := store.ListTestResults(context.Background(), h.db, runID)
	if err != nil {
		t.Fatal(err)
	}
	var out []resultRow
	for _, r := range rs {
		out = append(out, resultRow{r.Package, r.Name, r.Attempt, r.Outcome})
	}
	return out
}
