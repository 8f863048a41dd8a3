package jobs

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// TestRunExecuteInfraError: an image that cannot be pulled errors the run
// (not failed), is retried by River while attempts remain, and ends errored
// with category infrastructure.
func TestRunExecuteInfraError(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, true)
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: sentinel-test/no-such-image:1
steps:
  - name: a
    run: "true"
`})
	runID, _ := h.enqueueOpts(cloneURL, sha, &river.InsertOpts{MaxAttempts: 2})
	run := h.waitRun(runID, 2*time.Minute)
	if run.State != store.RunErrored || run.Category != triage.CategoryInfrastructure || !strings.Contains(run.Error, "pull image sentinel-test/no-such-image:1") {
		t.Errorf("run %s/%s %q, want errored/infrastructure naming the pull", run.State, run.Category, run.Error)
	}
	// One step row per River attempt: the first attempt was retried.
	if diff := cmp.Diff([]stepRow{{"a", "errored", 1, -1, false}, {"a", "errored", 2, -1, false}}, stepRows(h.steps(runID))); diff != "" {
		t.Errorf("steps (-want +got)\n%s", diff)
	}
	if n := h.jobCount("triage.analyze", runID); n != 1 {
		t.Errorf("%d triage jobs, want 1", n)
	}
	h.assertClean(runID)
}

// TestRunExecuteShell runs a pipeline through the shell runtime end to end.
func TestRunExecuteShell(t *testing.T) {
	h := newHarness(t, runner.NewShell(), true)
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: ignored
steps:
  - name: ok
    run: cat data.txt; echo "run $SENTINEL_RUN_ID"
  - name: bad
    run: exit 4
`, "data.txt": "on the host\n"})
	runID, _ := h.enqueue(cloneURL, sha)
	run := h.waitRun(runID, time.Minute)
	if run.State != store.RunFailed {
		t.Errorf("run %s (%s), want failed", run.State, run.Error)
	}
	steps := h.steps(runID)
	if diff := cmp.Diff([]stepRow{{"ok", "succeeded", 1, 0, false}, {"bad", "failed", 1, 4, false}}, stepRows(steps)); diff != "" {
		t.Errorf("steps (-want +got)\n%s", diff)
	}
	if log := h.stepLog(steps[0].ID); !strings.Contains(log, "on the host\n") {
		t.Errorf("log %q", log)
	}
	h.assertClean(runID)
}

// TestReap removes containers of runs that are over and keeps those of a
// run that is still running.
func TestReap(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, false)
	rt = h.rt.(*runner.Docker)
	ctx := context.Background()
	cloneURL, sha := h.repo(map[string]string{"README": "x"})
	over, _ := h.enqueue(cloneURL, sha)
	if _, err := store.TransitionRun(ctx, h.db, over, []store.RunState{store.RunQueued}, store.RunFailed, "", ""); err != nil {
		t.Fatal(err)
	}
	live := over + 1000 // no such run: its containers are orphans too
	// A second run of the same commit, by attempt, stays running.
	live2, _, err := store.InsertRun(ctx, h.db, store.NewRun{RepositoryID: h.repoID, SHA: sha, Trigger: "push", Attempt: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.TransitionRun(ctx, h.db, live2, []store.RunState{store.RunQueued}, store.RunRunning, "", ""); err != nil {
		t.Fatal(err)
	}
	stepCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, id := range []int64{over, live, live2} {
		w := runnertest.NewLineWatch("started")
		go rt.RunStep(stepCtx, runner.StepSpec{RunID: id, Name: "sleep", Workspace: t.TempDir(), Image: runner.LocalImageBusybox,
			Command: "echo started; sleep 60", Stdout: w})
		<-w.Seen()
	}
	reaped, err := Reap(ctx, h.db, rt, h.cfg.WorkDir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{over, live}, reaped, cmpopts.SortSlices(func(a, b int64) bool { return a < b })); diff != "" {
		t.Errorf("reaped (-want +got)\n%s", diff)
	}
	left, _ := rt.Leftovers(ctx)
	if !slices.Contains(left, live2) || slices.Contains(left, over) || slices.Contains(left, live) {
		t.Errorf("leftovers %v: want only the running run %d", left, live2)
	}
	cancel()
	fresh, done := context.WithTimeout(context.Background(), time.Minute)
	defer done()
	rt.Cleanup(fresh, live2)
}

// TestFinishAbandonedRuns: a run whose job River discarded while the run was
// running (its last attempt's worker was lost) ends errored, with triage.
func TestFinishAbandonedRuns(t *testing.T) {
	h := newHarness(t, runner.NewShell(), false)
	ctx := context.Background()
	cloneURL, sha := h.repo(map[string]string{"README": "x"})
	runID, jobID := h.enqueue(cloneURL, sha)
	if _, err := store.TransitionRun(ctx, h.db, runID, []store.RunState{store.RunQueued}, store.RunRunning, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := store.SetRunJob(ctx, h.db, runID, jobID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.InsertStep(ctx, h.db, store.NewStep{RunID: runID, Name: "lost", State: triage.StepRunning}); err != nil {
		t.Fatal(err)
	}
	// Still running job: not abandoned.
	if done, err := FinishAbandonedRuns(ctx, h.db, h.client, slog.New(slog.DiscardHandler)); err != nil || len(done) != 0 {
		t.Fatalf("finished %v (%v) while its job is alive", done, err)
	}
	if _, err := h.db.Exec(ctx, `UPDATE river_job SET state = 'discarded', finalized_at = now() WHERE id = $1`, jobID); err != nil {
		t.Fatal(err)
	}
	done, err := FinishAbandonedRuns(ctx, h.db, h.client, slog.New(slog.DiscardHandler))
	if err != nil || len(done) != 1 || done[0] != runID {
		t.Fatalf("finished %v, %v", done, err)
	}
	run, err := store.GetRun(ctx, h.db, runID)
	if err != nil || run.State != store.RunErrored || run.Category != triage.CategoryInfrastructure {
		t.Errorf("run %+v %v", run, err)
	}
	if diff := cmp.Diff([]stepRow{{"lost", "errored", 1, -1, false}}, stepRows(h.steps(runID))); diff != "" {
		t.Errorf("steps (-want +got)\n%s", diff)
	}
	if n := h.jobCount("triage.analyze", runID); n != 1 {
		t.Errorf("%d triage jobs", n)
	}
}

// TestRunExecuteCloneURLFromRepository: a run without its own clone URL
// (dashboard, API) is cloned from its repository's.
func TestRunExecuteCloneURLFromRepository(t *testing.T) {
	h := newHarness(t, runner.NewShell(), true)
	ctx := context.Background()
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": "image: x\nsteps: [{name: a, run: cat marker}]\n", "marker": "from the repository URL\n"})
	var runID int64
	err := h.db.InTx(ctx, func(tx pgx.Tx) error {
		repoID, err := store.UpsertRepository(ctx, tx, store.Repository{FullName: "acme/by-repo", InstallationID: testInstallation, CloneURL: cloneURL})
		if err != nil {
			return err
		}
		runID, _, err = store.InsertRun(ctx, tx, store.NewRun{RepositoryID: repoID, SHA: sha, Trigger: "api"})
		if err != nil {
			return err
		}
		_, err = h.client.InsertTx(ctx, tx, RunExecuteArgs{RunID: runID}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if run := h.waitRun(runID, time.Minute); run.State != store.RunSucceeded {
		t.Fatalf("run %s: %s", run.State, run.Error)
	}
	if log := h.stepLog(h.steps(runID)[0].ID); log != "from the repository URL\n" {
		t.Errorf("log %q", log)
	}
}

// TestRunExecuteDataErrors: a commit that is not in the repository and a
// clone URL where nothing answers fail the run as configuration at the
// first attempt, saying what is missing; River does not retry them, and
// the infrastructure rate does not count them.
func TestRunExecuteDataErrors(t *testing.T) {
	h := newHarness(t, runner.NewShell(), true)
	ctx := context.Background()
	cloneURL, _ := h.repo(map[string]string{"README": "x"})
	missing := strings.Repeat("cd", 20)
	for _, c := range []struct{ url, sha, want string }{
		{cloneURL, missing, "commit " + missing + " is not in " + cloneURL},
		{"http://127.0.0.1:1/acme/gone.git", missing, "clone URL http://127.0.0.1:1/acme/gone.git is unreachable"},
	} {
		runID, jobID := h.enqueueOpts(c.url, c.sha, &river.InsertOpts{MaxAttempts: 3})
		run := h.waitRun(runID, time.Minute)
		if run.State != store.RunFailed || run.Category != triage.CategoryConfiguration || !strings.Contains(run.Error, c.want) {
			t.Errorf("run %s/%s %q, want failed/configuration saying %q", run.State, run.Category, run.Error, c.want)
		}
		var attempt int
		var state string
		// The job is finalized just after the run's end is committed.
		for deadline := time.Now().Add(30 * time.Second); state != "completed" && state != "retryable" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if err := h.db.QueryRow(ctx, `SELECT attempt, state FROM river_job WHERE id = $1`, jobID).Scan(&attempt, &state); err != nil {
				t.Fatal(err)
			}
		}
		if attempt != 1 || state != "completed" {
			t.Errorf("job attempt %d %s, want completed at the first attempt", attempt, state)
		}
		total, infra, err := store.InfraFailures(ctx, h.db, h.repoID, time.Now().Add(-time.Hour))
		if err != nil || total != 1 || infra != 0 {
			t.Errorf("infrastructure rate of the repository: %d of %d (%v), want 0 of 1", infra, total, err)
		}
	}
}
