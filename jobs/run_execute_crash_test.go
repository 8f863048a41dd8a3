package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
)

// The crash test runs a worker in a child process (this test binary again)
// and kills it with SIGKILL in the middle of a step.
const (
	crashWorkerEnv     = "SENTINEL_TEST_CRASH_WORKER"
	crashWorkerDBEnv   = "SENTINEL_TEST_CRASH_DB"
	crashWorkerWorkDir = "SENTINEL_TEST_CRASH_WORKDIR"
	crashWorkerProcess = "SENTINEL_TEST_CRASH_PROCESS" // set: the child heartbeats under this process id
	crashLostAfter     = 3 * time.Second
)

// crashWorkerMain is the child: a River client working the runs queue until killed.
func crashWorkerMain() int {
	ctx := context.Background()
	db, err := store.Open(ctx, os.Getenv(crashWorkerDBEnv), 4, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	docker, err := runner.NewDocker()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	instance, err := runner.InstanceID(ctx, db)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rt := docker.WithInstance(instance)
	cfg := testRunnerConfig(rt, os.Getenv(crashWorkerWorkDir))
	id := os.Getenv(crashWorkerProcess)
	if id == "" {
		newTestClient(fatalTB{}, db, cfg, true)
		select {} // until SIGKILL
	}
	// A process with a heartbeat, as serve and worker run.
	client := newTestClientID(fatalTB{}, db, cfg, false, id)
	live := &Liveness{DB: db, Client: client, Runtime: rt, WorkDir: cfg.WorkDir,
		Process: store.Process{ID: id, Command: "worker"}, LostAfter: crashLostAfter}
	if err := live.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := client.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	live.Run(ctx) // until SIGKILL
	return 0
}

// fatalTB lets the child reuse the test helpers: failures end the process.
type fatalTB struct{ testing.TB }

func (fatalTB) Helper()                   {}
func (fatalTB) Fatal(args ...any)         { fmt.Fprintln(os.Stderr, args...); os.Exit(1) }
func (fatalTB) Cleanup(func())            {}
func (fatalTB) Fatalf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...); os.Exit(1) }

// TestRunExecuteWorkerCrash kills a worker mid-step, then lets the job be
// picked up again the way River's rescuer makes it available. The run must
// be completed once, by the second attempt, with the lost step marked
// errored and no container of the first attempt left behind.
func TestRunExecuteWorkerCrash(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, false) // the parent works nothing until the child is dead
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: busybox
steps:
  - name: work
    run: echo started; sleep 3; echo done
`})
	runID, jobID := h.enqueue(cloneURL, sha)

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), crashWorkerEnv+"=1", crashWorkerDBEnv+"="+h.dbURL, crashWorkerWorkDir+"="+h.cfg.WorkDir)
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	h.waitLog(runID, "started", time.Minute)
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	left, err := h.rt.Leftovers(context.Background())
	if err != nil || !slices.Contains(left, runID) {
		t.Fatalf("expected the killed worker's container to remain (leftovers %v, %v)", left, err)
	}

	// What the rescuer does to a job stuck in running past RescueStuckJobsAfter.
	if _, err := h.db.Exec(context.Background(),
		`UPDATE river_job SET state = 'available', scheduled_at = now() WHERE id = $1`, jobID); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := h.client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		h.client.Stop(stopCtx)
	})

	run := h.waitRun(runID, time.Minute)
	if run.State != store.RunSucceeded {
		t.Fatalf("run %s: %s", run.State, run.Error)
	}
	steps := h.steps(runID)
	want := []stepRow{{"work", "errored", 1, -1, false}, {"work", "succeeded", 2, 0, false}}
	if diff := cmp.Diff(want, stepRows(steps)); diff != "" {
		t.Errorf("steps (-want +got)\n%s", diff)
	}
	if steps[0].Error == "" {
		t.Errorf("lost step has no reason: %+v", steps[0])
	}
	if n := h.jobCount("triage.analyze", runID); n != 1 {
		t.Errorf("%d triage jobs, want exactly 1", n)
	}
	h.assertClean(runID)
}
