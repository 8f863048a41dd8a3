package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// The containment drills: real Docker, the busybox test image, a real
// database. `make drill` runs them (go test -run Drill) and so does `make
// test`; each is bounded well under a minute. They log what they measured.

// analyzeRun runs triage over a finished run, as the triage.analyze job does.
func (h *harness) analyzeRun(runID int64) []store.Failure {
	h.t.Helper()
	ctx := context.Background()
	w := &TriageAnalyzeWorker{DB: h.db}
	if _, err := w.Analyze(ctx, h.client, runID); err != nil {
		h.t.Fatal(err)
	}
	fs, err := store.RunFailures(ctx, h.db, runID)
	if err != nil {
		h.t.Fatal(err)
	}
	return fs
}

// TestDrillForkBombContained: a fork bomb under limits.pids is stopped by
// the pids limit within seconds, and the run fails (not errored: no retry,
// nothing counted toward the infrastructure rate) with its failure
// classified as resource exhaustion by the infra.resource-limit rule:
// what ran out is a limit of the machine the code runs on (its process
// table share), which is what that rule's category means, while the run
// itself is not blamed on the machinery.
func TestDrillForkBombContained(t *testing.T) {
	h := newHarness(t, runnertest.Docker(t), true)
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: busybox
limits: { pids: 64, memory: 128m }
steps:
  - name: bomb
    run: "bomb() { bomb & bomb; }; bomb"
    timeout: 50s
`})
	began := time.Now()
	runID, jobID := h.enqueue(cloneURL, sha)
	run := h.waitRun(runID, 55*time.Second)
	took := time.Since(began)
	steps := h.steps(runID)
	if run.State != store.RunFailed || run.Category == triage.CategoryInfrastructure || run.Category == triage.CategoryTimeout {
		t.Errorf("run %s/%s %q, want failed by the step, neither timed out nor infrastructure", run.State, run.Category, run.Error)
	}
	if len(steps) != 1 || steps[0].State != triage.StepFailed {
		t.Fatalf("steps %+v, want the bomb failed", steps)
	}
	log := h.stepLog(steps[0].ID)
	if !strings.Contains(log, "can't fork") {
		t.Errorf("the bomb's log does not show forks refused by the pids limit:\n%s", triage.Clip(log, 500))
	}
	fs := h.analyzeRun(runID)
	if len(fs) == 0 || fs[0].Category != triage.CategoryInfrastructure || !strings.Contains(fs[0].Title, "resource limit") {
		t.Errorf("failures %+v, want resource exhaustion (infra.resource-limit)", fs)
	}
	var attempt int
	if err := h.db.QueryRow(context.Background(), `SELECT attempt FROM river_job WHERE id = $1`, jobID).Scan(&attempt); err != nil || attempt != 1 {
		t.Errorf("the run was tried %d times (%v)", attempt, err)
	}
	h.assertClean(runID)
	refused := firstLine(log, "can't fork")
	if i := strings.LastIndex(refused, "/bin/sh:"); i > 0 {
		refused = refused[i:] // each nested shell prefixes its name
	}
	t.Logf("fork bomb under pids 64: step %s exit %v after %s, %q; classified %s (%s)", steps[0].State, deref(steps[0].ExitCode),
		took.Round(time.Millisecond), refused, fs[0].Category, fs[0].Title)
}

// TestDrillMemoryHogContained: a step allocating past limits.memory is
// OOM-killed by its cgroup and the run fails as oom.
func TestDrillMemoryHogContained(t *testing.T) {
	h := newHarness(t, runnertest.Docker(t), true)
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: busybox
limits: { memory: 64m }
steps:
  - name: hog
    run: echo allocating; exec busybox dd if=/dev/zero of=/dev/null bs=512M count=1
    timeout: 50s
`})
	began := time.Now()
	runID, _ := h.enqueue(cloneURL, sha)
	run := h.waitRun(runID, 55*time.Second)
	took := time.Since(began)
	if run.State != store.RunFailed || run.Category != triage.CategoryOOM || !strings.Contains(run.Error, "out of memory") {
		t.Errorf("run %s/%s %q, want failed/oom", run.State, run.Category, run.Error)
	}
	steps := h.steps(runID)
	if len(steps) != 1 || !steps[0].OOMKilled || deref(steps[0].ExitCode) != 137 {
		t.Fatalf("steps %+v (exit %v), want the hog OOM-killed", steps, deref(steps[0].ExitCode))
	}
	fs := h.analyzeRun(runID)
	if len(fs) == 0 || fs[0].Category != triage.CategoryOOM {
		t.Errorf("failures %+v, want oom", fs)
	}
	h.assertClean(runID)
	t.Logf("memory hog under 64 MiB: exit %v, OOM-killed=%v, run %s/%s %q after %s", deref(steps[0].ExitCode), steps[0].OOMKilled, run.State, run.Category, run.Error, took.Round(time.Millisecond))
}

// TestDrillNULTestNameStored: a go test -json stream naming a test with a
// NUL byte (and printing one) is stored, the NUL shown as U+2400, and the
// run is not errored.
func TestDrillNULTestNameStored(t *testing.T) {
	h := newHarness(t, runnertest.Docker(t), true)
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: busybox
steps:
  - name: test
    run: |
      printf '{"Action":"run","Package":"example.com/m","Test":"TestNul\\u0000Byte"}\n'
      printf '{"Action":"output","Package":"example.com/m","Test":"TestNul\\u0000Byte","Output":"got \\u0000 here\\n"}\n'
      printf '{"Action":"fail","Package":"example.com/m","Test":"TestNul\\u0000Byte","Elapsed":0.01}\n'
      printf '{"Action":"fail","Package":"example.com/m","Elapsed":0.02}\n'
      exit 1
    results: go-test-json
`})
	runID, _ := h.enqueue(cloneURL, sha)
	run := h.waitRun(runID, 55*time.Second)
	if run.State != store.RunFailed || run.Category == triage.CategoryInfrastructure {
		t.Errorf("run %s/%s %q, want failed by its test", run.State, run.Category, run.Error)
	}
	var name, outcome string
	if err := h.db.QueryRow(context.Background(), `SELECT t.name, r.outcome FROM test_results r JOIN tests t ON t.id = r.test_id WHERE r.run_id = $1`, runID).Scan(&name, &outcome); err != nil {
		t.Fatal(err)
	}
	if name != "TestNul\u2400Byte" || outcome != "fail" {
		t.Errorf("stored %q %s, want TestNul\u2400Byte failed", name, outcome)
	}
	t.Logf("NUL test name stored as %q (%s)", name, outcome)
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// firstLine is the first line of s containing sub, for the drill's report.
func firstLine(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
