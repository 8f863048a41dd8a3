package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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

// A worker ending its run (AttemptCurrent, then the run's UPDATE) and the
// intake superseding that run (the run's UPDATE, then JobCancelTx locking
// the running job) lock the same two rows: AttemptCurrent takes the run's
// first, so the worker waits for the intake instead of holding the job's row
// the intake waits for — a deadlock, each costing an intake batch
// PostgreSQL's deadlock_timeout (issue 23).
func TestAttemptCurrentLocksRunBeforeJob(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	_, runID := newRunForSteps(t, db)
	var jobID int64
	if err := db.QueryRow(ctx, `INSERT INTO river_job (args, kind, max_attempts, queue, state, attempt, attempted_at)
		VALUES ('{}', 'run.execute', 3, 'runs', 'running', 1, now()) RETURNING id`).Scan(&jobID); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		current bool
		err     error
	}
	worker := make(chan answer, 1)
	// The intake: supersedes the run, holding its row until it commits.
	err := db.InTx(ctx, func(intake pgx.Tx) error {
		if _, err := intake.Exec(ctx, `UPDATE runs SET state = 'cancelled' WHERE id = $1`, runID); err != nil {
			return err
		}
		// The worker, meanwhile: it must wait on the run's row holding nothing.
		go func() {
			var a answer
			a.err = db.InTx(ctx, func(tx pgx.Tx) error {
				var err error
				a.current, err = store.AttemptCurrent(ctx, tx, runID, jobID, 1)
				return err
			})
			worker <- a
		}()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			var waiting bool
			if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM runs WHERE id%')`).Scan(&waiting); err != nil {
				return err
			}
			if waiting {
				break
			}
			if time.Now().After(deadline) {
				return errors.New("the worker never waited for the run's row")
			}
		}
		// The intake cancels the running job: its row is free, not held by
		// the waiting worker. lock_timeout fails a deadlock quickly.
		if _, err := intake.Exec(ctx, `SET LOCAL lock_timeout = '2s'`); err != nil {
			return err
		}
		if _, err := intake.Exec(ctx, `SELECT FROM river_job WHERE id = $1 FOR UPDATE`, jobID); err != nil {
			return fmt.Errorf("the intake could not lock the running job: %w", err)
		}
		_, err := intake.Exec(ctx, `UPDATE river_job SET state = 'cancelled', finalized_at = now() WHERE id = $1`, jobID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := <-worker; a.err != nil || a.current {
		t.Errorf("worker after the cancel: current %v, err %v; want not current", a.current, a.err)
	}
}
