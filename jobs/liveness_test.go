package jobs

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// A worker process with a heartbeat is killed with SIGKILL mid-step. A live
// process notices the silence after LostAfter, marks the lost step errored
// ("worker lost"), removes its container, and retries the run once; the run
// succeeds once, with one triage job. Before liveness, the job stayed
// running until River's rescue, SENTINEL_MAX_RUN_DURATION + 30 min later.
func TestLivenessRescuesKilledWorker(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, false)
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: busybox
steps:
  - name: work
    run: echo started; sleep 3; echo done
`})
	runID, _ := h.enqueue(cloneURL, sha)

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), crashWorkerEnv+"=1", crashWorkerDBEnv+"="+h.dbURL,
		crashWorkerWorkDir+"="+h.cfg.WorkDir, crashWorkerProcess+"=child-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	h.waitLog(runID, "started", time.Minute)
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	killed := time.Now()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	live := &Liveness{DB: h.db, Client: h.client, Runtime: h.rt, WorkDir: h.cfg.WorkDir,
		// Another host: the child is not its own earlier start, rescued at once.
		Process: store.Process{ID: "survivor", Command: "serve", Hostname: "other-host"}, LostAfter: crashLostAfter}
	if err := live.Start(ctx); err != nil {
		t.Fatal(err)
	}
	go live.Run(ctx)
	if err := h.client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		h.client.Stop(stopCtx)
	})

	run := h.waitRun(runID, time.Minute)
	t.Logf("run %d %s %v after the kill (LostAfter %v)", runID, run.State, time.Since(killed).Round(time.Millisecond), crashLostAfter)
	if run.State != store.RunSucceeded {
		t.Fatalf("run %s: %s", run.State, run.Error)
	}
	steps := h.steps(runID)
	want := []stepRow{{"work", "errored", 1, -1, false}, {"work", "succeeded", 2, 0, false}}
	if diff := cmp.Diff(want, stepRows(steps)); diff != "" {
		t.Errorf("steps (-want +got)\n%s", diff)
	}
	if !strings.HasPrefix(steps[0].Error, "worker lost") {
		t.Errorf("lost step's reason = %q, want worker lost…", steps[0].Error)
	}
	if n := h.jobCount("triage.analyze", runID); n != 1 {
		t.Errorf("%d triage jobs, want exactly 1", n)
	}
	h.assertClean(runID)
}

// heldRun makes a run look held by a lost process: running, one step
// running, its run.execute job running under processID with attempt, and
// the process's heartbeat an hour old.
func (h *harness) heldRun(processID string, attempt int) (runID, jobID int64) {
	h.t.Helper()
	ctx := context.Background()
	cloneURL, sha := h.repo(map[string]string{"README": processID})
	runID, jobID = h.enqueue(cloneURL, sha)
	if _, err := store.TransitionRun(ctx, h.db, runID, []store.RunState{store.RunQueued}, store.RunRunning, "", ""); err != nil {
		h.t.Fatal(err)
	}
	if err := store.SetRunJob(ctx, h.db, runID, jobID); err != nil {
		h.t.Fatal(err)
	}
	if _, _, err := store.InsertStep(ctx, h.db, store.NewStep{RunID: runID, Name: "work", State: triage.StepRunning}); err != nil {
		h.t.Fatal(err)
	}
	h.holdJob(jobID, processID, attempt)
	if err := os.MkdirAll(filepath.Join(h.cfg.WorkDir, "run-"+strconv.FormatInt(runID, 10)), 0o755); err != nil {
		h.t.Fatal(err)
	}
	return runID, jobID
}

// supersede replaces the run with a newer run of its branch, as a push does.
func (h *harness) supersede(runID int64) {
	h.t.Helper()
	ctx := context.Background()
	newer, _, err := store.InsertRun(ctx, h.db, store.NewRun{RepositoryID: h.repoID, SHA: strings.Repeat("c", 40), Branch: "main", Trigger: "push"})
	if err != nil {
		h.t.Fatal(err)
	}
	s, err := store.SupersedeRunsBatch(ctx, h.db, []store.Supersession{{RepositoryID: h.repoID, Branch: "main", NewRunID: newer}}, nil)
	if err != nil || len(s) != 1 || s[0].RunID != runID {
		h.t.Fatalf("supersede: %+v %v", s, err)
	}
}

// holdJob makes the job a running attempt of a process silent for an hour.
func (h *harness) holdJob(jobID int64, processID string, attempt int) {
	h.t.Helper()
	ctx := context.Background()
	if err := store.RegisterProcess(ctx, h.db, store.Process{ID: processID, Command: "worker", Hostname: "elsewhere", PID: 1, WorkDir: "/x"}); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.db.Exec(ctx, `UPDATE processes SET heartbeat_at = now() - interval '1 hour' WHERE id = $1`, processID); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.db.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = $2, attempted_at = now(),
		attempted_by = array_append(attempted_by, $3) WHERE id = $1`, jobID, attempt, processID); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) jobState(jobID int64) (state string, lost int) {
	h.t.Helper()
	if err := h.db.QueryRow(context.Background(), `SELECT state, (SELECT count(*) FROM unnest(errors) e WHERE e->>'error' LIKE 'worker lost%')
		FROM river_job WHERE id = $1`, jobID).Scan(&state, &lost); err != nil {
		h.t.Fatal(err)
	}
	return state, lost
}

// newLiveness is a live process whose own heartbeats have been reaching the
// database for long enough to judge others.
func (h *harness) newLiveness(id string) *Liveness {
	h.t.Helper()
	l := &Liveness{DB: h.db, Client: h.client, Runtime: h.rt, WorkDir: h.cfg.WorkDir,
		Process: store.Process{ID: id, Command: "serve"}, LostAfter: time.Minute}
	if err := l.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	l.setHealthySince(time.Now().Add(-time.Hour))
	h.t.Cleanup(func() { l.Stop(context.Background()) })
	return l
}

// Two live processes sweep at once: the lost attempt is rescued exactly
// once (one "worker lost" error on the job, run retried); lost a second
// time, the run ends errored with the reason and its triage job, and is not
// retried again.
func TestLivenessRescueOnceThenFinish(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, false)
	ctx := context.Background()
	runID, jobID := h.heldRun("lost-1", 1)
	a, b := h.newLiveness("live-a"), h.newLiveness("live-b")
	var wg sync.WaitGroup
	for _, l := range []*Liveness{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Sweep(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if state, lost := h.jobState(jobID); state != "available" || lost != 1 {
		t.Errorf("job after rescue: %s with %d worker-lost errors, want available with 1", state, lost)
	}
	run, _ := store.GetRun(ctx, h.db, runID)
	if run.State != store.RunQueued || !strings.Contains(run.Error, "worker lost") {
		t.Errorf("run after rescue: %s %q, want queued, worker lost", run.State, run.Error)
	}
	steps := h.steps(runID)
	if steps[0].State != triage.StepErrored || !strings.HasPrefix(steps[0].Error, "worker lost") || !strings.Contains(steps[0].Error, "lost-1") {
		t.Errorf("lost step: %s %q, want errored, worker lost naming the process", steps[0].State, steps[0].Error)
	}
	h.assertClean(runID)
	if lost, _ := store.LostProcesses(ctx, h.db, time.Minute); len(lost) != 0 {
		t.Errorf("processes still to rescue: %+v", lost)
	}

	// The retry's worker is lost too.
	if _, err := store.TransitionRun(ctx, h.db, runID, []store.RunState{store.RunQueued}, store.RunRunning, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.InsertStep(ctx, h.db, store.NewStep{RunID: runID, Name: "work", State: triage.StepRunning}); err != nil {
		t.Fatal(err)
	}
	h.holdJob(jobID, "lost-2", 2)
	if err := a.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if state, lost := h.jobState(jobID); state != "discarded" || lost != 2 {
		t.Errorf("job after second loss: %s with %d worker-lost errors, want discarded with 2", state, lost)
	}
	run, _ = store.GetRun(ctx, h.db, runID)
	if run.State != store.RunErrored || run.Category != triage.CategoryInfrastructure || !strings.Contains(run.Error, "not retried again") {
		t.Errorf("run after second loss: %s %s %q", run.State, run.Category, run.Error)
	}
	if n := h.jobCount("triage.analyze", runID); n != 1 {
		t.Errorf("%d triage jobs, want 1 (it completes the check run)", n)
	}
	for _, s := range h.steps(runID) {
		if s.State == triage.StepRunning {
			t.Errorf("step %d still running", s.ID)
		}
	}
}

// A run superseded while its worker was lost: the rescue ends its step
// (cancelled), so its live tail ends, and does not run it again.
func TestLivenessEndsStepsOfSupersededOrphan(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, false)
	ctx := context.Background()
	runID, jobID := h.heldRun("lost-1", 1)
	h.supersede(runID)
	if err := h.newLiveness("live").Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if state, _ := h.jobState(jobID); state != "cancelled" {
		t.Errorf("job = %s, want cancelled", state)
	}
	if s := h.steps(runID)[0]; s.State != triage.StepCancelled || s.FinishedAt == nil {
		t.Errorf("step of the superseded orphan: %s, want cancelled and finished", s.State)
	}
	if n := h.jobCount("triage.analyze", runID); n != 0 {
		t.Errorf("%d triage jobs for a superseded run", n)
	}
}

// A superseded orphan's job that River's own rescuer made available again
// finds its run over: it must end the step left running, not just return.
func TestRunExecuteEndsStepsOfSupersededOrphan(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, false)
	ctx := context.Background()
	runID, jobID := h.heldRun("lost-1", 1)
	h.supersede(runID)
	// What River's rescuer does after RescueStuckJobsAfter.
	if _, err := h.db.Exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now() WHERE id = $1`, jobID); err != nil {
		t.Fatal(err)
	}
	if err := h.client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		h.client.Stop(stopCtx)
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if state, _ := h.jobState(jobID); state == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("job not completed within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s := h.steps(runID)[0]; s.State != triage.StepCancelled || s.FinishedAt == nil {
		t.Errorf("step of the superseded orphan: %s, want cancelled and finished", s.State)
	}
	h.assertClean(runID)
}

// A restarted process rescues its own earlier start at once, without
// waiting for the heartbeat to go stale; a live process sharing its host
// and work directory is left alone.
func TestLivenessRescuesOwnEarlierStartAtStart(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, false)
	ctx := context.Background()
	host, _ := os.Hostname()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	_, earlierJob := h.heldRun("earlier", 1)
	_, neighbourJob := h.heldRun("neighbour", 1)
	// Both heartbeat now, on this host in this work directory.
	for id, pid := range map[string]int{"earlier": gone.Process.Pid, "neighbour": os.Getppid()} {
		if _, err := h.db.Exec(ctx, `UPDATE processes SET heartbeat_at = now(), hostname = $2, work_dir = $3, pid = $4 WHERE id = $1`,
			id, host, h.cfg.WorkDir, pid); err != nil {
			t.Fatal(err)
		}
	}
	l := &Liveness{DB: h.db, Client: h.client, Runtime: h.rt, WorkDir: h.cfg.WorkDir,
		Process: store.Process{ID: "restarted", Command: "worker"}, LostAfter: time.Minute}
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if state, _ := h.jobState(earlierJob); state != "available" {
		t.Errorf("earlier start's job = %s, want available (rescued at start-up)", state)
	}
	if state, _ := h.jobState(neighbourJob); state != "running" {
		t.Errorf("live neighbour's job = %s, want running", state)
	}
}

// After a database outage every heartbeat is old: a process judges others
// only once its own heartbeats have reached the database for LostAfter.
func TestLivenessJudgesOthersOnlyWhenItselfHealthy(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, false)
	ctx := context.Background()
	_, jobID := h.heldRun("silent", 1)
	l := h.newLiveness("back-from-outage")
	l.setHealthySince(time.Now()) // its heartbeats just started reaching the database again
	if err := l.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if state, _ := h.jobState(jobID); state != "running" {
		t.Errorf("job = %s, want running: nobody is judged right after an outage", state)
	}
	l.setHealthySince(time.Now().Add(-l.lostAfter()))
	if err := l.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if state, _ := h.jobState(jobID); state != "available" {
		t.Errorf("job = %s, want available once this process was healthy for LostAfter", state)
	}
}

// A process judged lost may still be alive (its heartbeats failed, not its
// work): once its attempt was rescued and the run handed to the next
// attempt, its late end must leave the run alone.
func TestRescuedAttemptDoesNotEndTheRun(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, true)
	ctx := context.Background()
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: busybox
steps:
  - name: work
    run: echo started; sleep 2; echo done
`})
	runID, jobID := h.enqueue(cloneURL, sha)
	h.waitLog(runID, "started", time.Minute)
	// What a rescue does to the attempt (the retry is scheduled far ahead
	// here, so that only the stale attempt is left running).
	if _, err := h.db.Exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now() + interval '1 hour' WHERE id = $1`, jobID); err != nil {
		t.Fatal(err)
	}
	if _, err := store.TransitionRun(ctx, h.db, runID, []store.RunState{store.RunRunning}, store.RunQueued, triage.CategoryInfrastructure, "worker lost: test; retrying once"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second) // the stale attempt's step ends meanwhile
	run, _ := store.GetRun(ctx, h.db, runID)
	if run.State != store.RunQueued {
		t.Errorf("run = %s after the rescued attempt ended, want queued for its retry", run.State)
	}
	if n := h.jobCount("triage.analyze", runID); n != 0 {
		t.Errorf("%d triage jobs from a rescued attempt", n)
	}
}

// slowRuntime makes every sweep slow, as a busy Docker daemon does.
type slowRuntime struct {
	runner.Runtime
	delay time.Duration
}

func (s slowRuntime) Leftovers(ctx context.Context) ([]int64, error) {
	time.Sleep(s.delay)
	return s.Runtime.Leftovers(ctx)
}

// A slow sweep must not hold back the heartbeat: a live process whose
// Docker daemon is slow would otherwise be judged lost by the others (seen
// in the kill drill under load).
func TestLivenessHeartbeatsDuringSlowSweep(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := &Liveness{DB: h.db, Client: h.client, Runtime: slowRuntime{h.rt, 4 * time.Second}, WorkDir: h.cfg.WorkDir,
		Process: store.Process{ID: "busy", Command: "worker", Hostname: "other-host"}, LostAfter: 3 * time.Second}
	// Start's own reap is slow too; the heartbeat must already beat.
	started := time.Now()
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Stop(context.Background()) })
	go l.Run(ctx)
	for time.Since(started) < 10*time.Second {
		time.Sleep(250 * time.Millisecond)
		var silent time.Duration
		if err := h.db.QueryRow(ctx, `SELECT now() - heartbeat_at FROM processes WHERE id = 'busy'`).Scan(&silent); err != nil {
			t.Fatal(err)
		}
		if silent > 2*time.Second {
			t.Fatalf("heartbeat %v old during a slow sweep (beats every %v)", silent, l.lostAfter()/6)
		}
	}
}
