package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
	"github.com/sentinel-ci/sentinel/triage"
)

// A process is lost once it stopped or its heartbeat is stale; one rescued
// learns it at its next heartbeat.
func TestProcessHeartbeatAndLoss(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	for _, id := range []string{"alive", "silent", "stopped"} {
		if err := store.RegisterProcess(ctx, db, store.Process{ID: id, Command: "worker", Hostname: "h", PID: 1, WorkDir: "/w"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(ctx, `UPDATE processes SET heartbeat_at = now() - interval '2 minutes' WHERE id IN ('silent', 'alive')`); err != nil {
		t.Fatal(err)
	}
	if err := store.HeartbeatProcess(ctx, db, "alive"); err != nil {
		t.Fatal(err)
	}
	if err := store.StopProcess(ctx, db, "stopped"); err != nil {
		t.Fatal(err)
	}
	lost, err := store.LostProcesses(ctx, db, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range lost {
		ids = append(ids, p.ID)
	}
	if len(ids) != 2 || ids[0] != "silent" || ids[1] != "stopped" {
		t.Fatalf("lost = %v, want [silent stopped]", ids)
	}
	if ok, err := store.MarkProcessRescued(ctx, db, "silent"); err != nil || !ok {
		t.Fatalf("mark rescued: %v %v", ok, err)
	}
	if err := store.HeartbeatProcess(ctx, db, "silent"); !errors.Is(err, store.ErrProcessRescued) {
		t.Errorf("heartbeat of a rescued process: %v, want ErrProcessRescued", err)
	}
}

// Steps left running by a run that ended without its worker (superseded
// while the worker was gone) are ended; a run whose job still runs keeps
// its steps, its worker ends them.
func TestEndStepsOfFinishedRuns(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	repoID, orphan := newRunForSteps(t, db)
	live, _, err := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repoID, SHA: strings.Repeat("b", 40), Trigger: "api"})
	if err != nil {
		t.Fatal(err)
	}
	var stepIDs []int64
	for _, runID := range []int64{orphan, live} {
		if _, err := store.TransitionRun(ctx, db, runID, []store.RunState{store.RunQueued}, store.RunRunning, "", ""); err != nil {
			t.Fatal(err)
		}
		id, _, err := store.InsertStep(ctx, db, store.NewStep{RunID: runID, Position: 0, Name: "work", State: triage.StepRunning})
		if err != nil {
			t.Fatal(err)
		}
		stepIDs = append(stepIDs, id)
		if _, _, err := store.InsertStep(ctx, db, store.NewStep{RunID: runID, Position: 1, Name: "after"}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.TransitionRun(ctx, db, runID, []store.RunState{store.RunRunning}, store.RunCancelled, "", "superseded"); err != nil {
			t.Fatal(err)
		}
	}
	// The live run's job is running: a worker holds it.
	var jobID int64
	if err := db.QueryRow(ctx, `INSERT INTO river_job (args, kind, max_attempts, queue, state, attempt, attempted_at)
		VALUES ('{}', 'run.execute', 3, 'runs', 'running', 1, now()) RETURNING id`).Scan(&jobID); err != nil {
		t.Fatal(err)
	}
	if err := store.SetRunJob(ctx, db, live, jobID); err != nil {
		t.Fatal(err)
	}
	n, err := store.EndStepsOfFinishedRuns(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("ended %d steps, want the orphan's 2", n)
	}
	orphanSteps, _ := store.ListSteps(ctx, db, orphan)
	if orphanSteps[0].State != triage.StepCancelled || orphanSteps[1].State != triage.StepSkipped || orphanSteps[0].FinishedAt == nil || orphanSteps[0].Error == "" {
		t.Errorf("orphan's steps: %+v", orphanSteps)
	}
	if s, _ := store.GetStep(ctx, db, stepIDs[1]); s.State != triage.StepRunning {
		t.Errorf("live run's step = %s, want running (its worker ends it)", s.State)
	}
}
