package jobs

import (
	"strings"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// TestRunExecuteDiskLimit: a step that writes past the pipeline's disk
// limit is stopped while it runs (not when it ends) and the run fails as
// disk; a pipeline asking for more than the ceiling is a configuration
// error naming the line.
func TestRunExecuteDiskLimit(t *testing.T) {
	h := newHarness(t, runner.NewShell(), false)
	h.cfg.DiskWatchInterval = 100 * time.Millisecond
	h.cfg.MaxLimits = runner.Limits{Disk: 64 << 20}
	h.client = newTestClient(t, h.db, h.cfg, true)

	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: ignored
limits:
  disk: 2m
steps:
  - name: fill
    run: dd if=/dev/urandom of=big bs=1M count=4 2>/dev/null; echo written; sleep 30
`})
	began := time.Now()
	runID, _ := h.enqueue(cloneURL, sha)
	run := h.waitRun(runID, time.Minute)
	if took := time.Since(began); took > 20*time.Second {
		t.Errorf("the step was stopped after %s, not while it ran", took)
	}
	if run.State != store.RunFailed || run.Category != triage.CategoryDisk || !strings.Contains(run.Error, "disk full: the workspace exceeded its limit of 2 MiB") {
		t.Errorf("run %s/%s %q, want failed/disk", run.State, run.Category, run.Error)
	}
	if steps := h.steps(runID); len(steps) != 1 || steps[0].State != triage.StepFailed || !strings.Contains(steps[0].Error, "disk full") {
		t.Errorf("steps %+v, want the one step failed with disk full", steps)
	}
	// The run records what its steps were given and what held.
	var disk store.StepLimit
	for _, l := range run.Limits {
		if l.Name == "disk" {
			disk = l
		}
	}
	if len(run.Limits) != 4 || disk.Value != "2 MiB" || !disk.Enforced {
		t.Errorf("run limits %+v, want memory, cpus, pids and an enforced 2 MiB disk", run.Limits)
	}
	h.assertClean(runID)

	cloneURL, sha = h.repo(map[string]string{".sentinel.yml": "image: ignored\nlimits:\n  disk: 1g\nsteps: [{name: a, run: \"true\"}]\n"})
	runID, _ = h.enqueue(cloneURL, sha)
	run = h.waitRun(runID, time.Minute)
	if run.State != store.RunFailed || run.Category != triage.CategoryConfiguration ||
		!strings.Contains(run.Error, ".sentinel.yml line 3: limits.disk 1 GiB is above this Sentinel's ceiling of 64 MiB (SENTINEL_STEP_MAX_DISK)") {
		t.Errorf("run %s/%s %q, want a configuration error naming line 3", run.State, run.Category, run.Error)
	}
}
