package store

import (
	"context"
	"fmt"
)

// Superseded is an earlier run that a newer push replaced.
type Superseded struct {
	RunID int64
	// JobID is the run's River job while it runs: River cancels it through
	// the worker holding it (river.Client.JobCancelTx). 0 when none runs;
	// waiting jobs are deleted by the supersession itself.
	JobID int64
	By    int64 // the run that replaced it
	// Unreported: the run never started and its check run never reached
	// GitHub, and its waiting report was deleted, so it needs no
	// completed report either: GitHub never hears of it.
	Unreported bool
}

// Supersession says run NewRunID replaces the unfinished runs of its pull
// request (PRNumber != 0) or branch.
type Supersession struct {
	RepositoryID int64
	Branch       string
	PRNumber     int
	NewRunID     int64
}

// SupersedeRunsBatch applies many supersessions in one statement and returns
// the runs it cancelled. A run is replaced when it is older than the new run
// or among sameBatch, the runs created with it: within one intake batch the
// caller, not the id order, says which run is newest. Give at most one
// supersession per branch or pull request.
//
// The same statement deletes the replaced runs' waiting River jobs, as
// River's JobDelete does (River has no call that deletes or cancels many):
// each run.execute job, and the queued report of a run that never started
// and has no check run on GitHub (Superseded.Unreported).
// A job that already ran, or runs now, is left alone: a running run.execute
// job is returned for the caller to cancel through River, and a report that
// may have reached GitHub is completed by the caller.
//
// In the intake's transaction (LookupDeliveries) every look-up it makes is
// by index, whatever the tables' sizes when PostgreSQL cached its plan.
func SupersedeRunsBatch(ctx context.Context, q Querier, ss []Supersession, sameBatch []int64) ([]Superseded, error) {
	var repoIDs, newIDs []int64
	var branches []string
	var prs []int32
	for _, s := range ss {
		repoIDs, newIDs = append(repoIDs, s.RepositoryID), append(newIDs, s.NewRunID)
		branches, prs = append(branches, s.Branch), append(prs, int32(s.PRNumber))
	}
	if sameBatch == nil {
		sameBatch = []int64{}
	}
	rows, err := q.Query(ctx, sqlSupersede, repoIDs, branches, prs, newIDs, sameBatch)
	if err != nil {
		return nil, fmt.Errorf("supersede runs: %w", err)
	}
	defer rows.Close()
	var out []Superseded
	for rows.Next() {
		var s Superseded
		if err := rows.Scan(&s.RunID, &s.JobID, &s.By, &s.Unreported); err != nil {
			return nil, fmt.Errorf("supersede runs: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// sqlSupersede: the lane conditions match runs_active_lane_idx, which holds
// only unfinished runs. Branches and pull requests are looked up apart so
// that a branch's look-up has the whole key as its index condition and is a
// plain index scan: each run superseded leaves a dead entry in the partial
// index until vacuum, and an index scan marks the dead entries it meets so
// that the next push skips them and page splits drop them, where a scan of
// the repository's entries (the branch a filter) read every one, through a
// bitmap scan that marks none (TestSupersedePlanIsALookUpPerLane). The jobs are
// found through river_job_waiting_run_idx (its predicate repeated so that
// the planner uses it). runs.job_id is set when a worker starts the run
// (jobs.RunExecuteWorker), so a run without one never started. A job a
// worker takes meanwhile no longer matches the DELETE's state condition,
// which PostgreSQL checks again on the row as the worker left it.
const sqlSupersede = `
	WITH k AS (
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[]) AS k(repository_id, branch, pr_number, new_id)
	), target AS (
		-- Each lane is its own look-up, parameterised by its key (LATERAL,
		-- and OFFSET 0 so that the planner cannot flatten it into a join):
		-- as a join, the plan PostgreSQL cached while the table was small
		-- read the index by its second column alone, every unfinished run
		-- of every repository for each lane, the rest of the key a filter
		-- (TestSupersedePlanIsALookUpPerLane).
		SELECT r.id, k.new_id FROM k CROSS JOIN LATERAL (
			SELECT r.id FROM runs r
			WHERE k.pr_number = 0 AND r.repository_id = k.repository_id AND COALESCE(r.pr_number, 0) = 0 AND r.branch = k.branch
				AND r.state IN ('awaiting_approval', 'queued', 'running') AND r.trigger IN ('push', 'pull_request')
				AND r.id <> k.new_id AND (r.id < k.new_id OR r.id = ANY($5))
			UNION ALL
			SELECT r.id FROM runs r
			WHERE k.pr_number <> 0 AND r.repository_id = k.repository_id AND COALESCE(r.pr_number, 0) = k.pr_number
				AND r.state IN ('awaiting_approval', 'queued', 'running') AND r.trigger IN ('push', 'pull_request')
				AND r.id <> k.new_id AND (r.id < k.new_id OR r.id = ANY($5))
			OFFSET 0
		) r
	), superseded AS (
		UPDATE runs SET state = 'cancelled', superseded_by = target.new_id, finished_at = now(), updated_at = now(),
			error = 'superseded by run ' || target.new_id
		FROM target WHERE runs.id = target.id
		RETURNING runs.id, runs.job_id, runs.check_run_id, target.new_id
	), waiting AS (
		-- Each superseded run's jobs are an index look-up by its id, not a
		-- join filter over every waiting job (a backlog of thousands): OFFSET 0
		-- keeps the planner from flattening the LATERAL subquery into a join
		-- it may turn around.
		SELECT j.id, j.kind, s.id AS run_id FROM superseded s CROSS JOIN LATERAL (
			SELECT j.id, j.kind FROM river_job j WHERE j.args->>'run_id' = s.id::text
				AND j.state IN ('available', 'scheduled', 'pending', 'retryable') AND j.kind IN ('run.execute', 'report.check')
				AND (j.kind = 'run.execute'
					OR (s.job_id IS NULL AND s.check_run_id IS NULL AND j.attempt = 0 AND j.args->>'phase' = 'queued'))
			OFFSET 0
		) j
	), cancelled AS (
		-- Deleted, as River's JobDelete deletes a job not running, rather
		-- than marked cancelled: an update of a row is a new version of it
		-- in each of river_job's eight indexes (two of them GIN), a delete
		-- none, and a superseded run's jobs say nothing its run row does not.
		DELETE FROM river_job USING waiting WHERE river_job.id = waiting.id
			AND river_job.state IN ('available', 'scheduled', 'pending', 'retryable')
		RETURNING waiting.run_id, waiting.kind
	)
	SELECT s.id,
		COALESCE((SELECT j.id FROM river_job j WHERE j.id = s.job_id AND j.state = 'running'), 0),
		s.new_id,
		s.job_id IS NULL AND s.check_run_id IS NULL
			AND EXISTS (SELECT FROM cancelled c WHERE c.run_id = s.id AND c.kind = 'report.check')
	FROM superseded s`
