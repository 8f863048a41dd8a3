package runner_test

import (
	"context"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/jobs/runner"
)

// TestShellAppliesLimits: the shell runtime sets the step's limits on its
// process before any of the step runs (children inherit them): the data
// segment for memory, the CPUs it may use for cpus, RLIMIT_NPROC for pids
// where the host binds it; and Enforcement says which hold.
func TestShellAppliesLimits(t *testing.T) {
	t.Parallel()
	sh := runner.NewShell()
	limits := runner.Limits{Memory: 64 << 20, NanoCPUs: 1e9, Pids: 100}
	var out strings.Builder
	res, err := sh.RunStep(context.Background(), runner.StepSpec{RunID: nextRunID.Add(1), StepID: 1, Name: "limits", Workspace: t.TempDir(),
		Command: "sh -c 'cat /proc/self/limits; grep Cpus_allowed_list /proc/self/status; ls -l /proc/self/fd'", Limits: limits, Stdout: &out, Stderr: &out})
	if err != nil || res.Failed() {
		t.Fatalf("res %+v err %v: %s", res, err, out.String())
	}
	got := out.String()
	if !regexp.MustCompile(`Max data size\s+67108864\s+67108864\s+bytes`).MatchString(got) {
		t.Errorf("data segment not limited to 64 MiB in a child of the step:\n%s", got)
	}
	if runtime.NumCPU() > 1 && !regexp.MustCompile(`Cpus_allowed_list:\s+\d+\n`).MatchString(got) {
		t.Errorf("the step may run on more than 1 CPU:\n%s", got)
	}
	if os.Geteuid() != 0 && !regexp.MustCompile(`Max processes\s+100\s+100\s`).MatchString(got) {
		t.Errorf("processes not limited to 100:\n%s", got)
	}
	if strings.Contains(got, " 3 -> pipe:") {
		t.Errorf("the step sees the gate (fd 3):\n%s", got)
	}

	byName := map[string]bool{}
	for _, l := range sh.Enforcement(limits) {
		byName[l.Name] = l.Enforced
		if l.How == "" {
			t.Errorf("limit %s: no word on how it is enforced or why not", l.Name)
		}
	}
	if !byName["memory"] || byName["pids"] != (os.Geteuid() != 0) || byName["cpus"] != (runtime.NumCPU() > 1) {
		t.Errorf("enforcement %v", byName)
	}
}
