package jobs

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// readSample reads a sample folder into the files of a commit.
func readSample(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestRunExecuteSamples runs the demo repositories under samples/ through
// the runner in Docker and checks the run-level outcome each one is built to
// produce (triage's classification is tested where triage runs).
func TestRunExecuteSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs eight pipelines")
	}
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, true)
	h.cfg.ImageRewrite["busybox:stable"] = runner.LocalImageBusybox
	tests := []struct {
		sample             string
		state              store.RunState
		category           triage.Category
		failedStep, logHas string
	}{
		{"success", store.RunSucceeded, "", "", ""},
		{"testfail", store.RunFailed, "", "test", "rounds_half_up"},
		{"timeout", store.RunTimedOut, triage.CategoryTimeout, "test", ""},
		{"dns", store.RunFailed, "", "download", "deps.sentinel-demo.invalid"},
		{"compile", store.RunFailed, "", "build", "report.go:17:9"},
		{"disk", store.RunFailed, "", "cache", "No space left on device"},
		{"oom", store.RunFailed, triage.CategoryOOM, "load-index", ""},
	}
	for _, tc := range tests {
		t.Run(tc.sample, func(t *testing.T) {
			dir := filepath.Join("..", "samples", tc.sample)
			if _, err := os.Stat(dir); err != nil {
				t.Skipf("sample %s: %v", tc.sample, err)
			}
			cloneURL, sha := h.repo(readSample(t, dir))
			runID, _ := h.enqueue(cloneURL, sha)
			run := h.waitRun(runID, 5*time.Minute)
			if run.State != tc.state || run.Category != tc.category {
				t.Errorf("run %s/%s (%s), want %s/%s", run.State, run.Category, run.Error, tc.state, tc.category)
			}
			for _, s := range h.steps(runID) {
				if s.State == triage.StepSucceeded || s.State == triage.StepSkipped || s.Name != tc.failedStep {
					continue
				}
				if log := h.stepLog(s.ID); !strings.Contains(log, tc.logHas) {
					t.Errorf("step %s log does not contain %q:\n%s", s.Name, tc.logHas, log)
				}
			}
			if tc.failedStep != "" && !strings.Contains(run.Error, `"`+tc.failedStep+`"`) && tc.state != store.RunTimedOut {
				t.Errorf("run error %q does not name step %q", run.Error, tc.failedStep)
			}
			h.assertClean(runID)
		})
	}
}
