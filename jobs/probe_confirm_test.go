package jobs

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// TestReapSparesRunningProbe: the re-runs of a probe run under the id of
// their finished run; the reaper leaves them alone while the probe runs,
// and reaps them once it is over.
func TestReapSparesRunningProbe(t *testing.T) {
	db := storetest.NewDB(t)
	ctx := context.Background()
	repoID, err := store.UpsertRepository(ctx, db, store.Repository{FullName: "acme/widgets", DefaultBranch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	runID, _, err := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repoID, SHA: "c1", Trigger: store.TriggerPush, Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.TransitionRun(ctx, db, runID, []store.RunState{store.RunQueued}, store.RunFailed, "", ""); err != nil {
		t.Fatal(err)
	}
	var testID int64
	if err := db.QueryRow(ctx, `INSERT INTO tests (repository_id, package, name) VALUES ($1, 'p', 'TestX') RETURNING id`, repoID).Scan(&testID); err != nil {
		t.Fatal(err)
	}
	if _, err := store.InsertProbes(ctx, db, []store.NewProbe{{RepositoryID: repoID, TestID: testID, RunID: runID, SHA: "c1", StepName: "test", Wanted: 10}}); err != nil {
		t.Fatal(err)
	}
	probes, err := store.RunProbes(ctx, db, runID)
	if err != nil || len(probes) != 1 {
		t.Fatalf("probes %+v, %v", probes, err)
	}
	if ok, err := store.StartProbe(ctx, db, probes[0].ID); !ok || err != nil {
		t.Fatalf("start probe: %v %v", ok, err)
	}

	rt := runner.NewShell()
	stepCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := runnertest.NewLineWatch("started")
	done := make(chan struct{})
	go func() {
		defer close(done)
		rt.RunStep(stepCtx, runner.StepSpec{RunID: runID, Name: "re-run", Workspace: t.TempDir(), Command: "echo started; sleep 30", Stdout: w, Stderr: w})
	}()
	<-w.Seen()
	log := slog.New(slog.DiscardHandler)
	reaped, err := Reap(ctx, db, rt, "", log)
	if err != nil || slices.Contains(reaped, runID) {
		t.Fatalf("the reaper took the re-run of a running probe: reaped %v, %v", reaped, err)
	}
	if err := store.FinishProbe(ctx, db, probes[0].ID, false, "", "done"); err != nil {
		t.Fatal(err)
	}
	if reaped, err = Reap(ctx, db, rt, "", log); err != nil || !slices.Contains(reaped, runID) {
		t.Fatalf("the probe is over, yet its run's leftovers stay: reaped %v, %v", reaped, err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the reaped re-run still runs")
	}
}
