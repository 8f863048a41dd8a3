package store

import (
	"context"
	"fmt"
)

// RunAnalysis is the record of a run having been analysed.
type RunAnalysis struct {
	RunID       int64
	MassFailure bool
	Reason      string
	Tests       int
	FailedTests int
	Failures    int
}

// RecordRunAnalysis marks a run analysed. first is false when it already
// was: counters (clusters, flaky windows) must then not be applied again.
func RecordRunAnalysis(ctx context.Context, q Querier, a RunAnalysis) (first bool, err error) {
	tag, err := q.Exec(ctx, `INSERT INTO run_analyses (run_id, mass_failure, reason, tests, failed_tests, failures)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (run_id) DO NOTHING`, a.RunID, a.MassFailure, a.Reason, a.Tests, a.FailedTests, a.Failures)
	if err != nil {
		return false, fmt.Errorf("record analysis of run %d: %w", a.RunID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// GetRunAnalysis returns a run's analysis record.
func GetRunAnalysis(ctx context.Context, q Querier, runID int64) (RunAnalysis, error) {
	a := RunAnalysis{RunID: runID}
	err := q.QueryRow(ctx, `SELECT mass_failure, reason, tests, failed_tests, failures FROM run_analyses WHERE run_id = $1`,
		runID).Scan(&a.MassFailure, &a.Reason, &a.Tests, &a.FailedTests, &a.Failures)
	if err != nil {
		return a, fmt.Errorf("analysis of run %d: %w", runID, notFound(err))
	}
	return a, nil
}
