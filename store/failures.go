package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/triage"
)

// RunTestOutcome is one test's verdict in one run, over all attempts.
type RunTestOutcome struct {
	TestID int64
	Failed bool // some attempt failed or errored
	Passed bool // some attempt passed
}

// SameCommitOutcomes returns, for each of testIDs, whether it passed and
// whether it failed in other runs of the same repository and commit
// (re-runs), leaving out runs the mass-failure guard excluded. The cost
// follows the runs of that one commit, not the test's history.
func SameCommitOutcomes(ctx context.Context, q Querier, repositoryID int64, sha string, runID int64, testIDs []int64) (map[int64]RunTestOutcome, error) {
	rows, err := q.Query(ctx, `SELECT r.test_id, bool_or(r.outcome IN ('fail', 'error')), bool_or(r.outcome = 'pass')
		FROM runs x JOIN test_results r ON r.run_id = x.id
		WHERE x.repository_id = $1 AND x.sha = $2 AND x.id <> $3 AND r.test_id = ANY($4)
			AND NOT EXISTS (SELECT 1 FROM run_analyses a WHERE a.run_id = x.id AND a.mass_failure)
			AND x.state <> 'errored'
		GROUP BY r.test_id`, repositoryID, sha, runID, testIDs)
	if err != nil {
		return nil, fmt.Errorf("outcomes on commit %s: %w", sha, err)
	}
	defer rows.Close()
	out := map[int64]RunTestOutcome{}
	for rows.Next() {
		var o RunTestOutcome
		if err := rows.Scan(&o.TestID, &o.Failed, &o.Passed); err != nil {
			return nil, err
		}
		out[o.TestID] = o
	}
	return out, rows.Err()
}

// NewFailure is a triage failure to store with what the job resolved.
type NewFailure struct {
	StepID      int64 // 0: not tied to a step
	ClusterID   int64
	TestID      int64 // 0: not a test failure
	Failure     triage.Failure
	Flaky       bool
	Quarantined bool
}

// ReplaceRunFailures deletes a run's failures and inserts these, so that
// analysing a run again rewrites rather than duplicates. It returns the new
// ids in order.
func ReplaceRunFailures(ctx context.Context, q Querier, runID int64, fs []NewFailure) ([]int64, error) {
	if _, err := q.Exec(ctx, `DELETE FROM failures WHERE run_id = $1`, runID); err != nil {
		return nil, fmt.Errorf("delete failures of run %d: %w", runID, err)
	}
	ids := make([]int64, 0, len(fs))
	for _, nf := range fs {
		f := nf.Failure
		ev := f.Evidence
		if ev == nil {
			ev = []triage.Evidence{}
		}
		evJSON, err := json.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("failure evidence: %w", err)
		}
		conf := min(max(f.Confidence, 0), 1)
		var id int64
		err = q.QueryRow(ctx, `INSERT INTO failures (run_id, step_id, cluster_id, test_id, category, title, message,
				fingerprint, confidence, evidence, file, line, hint, remediation, flaky, quarantined)
			VALUES ($1, NULLIF($2, 0), NULLIF($3, 0), NULLIF($4, 0), $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
			RETURNING id`,
			runID, nf.StepID, nf.ClusterID, nf.TestID, string(f.Category), truncateUTF8(f.Title, 1000),
			truncateUTF8(f.NormalizedMessage, 4000), f.Fingerprint, conf, evJSON, f.File, f.Line, f.Hint, f.Remediation,
			nf.Flaky, nf.Quarantined).Scan(&id)
		if err != nil {
			return nil, fmt.Errorf("insert failure of run %d: %w", runID, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

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

// LastSucceededStep returns the latest succeeded step with this name in the
// repository before runID, for a log baseline.
func LastSucceededStep(ctx context.Context, q Querier, repositoryID int64, name string, beforeRunID int64) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `SELECT s.id FROM runs r JOIN steps s ON s.run_id = r.id
		WHERE r.repository_id = $1 AND r.id < $3 AND s.name = $2 AND s.state = 'succeeded'
		ORDER BY r.id DESC, s.attempt DESC LIMIT 1`, repositoryID, name, beforeRunID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("last good step %q: %w", name, notFound(err))
	}
	return id, nil
}

// PreviousCountedSHA is the commit of the latest run on branch before runID
// whose outcomes counted toward flakiness (analysed, no mass failure).
func PreviousCountedSHA(ctx context.Context, q Querier, repositoryID int64, branch string, runID int64) (string, error) {
	var sha string
	err := q.QueryRow(ctx, `SELECT r.sha FROM runs r JOIN run_analyses a ON a.run_id = r.id
		WHERE r.repository_id = $1 AND r.branch = $2 AND r.id < $3 AND NOT a.mass_failure
		ORDER BY r.id DESC LIMIT 1`, repositoryID, branch, runID).Scan(&sha)
	if err = notFound(err); err != nil && err != ErrNotFound {
		return "", fmt.Errorf("previous run of %s: %w", branch, err)
	}
	return sha, nil
}

// FailingTestResults returns the results (every attempt) of the tests that
// failed or errored at least once in a run: all that failure analysis needs,
// without reading the passing majority of a large run.
func FailingTestResults(ctx context.Context, q Querier, runID int64) ([]TestResult, error) {
	rs, err := queryTestResults(ctx, q, `r.run_id = $1 AND r.test_id IN (SELECT test_id FROM test_results
		WHERE run_id = $1 AND outcome IN ('fail', 'error'))`, runID)
	if err != nil {
		return nil, fmt.Errorf("failing test results of run %d: %w", runID, err)
	}
	return rs, nil
}

// RunFailureTest is a test that failed in a run.
type RunFailureTest struct {
	TestID      int64
	ClusterID   int64
	Flaky       bool
	Quarantined bool
}

// RunFailureTests returns the failures of a run that are tests, in order.
func RunFailureTests(ctx context.Context, q Querier, runID int64) ([]RunFailureTest, error) {
	rows, err := q.Query(ctx, `SELECT f.test_id, COALESCE(f.cluster_id, 0),
			f.flaky OR t.state IN ('flaky', 'quarantined'), f.quarantined OR t.state = 'quarantined'
		FROM failures f JOIN tests t ON t.id = f.test_id WHERE f.run_id = $1 ORDER BY f.id`, runID)
	if err != nil {
		return nil, fmt.Errorf("failing tests of run %d: %w", runID, err)
	}
	defer rows.Close()
	var out []RunFailureTest
	for rows.Next() {
		var f RunFailureTest
		if err := rows.Scan(&f.TestID, &f.ClusterID, &f.Flaky, &f.Quarantined); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// MainFailure returns a run's first failure that is not a flaky test: what
// an incident opened by hand is about.
func MainFailure(ctx context.Context, q Querier, runID int64) (Failure, error) {
	fs, err := failures(ctx, q, `WHERE f.run_id = $1 AND $2::bigint = 0 ORDER BY f.flaky, f.quarantined, f.id LIMIT 1`, runID, 0)
	if err == nil && len(fs) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return Failure{}, fmt.Errorf("main failure of run %d: %w", runID, err)
	}
	return fs[0], nil
}

// RunFailureCategories returns the distinct categories of a run's failures.
func RunFailureCategories(ctx context.Context, q Querier, runID int64) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT category FROM failures WHERE run_id = $1 ORDER BY 1`, runID)
	if err != nil {
		return nil, fmt.Errorf("failure categories of run %d: %w", runID, err)
	}
	cats, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("failure categories of run %d: %w", runID, err)
	}
	return cats, nil
}
