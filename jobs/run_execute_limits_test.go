package jobs

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// limitsHarness is a harness whose runner has the server's default limits
// and ceilings.
func limitsHarness(t *testing.T, def, max runner.Limits) *harness {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, false)
	h.cfg.DefaultLimits, h.cfg.MaxLimits = def, max
	h.client = newTestClient(t, h.db, h.cfg, true)
	return h
}

// TestRunExecuteDefaultLimitsReachContainer: a pipeline that sets no limits
// runs its step in a container whose memory, CPUs and pids are the defaults,
// as docker inspect shows while the step runs.
func TestRunExecuteDefaultLimitsReachContainer(t *testing.T) {
	def := runner.Limits{Memory: 4 << 30, NanoCPUs: 2e9, Pids: 4096}
	h := limitsHarness(t, def, runner.Limits{Memory: 8 << 30, NanoCPUs: 4e9, Pids: 8192})
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: busybox
steps:
  - name: wait
    run: echo started; i=0; while [ $i -lt 600 ] && [ ! -e stop ]; do sleep 0.1; i=$((i+1)); done; [ -e stop ]
`})
	runID, _ := h.enqueue(cloneURL, sha)
	h.waitLog(runID, "started", time.Minute)
	cli := h.rt.(*runner.Docker).Client()
	ctx := context.Background()
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{
		// Other tests' databases share the daemon and number their runs alike.
		Filters: client.Filters{}.Add("label", runner.LabelRun+"="+strconv.FormatInt(runID, 10),
			runner.LabelInstance+"="+h.rt.(*runner.Docker).Instance)})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("containers of run %d: %+v (%v)", runID, list.Items, err)
	}
	info, err := cli.ContainerInspect(ctx, list.Items[0].ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hc := info.Container.HostConfig
	var pids int64
	if hc.PidsLimit != nil {
		pids = *hc.PidsLimit
	}
	if hc.Memory != def.Memory || hc.NanoCPUs != def.NanoCPUs || pids != def.Pids {
		t.Errorf("container has Memory=%d NanoCpus=%d PidsLimit=%d, want %+v", hc.Memory, hc.NanoCPUs, pids, def)
	}
	if err := os.WriteFile(filepath.Join(h.cfg.WorkDir, "run-"+strconv.FormatInt(runID, 10), "stop"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if run := h.waitRun(runID, time.Minute); run.State != store.RunSucceeded {
		t.Errorf("run %s: %s", run.State, run.Error)
	}
	h.assertClean(runID)
}

// TestRunExecuteLimitsAboveCeiling: a pipeline asking for more memory than
// the ceiling fails as a configuration error naming the line, and runs no
// step.
func TestRunExecuteLimitsAboveCeiling(t *testing.T) {
	h := limitsHarness(t, runner.Limits{Memory: 4 << 30, NanoCPUs: 2e9, Pids: 4096}, runner.Limits{Memory: 8 << 30, NanoCPUs: 4e9, Pids: 8192})
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: busybox
limits:
  memory: 16g
steps:
  - run: echo ran
`})
	runID, _ := h.enqueue(cloneURL, sha)
	run := h.waitRun(runID, time.Minute)
	if run.State != store.RunFailed || run.Category != triage.CategoryConfiguration ||
		!strings.Contains(run.Error, ".sentinel.yml line 3: limits.memory 16 GiB is above this Sentinel's ceiling of 8 GiB") {
		t.Errorf("run %s/%s: %q, want failed/configuration naming line 3", run.State, run.Category, run.Error)
	}
	if steps := h.steps(runID); len(steps) != 0 {
		t.Errorf("%d steps ran", len(steps))
	}
	h.assertClean(runID)
}
