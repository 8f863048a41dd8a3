package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sentinel-ci/sentinel/triage"
)

// ReportFailure is a failure of a run with what the check run report needs
// from its cluster and test. It is an aggregate, not a second Failure: its
// Flaky and Quarantined also count the test's current state, SeenBefore
// counts the cluster's history, and the evidence stays as stored.
type ReportFailure struct {
	ID          int64
	ClusterID   int64 // 0: not clustered
	TestID      int64 // 0: not a test
	StepName    string
	Category    triage.Category
	Title       string
	Message     string
	Fingerprint string
	Confidence  float64
	Evidence    json.RawMessage
	File        string
	Line        int
	Hint        string
	Remediation string
	// Flaky: triage saw the test both pass and fail in this run, or the test
	// is known flaky or quarantined.
	Flaky       bool
	Quarantined bool
	// FlakyInRun: the test failed and then passed within this run (a retry
	// or a re-run attempt), beside whatever its history says.
	FlakyInRun  bool
	TestName    string // "package.Name", "" for failures that are not a test
	TestPackage string // the test's package (a Go import path, a JUnit class), "" when not a test
	// SeenBefore counts earlier runs of the repository with a failure in the same cluster.
	SeenBefore int
	// Diagnostics are every located problem the matchers read in the
	// step's log (see Failure.Diagnostics), each an annotation.
	Diagnostics        []triage.Diagnostic
	DiagnosticsDropped int
}

// CheckRunReport returns a run's steps (by position and attempt) and
// failures (by id) for its check run.
func CheckRunReport(ctx context.Context, q Querier, runID int64) ([]Step, []ReportFailure, error) {
	steps, err := ListSteps(ctx, q, runID)
	if err != nil {
		return nil, nil, fmt.Errorf("report: %w", err)
	}
	rows, err := q.Query(ctx, `
		SELECT f.id, COALESCE(f.cluster_id, 0), COALESCE(f.test_id, 0), COALESCE(s.name, ''), f.category, f.title, f.message,
			f.fingerprint, f.confidence, f.evidence, f.file, f.line, f.hint, f.remediation,
			f.flaky OR COALESCE(t.state IN ('flaky', 'quarantined'), false), f.flaky,
			f.quarantined OR COALESCE(t.state = 'quarantined', false),
			COALESCE(CASE WHEN t.package <> '' THEN t.package || '.' || t.name ELSE t.name END, ''), COALESCE(t.package, ''),
			CASE WHEN f.cluster_id IS NULL THEN 0 ELSE (
				SELECT count(DISTINCT f2.run_id) FROM failures f2
				WHERE f2.cluster_id = f.cluster_id AND f2.run_id < f.run_id) END,
			f.diagnostics, f.diagnostics_dropped
		FROM failures f
		LEFT JOIN steps s ON s.id = f.step_id
		LEFT JOIN tests t ON t.id = f.test_id
		WHERE f.run_id = $1 ORDER BY f.id`, runID)
	if err != nil {
		return nil, nil, fmt.Errorf("report failures of run %d: %w", runID, err)
	}
	defer rows.Close()
	var failures []ReportFailure
	for rows.Next() {
		var f ReportFailure
		var conf float32
		var diags []byte
		if err := rows.Scan(&f.ID, &f.ClusterID, &f.TestID, &f.StepName, &f.Category, &f.Title, &f.Message,
			&f.Fingerprint, &conf, &f.Evidence, &f.File, &f.Line, &f.Hint, &f.Remediation,
			&f.Flaky, &f.FlakyInRun, &f.Quarantined, &f.TestName, &f.TestPackage, &f.SeenBefore, &diags, &f.DiagnosticsDropped); err != nil {
			return nil, nil, fmt.Errorf("report failures of run %d: %w", runID, err)
		}
		f.Confidence = float64(conf)
		f.Diagnostics = ParseDiagnostics(diags)
		failures = append(failures, f)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("report failures of run %d: %w", runID, err)
	}
	return steps, failures, nil
}
