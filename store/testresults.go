package store

import (
	"context"
	"fmt"
	"time"

	"github.com/sentinel-ci/sentinel/triage"
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

// InsertTestResults stores the results of one step attempt, creating the
// tests' identities (repository, package, name) as needed. attempt is the
// step attempt; a case's own Attempt (go test -count) is added on top of it.
func InsertTestResults(ctx context.Context, q Querier, repositoryID, runID, stepID int64, attempt int, cases []triage.TestCase) error {
	if len(cases) == 0 {
		return nil
	}
	n := len(cases)
	pkgs, names, outcomes, files, messages := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	attempts, durations, lines := make([]int32, n), make([]int32, n), make([]int32, n)
	for i, c := range cases {
		pkgs[i], names[i], outcomes[i], files[i] = c.Package, c.Name, string(c.Outcome), c.File
		messages[i] = truncateUTF8(c.Message, maxResultMessage)
		attempts[i] = int32(attempt + max(c.Attempt, 1) - 1)
		durations[i] = int32(min(c.Duration.Milliseconds(), 1<<31-1))
		lines[i] = int32(c.Line)
	}
	_, err := q.Exec(ctx, `
		WITH input AS (
			SELECT * FROM unnest($4::text[], $5::text[], $6::int[], $7::text[], $8::int[], $9::text[], $10::int[], $11::text[])
				AS t(package, name, attempt, outcome, duration_ms, file, line, message)),
		ids AS (
			INSERT INTO tests (repository_id, package, name)
			SELECT DISTINCT $1::bigint, package, name FROM input
			ON CONFLICT (repository_id, package, name) DO UPDATE SET updated_at = tests.updated_at
			RETURNING id, package, name)
		INSERT INTO test_results (run_id, step_id, test_id, attempt, outcome, duration_ms, file, line, message)
		SELECT $2, $3, ids.id, i.attempt, i.outcome, i.duration_ms, i.file, i.line, i.message
		FROM input i JOIN ids ON ids.package = i.package AND ids.name = i.name`,
		repositoryID, runID, stepID, pkgs, names, attempts, outcomes, durations, files, lines, messages)
	if err != nil {
		return fmt.Errorf("insert %d test results of step %d: %w", n, stepID, err)
	}
	return nil
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

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
