package jobs

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// Rerun creates the next attempt of a run's commit and queues it; it
// returns the new run's id. failedOnly makes it a "Re-run failed" attempt
// (see RerunTx).
func (a *Actions) Rerun(ctx context.Context, runID int64, actor string, failedOnly bool) (int64, error) {
	var newID int64
	err := a.DB.InTx(ctx, func(tx pgx.Tx) error {
		prev, err := store.GetRun(ctx, tx, runID)
		if err != nil {
			return err
		}
		newID, err = a.RerunTx(ctx, tx, prev, actor, failedOnly)
		return err
	})
	return newID, err
}

// RerunTx is Rerun in the caller's transaction, for the intake (GitHub's
// re-run requests and the Re-run button). It is the one door to a new
// attempt, and so the fork gate of re-runs: a run that awaits approval is
// approved, not re-run, and every new attempt of a fork's run awaits
// approval again, whatever became of the earlier one (approved, cancelled,
// superseded), since it executes the fork's code as it is now.
//
// failedOnly re-runs only what did not pass in prev (the executor's
// failedOnlyPlan): steps with failing tests run those tests, steps that
// failed otherwise (or never ran) run whole, steps that passed are skipped.
// It needs a finished run that did not succeed.
func (a *Actions) RerunTx(ctx context.Context, tx pgx.Tx, prev store.Run, actor string, failedOnly bool) (int64, error) {
	if prev.State == store.RunAwaitingApproval {
		return 0, fmt.Errorf("run %d awaits approval; approve it instead: %w", prev.ID, store.ErrInvalidTransition)
	}
	if failedOnly && (!store.IsFinalRunState(prev.State) || prev.State == store.RunSucceeded) {
		return 0, fmt.Errorf("run %d is %s: only a finished run that did not succeed has failures to re-run: %w",
			prev.ID, prev.State, store.ErrInvalidTransition)
	}
	attempt, err := store.NextAttempt(ctx, tx, prev.RepositoryID, prev.SHA, prev.Trigger, prev.PRNumber)
	if err != nil {
		return 0, err
	}
	state := store.RunQueued
	if prev.Fork {
		state = store.RunAwaitingApproval
	}
	id, created, err := store.InsertRun(ctx, tx, store.NewRun{
		RepositoryID: prev.RepositoryID, SHA: prev.SHA, Ref: prev.Ref, Branch: prev.Branch, PRNumber: prev.PRNumber,
		HeadRepo: prev.HeadRepo, CloneURL: prev.CloneURL, CommitMessage: prev.CommitMessage, Author: prev.Author,
		Trigger: prev.Trigger, Attempt: attempt, ExternalID: prev.ExternalID, State: state, Fork: prev.Fork,
	})
	if err != nil || !created {
		return id, err
	}
	if failedOnly {
		if err := store.SetRunFailedOnly(ctx, tx, id, prev.ID); err != nil {
			return 0, err
		}
	}
	if err := store.Audit(ctx, tx, actor, "run.rerun", "run", id, map[string]any{"previous": prev.ID, "attempt": attempt, "state": state,
		"failed_only": failedOnly}); err != nil {
		return 0, err
	}
	return id, EnqueueRun(ctx, a.River, tx, id, state == store.RunQueued)
}

// Cancel marks an unfinished run cancelled, cancels its River job (which
// stops the steps through the job's context) and completes its check run.
func (a *Actions) Cancel(ctx context.Context, runID int64, actor string) error {
	return a.DB.InTx(ctx, func(tx pgx.Tx) error {
		run, err := store.GetRun(ctx, tx, runID)
		if err != nil {
			return err
		}
		ok, err := store.TransitionRun(ctx, tx, runID, []store.RunState{store.RunAwaitingApproval, store.RunQueued, store.RunRunning},
			store.RunCancelled, "", "cancelled by "+actor)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("run %d is %s: %w", runID, run.State, store.ErrInvalidTransition)
		}
		if _, err := store.AbandonSteps(ctx, tx, runID, triage.StepCancelled, "cancelled by "+actor); err != nil {
			return err
		}
		if run.JobID != 0 {
			if err := CancelJob(ctx, a.River, tx, run.JobID); err != nil {
				return fmt.Errorf("run %d: %w", runID, err)
			}
		} else if err := store.CancelWaitingExecute(ctx, tx, runID); err != nil {
			// The intake does not record a run's job: the worker does, once
			// the run starts.
			return err
		}
		if err := EnqueueReport(ctx, a.River, tx, runID, PhaseCompleted); err != nil {
			return err
		}
		if err := EnqueuePRComment(ctx, a.River, tx, run.RepositoryID, run.PRNumber); err != nil {
			return err
		}
		return store.Audit(ctx, tx, actor, "run.cancel", "run", runID, map[string]any{"from": run.State})
	})
}

// Approve lets a pull request from a fork run: the run is queued and
// executes.
func (a *Actions) Approve(ctx context.Context, runID int64, actor string) error {
	return a.DB.InTx(ctx, func(tx pgx.Tx) error {
		ok, err := store.TransitionRun(ctx, tx, runID, []store.RunState{store.RunAwaitingApproval}, store.RunQueued, "", "")
		if err != nil {
			return err
		}
		if !ok {
			run, err := store.GetRun(ctx, tx, runID)
			if err != nil {
				return err
			}
			return fmt.Errorf("run %d is %s, not awaiting approval: %w", runID, run.State, store.ErrInvalidTransition)
		}
		if err := EnqueueRun(ctx, a.River, tx, runID, true); err != nil {
			return err
		}
		return store.Audit(ctx, tx, actor, "run.approve", "run", runID, nil)
	})
}
