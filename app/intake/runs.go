package intake

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

// createRuns creates the runs of pushes and pull requests applied in one
// transaction, supersedes the earlier unfinished runs of the same branches
// and pull requests, and enqueues the jobs, all set-based: the round trips
// are the same for one delivery as for a hundred. Within the batch, the
// later delivery of a branch or pull request is the newer run. It returns
// the River jobs running superseded runs, for finishBatch to cancel (the
// waiting ones are deleted with the supersession).
func createRuns(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, late *store.Deferred, items []*intakeTx) (running []int64, err error) {
	if len(items) == 0 {
		return nil, nil
	}
	news := make([]store.NewRun, len(items))
	for i, a := range items {
		r := a.ev.Run
		state := store.RunQueued
		if r.Fork {
			// Code from a fork runs only after a collaborator approves it
			// (dashboard button or POST /api/runs/{id}/approve).
			state = store.RunAwaitingApproval
		}
		news[i] = store.NewRun{
			RepositoryID: a.repoID, SHA: r.SHA, Ref: r.Ref, Branch: r.Branch, PRNumber: r.PRNumber,
			HeadRepo: r.HeadRepo, CloneURL: r.CloneURL, CommitMessage: r.CommitMessage, Author: r.Author,
			Trigger: store.Trigger(r.Trigger), State: state, Fork: r.Fork, DeliveryID: a.delivery,
		}
	}
	ids, created, err := store.InsertRuns(ctx, tx, news)
	if err != nil {
		return nil, err
	}

	// The newest created run of each branch or pull request supersedes the
	// older ones, those of earlier batches and those created with it.
	type lane struct {
		repo   int64
		branch string
		pr     int
	}
	newest := map[lane]int{}
	var order []lane
	var createdIDs []int64
	createdNow := map[int64]bool{}
	actorOf := map[int64]string{}
	for i, a := range items {
		a.runIDs = append(a.runIDs, ids[i])
		if !created[i] {
			a.reason = fmt.Sprintf("run %d already exists for this commit", ids[i])
			continue
		}
		n := news[i]
		l := lane{n.RepositoryID, n.Branch, n.PRNumber}
		if n.PRNumber != 0 {
			l.branch = ""
		}
		if _, ok := newest[l]; !ok {
			order = append(order, l)
		}
		newest[l] = i
		createdIDs = append(createdIDs, ids[i])
		createdNow[ids[i]] = true
		actorOf[ids[i]] = a.actor
		if err := late.Audit(a.actor, "run.created", "run", ids[i], map[string]any{"sha": n.SHA, "trigger": n.Trigger, "state": n.State}); err != nil {
			return nil, err
		}
	}
	if len(createdIDs) == 0 {
		return nil, nil
	}
	ss := make([]store.Supersession, 0, len(order))
	for _, l := range order {
		i := newest[l]
		ss = append(ss, store.Supersession{RepositoryID: l.repo, Branch: news[i].Branch, PRNumber: l.pr, NewRunID: ids[i]})
	}
	superseded, err := store.SupersedeRunsBatch(ctx, tx, ss, createdIDs)
	if err != nil {
		return nil, err
	}

	replaced := map[int64]bool{}
	completed := make([]int64, 0, len(superseded))
	for _, old := range superseded {
		replaced[old.RunID] = true
		if old.JobID != 0 {
			running = append(running, old.JobID)
		}
		if err := late.Audit(actorOf[old.By], "run.superseded", "run", old.RunID, map[string]any{"by": old.By}); err != nil {
			return nil, err
		}
		// The runner never finishes a run it did not start (or finds
		// already cancelled), so the intake completes its check run,
		// unless GitHub never heard of it: its queued report was deleted
		// unsent, or, created in this batch, it has no jobs yet.
		if !old.Unreported && !createdNow[old.RunID] {
			completed = append(completed, old.RunID)
		}
	}
	var fresh []jobs.RunJobs
	for i, id := range ids {
		if !created[i] || replaced[id] {
			continue // a run replaced within its own batch gets no jobs: GitHub never hears of it
		}
		fresh = append(fresh, jobs.RunJobs{RunID: id, Execute: news[i].State == store.RunQueued})
	}
	if err := jobs.EnqueueRuns(ctx, rc, tx, completed, fresh); err != nil {
		return nil, err
	}
	return running, nil
}

// finishBatch sends the batch's deferred writes in one round trip, then
// cancels the River jobs running superseded runs (River signals their
// workers).
func finishBatch(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, late *store.Deferred, running []int64) error {
	b := &pgx.Batch{}
	late.Queue(b)
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("finish intake batch: %w", err)
		}
	}
	for _, jobID := range running {
		if err := jobs.CancelJob(ctx, rc, tx, jobID); err != nil {
			return fmt.Errorf("a superseded run: %w", err)
		}
	}
	return nil
}
