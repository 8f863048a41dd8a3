package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

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

// ListTestResults returns a run's results by test and attempt.
func ListTestResults(ctx context.Context, q Querier, runID int64) ([]TestResult, error) {
	rs, err := queryTestResults(ctx, q, `r.run_id = $1`, runID)
	if err != nil {
		return nil, fmt.Errorf("test results of run %d: %w", runID, err)
	}
	return rs, nil
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

// RecordTestResults stores the results of one step attempt, creating the
// tests' identities (repository, package, name) that do not exist yet
// (existing rows are not touched), and sends the results with COPY, several
// times faster than an INSERT for the thousands a large suite reports.
// attempt is the step attempt; a case's own Attempt (go test -count) is
// added on top of it.
func RecordTestResults(ctx context.Context, tx pgx.Tx, repositoryID, runID, stepID int64, attempt int, cases []triage.TestCase) error {
	if len(cases) == 0 {
		return nil
	}
	n := len(cases)
	cases = storableCases(cases)
	pkgs, names := make([]string, n), make([]string, n)
	distinct := make(map[[2]string]bool, n)
	for i, c := range cases {
		pkgs[i], names[i] = c.Package, c.Name
		distinct[[2]string{c.Package, c.Name}] = true
	}
	ids, err := testIDs(ctx, tx, repositoryID, pkgs, names)
	if err != nil {
		return fmt.Errorf("tests of step %d: %w", stepID, err)
	}
	if len(ids) < len(distinct) {
		// Some tests are new (usually none are): create them, then look again.
		if _, err := tx.Exec(ctx, `INSERT INTO tests (repository_id, package, name)
			SELECT DISTINCT $1::bigint, p, n FROM unnest($2::text[], $3::text[]) AS u(p, n)
			ON CONFLICT (repository_id, package, name) DO NOTHING`, repositoryID, pkgs, names); err != nil {
			return fmt.Errorf("create tests of step %d: %w", stepID, err)
		}
		if ids, err = testIDs(ctx, tx, repositoryID, pkgs, names); err != nil {
			return fmt.Errorf("tests of step %d: %w", stepID, err)
		}
	}
	var step any
	if stepID != 0 {
		step = stepID
	}
	src := make([][]any, 0, n)
	for _, c := range cases {
		src = append(src, []any{runID, step, ids[[2]string{c.Package, c.Name}], int32(attempt + max(c.Attempt, 1) - 1),
			string(c.Outcome), int32(min(c.Duration.Milliseconds(), 1<<31-1)), c.File, int32(c.Line),
			triage.ClipBytes(c.Message, maxResultMessage)})
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"test_results"},
		[]string{"run_id", "step_id", "test_id", "attempt", "outcome", "duration_ms", "file", "line", "message"},
		pgx.CopyFromRows(src))
	if err != nil {
		return fmt.Errorf("copy %d test results of step %d: %w", n, stepID, err)
	}
	return nil
}

// storableCases returns cases whose text PostgreSQL accepts: a test's
// output is whatever the tests printed, and a text column refuses NUL
// bytes and invalid UTF-8, which would lose the whole step's results. Cases
// that need no change are not copied.
func storableCases(cases []triage.TestCase) []triage.TestCase {
	out := cases
	for i, c := range cases {
		p, n, f, m := storableText(c.Package), storableText(c.Name), storableText(c.File), storableText(c.Message)
		if p == c.Package && n == c.Name && f == c.File && m == c.Message {
			continue
		}
		if &out[0] == &cases[0] {
			out = slices.Clone(cases)
		}
		out[i].Package, out[i].Name, out[i].File, out[i].Message = p, n, f, m
	}
	return out
}

// storableText replaces each invalid UTF-8 sequence with U+FFFD and each NUL
// byte with U+2400 (␀), which shows where it was.
func storableText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\u2400")
}

// testIDs maps (package, name) to the ids of the repository's tests that exist.
func testIDs(ctx context.Context, q Querier, repositoryID int64, pkgs, names []string) (map[[2]string]int64, error) {
	rows, err := q.Query(ctx, `SELECT t.id, t.package, t.name FROM tests t
		JOIN (SELECT DISTINCT p, n FROM unnest($2::text[], $3::text[]) AS u(p, n)) u ON t.package = u.p AND t.name = u.n
		WHERE t.repository_id = $1`, repositoryID, pkgs, names)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := make(map[[2]string]int64, len(pkgs))
	for rows.Next() {
		var id int64
		var p, nm string
		if err := rows.Scan(&id, &p, &nm); err != nil {
			return nil, err
		}
		ids[[2]string{p, nm}] = id
	}
	return ids, rows.Err()
}

// RunTest is a test of a run with its verdict in that run.
type RunTest struct {
	Test
	Failed bool // some attempt failed or errored
	Passed bool // some attempt passed
}

// LoadRunTests returns every test that passed or failed in a run, with its
// flaky state, in one query (skipped and incomplete tests say nothing
// about flakiness). Like LoadTests it takes no row locks.
func LoadRunTests(ctx context.Context, q Querier, runID int64) ([]*RunTest, error) {
	rows, err := q.Query(ctx, `SELECT `+testColumns+`, o.failed, o.passed
		FROM (SELECT test_id, bool_or(outcome IN ('fail', 'error')) AS failed, bool_or(outcome = 'pass') AS passed
			FROM test_results WHERE run_id = $1 AND outcome IN ('pass', 'fail', 'error') GROUP BY test_id) o
		JOIN tests t ON t.id = o.test_id JOIN repositories r ON r.id = t.repository_id
		ORDER BY t.id`, runID)
	if err != nil {
		return nil, fmt.Errorf("tests of run %d: %w", runID, err)
	}
	defer rows.Close()
	var out []*RunTest
	for rows.Next() {
		rt := &RunTest{}
		if err := rows.Scan(append(testScanTargets(&rt.Test), &rt.Failed, &rt.Passed)...); err != nil {
			return nil, fmt.Errorf("tests of run %d: %w", runID, err)
		}
		rt.finish()
		out = append(out, rt)
	}
	return out, rows.Err()
}

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

// TestsPassedOnRetry returns, for each of the given runs that has any, the
// tests that failed and then passed on a retry or re-run: a failing or
// erroring result followed by a pass of the same test at a later attempt of
// the run, or a pass in the run of a test that failed in an earlier attempt
// of its commit (a re-run: same repository, commit, trigger and pull
// request). Names are sorted. The runs list marks these runs flaky; a step
// that needed another attempt, or a test that failed and never passed,
// does not count. Failing results are found through
// test_results_failing_idx; a later pass through test_results_run_test_idx
// (index-only).
func TestsPassedOnRetry(ctx context.Context, q Querier, runIDs []int64) (map[int64][]string, error) {
	out := map[int64][]string{}
	if len(runIDs) == 0 {
		return out, nil
	}
	// A failure of an earlier run counts with attempt 0: any pass in the
	// run comes after it.
	rows, err := q.Query(ctx, `WITH listed AS (
			SELECT id, repository_id, sha, trigger, COALESCE(pr_number, 0) AS pr, attempt FROM runs WHERE id = ANY($1)),
		failed AS (
			SELECT l.id AS run_id, f.test_id, f.attempt FROM listed l JOIN test_results f ON f.run_id = l.id
			WHERE f.outcome IN ('fail', 'error')
			UNION
			SELECT l.id, f.test_id, 0 FROM listed l
				JOIN runs e ON e.repository_id = l.repository_id AND e.sha = l.sha AND e.trigger = l.trigger
					AND COALESCE(e.pr_number, 0) = l.pr AND e.attempt < l.attempt
				JOIN test_results f ON f.run_id = e.id
			WHERE l.attempt > 1 AND f.outcome IN ('fail', 'error'))
		SELECT DISTINCT x.run_id, t.name FROM failed x JOIN tests t ON t.id = x.test_id
		WHERE EXISTS (SELECT 1 FROM test_results p WHERE p.run_id = x.run_id AND p.test_id = x.test_id
			AND p.outcome = 'pass' AND p.attempt > x.attempt)
		ORDER BY 1, 2`, runIDs)
	if err != nil {
		return nil, fmt.Errorf("tests passed on retry: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("tests passed on retry: %w", err)
		}
		out[id] = append(out[id], name)
	}
	return out, rows.Err()
}
