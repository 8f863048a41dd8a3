package store

import (
	"context"
	"fmt"
)

// Superseded is an earlier run that a newer push replaced.
type Superseded struct {
	RunID int64
	JobID int64 // 0 when the run had no job yet
	By    int64 // the run that replaced it
}

// Supersession says run NewRunID replaces the unfinished runs of its pull
// request (PRNumber != 0) or branch.
type Supersession struct {
	RepositoryID int64
	Branch       string
	PRNumber     int
	NewRunID     int64
}

// SupersedeRuns cancels the earlier unfinished runs of the same pull request
// (prNumber != 0) or branch, marking them superseded by newRunID, and returns
// them so the caller can cancel their River jobs in the same transaction.
func SupersedeRuns(ctx context.Context, q Querier, repositoryID int64, branch string, prNumber int, newRunID int64) ([]Superseded, error) {
	return SupersedeRunsBatch(ctx, q, []Supersession{{RepositoryID: repositoryID, Branch: branch, PRNumber: prNumber, NewRunID: newRunID}}, nil)
}

// SupersedeRunsBatch applies many supersessions in one statement and returns
// the runs it cancelled, so the caller can cancel their River jobs in the
// same transaction. A run is replaced when it is older than the new run or
// among sameBatch, the runs created with it: within one intake batch the
// caller, not the id order, says which run is newest. Give at most one
// supersession per branch or pull request.
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
	// The lane conditions match runs_active_lane_idx, which holds only
	// unfinished runs.
	rows, err := q.Query(ctx, `
		WITH k AS (
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[]) AS k(repository_id, branch, pr_number, new_id)
		), target AS (
			SELECT r.id, k.new_id FROM k JOIN runs r
				ON r.repository_id = k.repository_id AND COALESCE(r.pr_number, 0) = k.pr_number
				AND (k.pr_number <> 0 OR r.branch = k.branch)
			WHERE r.state IN ('awaiting_approval', 'queued', 'running') AND r.trigger IN ('push', 'pull_request')
				AND r.id <> k.new_id AND (r.id < k.new_id OR r.id = ANY($5))
		)
		UPDATE runs SET state = 'cancelled', superseded_by = target.new_id, finished_at = now(), updated_at = now(),
			error = 'superseded by run ' || target.new_id
		FROM target WHERE runs.id = target.id
		RETURNING runs.id, COALESCE(runs.job_id, 0), target.new_id`, repoIDs, branches, prs, newIDs, sameBatch)
	if err != nil {
		return nil, fmt.Errorf("supersede runs: %w", err)
	}
	defer rows.Close()
	var out []Superseded
	for rows.Next() {
		var s Superseded
		if err := rows.Scan(&s.RunID, &s.JobID, &s.By); err != nil {
			return nil, fmt.Errorf("supersede runs: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
