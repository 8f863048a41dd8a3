package jobs

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// TestRunExecuteRetryOwnCommand: a step that is a script around go test
// (cd into a module, build tags, GOFLAGS of its own) is retried with its
// own command, the failing test selected through GOFLAGS; the flaky test
// passes on the retry and the others are not run again.
func TestRunExecuteRetryOwnCommand(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, true)
	cloneURL, sha := h.repo(map[string]string{
		"sub/go.mod": goMod,
		"ci/test.sh": "set -e\ncd sub\necho \"GOFLAGS is [$GOFLAGS]\" >&2\ngo test -json -tags slow ./...\n",
		".sentinel.yml": `image: golang:1.26
steps:
  - name: test
    run: sh ci/test.sh
    env: {GOFLAGS: -mod=mod}
    results: go-test-json
    retry_failed: 1
`,
		"sub/flaky/flaky_test.go": `//go:build slow

package flaky

import (
	"os"
	"testing"
)

func TestStable(t *testing.T) {}

func TestFlaky(t *testing.T) {
	if _, err := os.Stat("attempted"); err != nil {
		os.WriteFile("attempted", nil, 0o644)
		t.Fatal("first attempt fails")
	}
}
`,
	})
	runID, _ := h.enqueue(cloneURL, sha)
	run := h.waitRun(runID, 5*time.Minute)
	steps := h.steps(runID)
	if run.State != store.RunSucceeded {
		for _, s := range steps {
			t.Logf("step %s attempt %d %s:\n%s", s.Name, s.Attempt, s.State, h.stepLog(s.ID))
		}
		t.Fatalf("run %s (%s), want succeeded: the flaky test passes on its retry", run.State, run.Error)
	}
	if diff := cmp.Diff([]stepRow{{"test", "failed", 1, 1, false}, {"test", "succeeded", 2, 0, false}}, stepRows(steps)); diff != "" {
		t.Errorf("steps (-want +got)\n%s", diff)
	}
	if steps[1].Command != "sh ci/test.sh" {
		t.Errorf("retry command %q, want the step's own", steps[1].Command)
	}
	if log := h.stepLog(steps[1].ID); !strings.Contains(log, "GOFLAGS is [-mod=mod -run=^(TestFlaky)$ -count=1]") {
		t.Errorf("retry log lacks the step's GOFLAGS with the selection:\n%s", log)
	}
	want := []resultRow{
		{"example.com/demo/flaky", "TestFlaky", 1, "fail"},
		{"example.com/demo/flaky", "TestFlaky", 2, "pass"},
		{"example.com/demo/flaky", "TestStable", 1, "pass"},
	}
	if diff := cmp.Diff(want, results(t, h, runID)); diff != "" {
		t.Errorf("results (-want +got)\n%s", diff)
	}
}

// TestRunExecuteRetryScripts: a JUnit-reporting script is retried with
// SENTINEL_RETRY_TESTS naming only what failed (through retry_run here),
// and a step without results is run again whole.
func TestRunExecuteRetryScripts(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, true)
	// report.sh writes one JUnit file: "slow" fails the first time only;
	// on a retry it runs just the tests it is given.
	report := `set -e
tests="${1:-fast slow}"
out='<testsuite name="s">'
rc=0
for t in $tests; do
  if [ "$t" = slow ] && [ ! -f .slow-ran ]; then
    touch .slow-ran; out="$out<testcase classname=\"suite\" name=\"slow\"><failure message=\"first time\"/></testcase>"; rc=1
  else
    out="$out<testcase classname=\"suite\" name=\"$t\"/>"
  fi
done
echo "$out</testsuite>" > junit.xml
exit $rc
`
	cloneURL, sha := h.repo(map[string]string{
		"report.sh": report,
		".sentinel.yml": `image: busybox
steps:
  - name: junit
    run: sh report.sh
    results: junit:junit.xml
    retry_failed: 2
    retry_run: echo "retrying [$SENTINEL_RETRY_TESTS] [$SENTINEL_RETRY_PATTERN]"; sh report.sh "$SENTINEL_RETRY_TESTS"
  - name: whole
    run: if [ -f .whole-ran ]; then echo second; else touch .whole-ran; echo first; exit 4; fi
    retry_failed: 1
`,
	})
	runID, _ := h.enqueue(cloneURL, sha)
	run := h.waitRun(runID, 3*time.Minute)
	steps := h.steps(runID)
	if run.State != store.RunSucceeded {
		for _, s := range steps {
			t.Logf("step %s attempt %d %s:\n%s", s.Name, s.Attempt, s.State, h.stepLog(s.ID))
		}
		t.Fatalf("run %s (%s)", run.State, run.Error)
	}
	wantSteps := []stepRow{{"junit", "failed", 1, 1, false}, {"junit", "succeeded", 2, 0, false},
		{"whole", "failed", 1, 4, false}, {"whole", "succeeded", 2, 0, false}}
	if diff := cmp.Diff(wantSteps, stepRows(steps)); diff != "" {
		t.Errorf("steps (-want +got)\n%s", diff)
	}
	if log := h.stepLog(steps[1].ID); !strings.Contains(log, "retrying [slow] [^(slow)$]") {
		t.Errorf("retry log:\n%s", log)
	}
	if log := h.stepLog(steps[3].ID); !strings.Contains(log, "re-running the whole step") || !strings.Contains(log, "second") {
		t.Errorf("whole-step retry log:\n%s", log)
	}
	want := []resultRow{{"suite", "fast", 1, "pass"}, {"suite", "slow", 1, "fail"}, {"suite", "slow", 2, "pass"}}
	if diff := cmp.Diff(want, results(t, h, runID)); diff != "" {
		t.Errorf("results (-want +got)\n%s", diff)
	}
}

func TestRetryPlan(t *testing.T) {
	fail := &triage.Results{Tests: []triage.TestCase{
		{Package: "p", Name: "TestB/sub", Outcome: triage.OutcomeFail},
		{Package: "p", Name: "TestB", Outcome: triage.OutcomeFail},
		{Package: "q", Name: "TestA.x", Outcome: triage.OutcomeError},
		{Package: "q", Name: "TestC", Outcome: triage.OutcomePass},
	}}
	goStep := runner.Step{Run: "make test", Results: runner.ResultsGoTestJSON}
	plan, ok := retryPlan(goStep, map[string]string{"GOFLAGS": "-race"}, fail)
	if !ok || plan.command != "make test" || plan.env["GOFLAGS"] != `-race -run=^(TestA\.x|TestB)$ -count=1` ||
		plan.env[envRetryTests] != "TestA.x\nTestB" {
		t.Errorf("go plan: %+v %v", plan, ok)
	}
	build := &triage.Results{Tests: fail.Tests, Problems: []triage.Problem{{Kind: triage.ProblemBuildFailed}}}
	if _, ok := retryPlan(goStep, nil, build); ok {
		t.Error("a build failure was retried")
	}
	if _, ok := retryPlan(goStep, nil, &triage.Results{}); ok {
		t.Error("a failure outside any test was retried")
	}
	junit := runner.Step{Run: "./t.sh", Results: "junit:*.xml", RetryRun: "./t.sh --only"}
	if plan, ok := retryPlan(junit, nil, fail); !ok || plan.command != "./t.sh --only" || plan.env["GOFLAGS"] != "" {
		t.Errorf("junit plan: %+v %v", plan, ok)
	}
	if plan, ok := retryPlan(runner.Step{Run: "x"}, nil, nil); !ok || plan.command != "x" || plan.env != nil {
		t.Errorf("whole-step plan: %+v %v", plan, ok)
	}
}
