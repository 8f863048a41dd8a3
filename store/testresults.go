package store

import (
	"context"
	"fmt"
	"time"
)

// maxResultMessage bounds the message kept per result; the log has the rest.
const maxResultMessage = 4096

// TestResult is one run of one test, as stored.
type TestResult struct {
	ID       int64
	RunID    int64
	StepID   int64
	TestID   int64
	Package  string
	Name     string
	Attempt  int
	Outcome  string
	Duration time.Duration
	File     string
	Line     int
	Message  string
}

// ListTestResults returns a run's results by test and attempt.
func ListTestResults(ctx context.Context, q Querier, runID int64) ([]TestResult, error) {
	rs, err := queryTestResults(ctx, q, `r.run_id = $1`, runID)
	if err != nil {
		return nil, fmt.Errorf("test results of run %d: %w", runID, err)
	}
	return rs, nil
}

// queryTestResults reads test results with their test's identity, ordered
// by test and attempt; where filters on test_results r ($1 is the run id).
func queryTestResults(ctx context.Context, q Querier, where string, runID int64) ([]TestResult, error) {
	rows, err := q.Query(ctx, `SELECT r.id, r.run_id, COALESCE(r.step_id, 0), r.test_id, t.package, t.name,
			r.attempt, r.outcome, r.duration_ms, r.file, r.line, r.message
		FROM test_results r JOIN tests t ON t.id = r.test_id
		WHERE `+where+` ORDER BY t.package, t.name, r.attempt, r.id`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TestResult
	for rows.Next() {
		var r TestResult
		var ms int32
		if err := rows.Scan(&r.ID, &r.RunID, &r.StepID, &r.TestID, &r.Package, &r.Name, &r.Attempt, &r.Outcome,
			&ms, &r.File, &r.Line, &r.Message); err != nil {
			return nil, err
		}
		r.Duration = time.Duration(ms) * time.Millisecond
		out = append(out, r)
	}
	return out, rows.Err()
}
