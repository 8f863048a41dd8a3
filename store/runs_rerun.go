package store

import (
	"context"
	"fmt"
)

// SetRunFailedOnly marks a run as a "Re-run failed" attempt of run of:
// it re-runs only what failed there (runs.failed_only_of).
func SetRunFailedOnly(ctx context.Context, q Querier, runID, of int64) error {
	tag, err := q.Exec(ctx, `UPDATE runs SET failed_only_of = $2 WHERE id = $1`, runID, of)
	if err != nil {
		return fmt.Errorf("run %d failed-only of %d: %w", runID, of, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("run %d: %w", runID, ErrNotFound)
	}
	return nil
}

// RunFailedOnlyOf returns the run whose failures a run re-runs, 0 for a run
// that runs whole (a first attempt, a whole re-run, or one whose earlier
// attempt was deleted since).
func RunFailedOnlyOf(ctx context.Context, q Querier, runID int64) (int64, error) {
	var of int64
	err := q.QueryRow(ctx, `SELECT COALESCE(failed_only_of, 0) FROM runs WHERE id = $1`, runID).Scan(&of)
	if err != nil {
		return 0, fmt.Errorf("run %d failed-only of: %w", runID, notFound(err))
	}
	return of, nil
}

// UnpassedTestResults returns a run's results that did not pass (failed,
// errored or never ended), each with its step: what a "Re-run failed"
// attempt selects, step by step.
func UnpassedTestResults(ctx context.Context, q Querier, runID int64) ([]TestResult, error) {
	rs, err := queryTestResults(ctx, q, `r.run_id = $1 AND r.outcome IN ('fail', 'error', 'incomplete')`, runID)
	if err != nil {
		return nil, fmt.Errorf("unpassed test results of run %d: %w", runID, err)
	}
	return rs, nil
}
