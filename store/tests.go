package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/triage"
)

// maxEvidenceRuns bounds the runs kept as evidence per test.
const maxEvidenceRuns = 10

// Test is a tracked test with its flaky state.
type Test struct {
	ID               int64
	RepositoryID     int64
	Repository       string // owner/name, joined for display
	Package, Name    string
	Flaky            triage.FlakyState
	Score            float64 // flakiness probability
	FailureRate      float64
	FlipRate         float64
	Runs, Episodes   int
	EvidenceRuns     []int64 // latest runs where it failed, newest first
	QuarantineOwner  string
	QuarantineSource string
	QuarantineReason string
	StateChangedAt   time.Time
	Recent           []RunOutcome // newest first; read by ListFlakyTests only
	// loaded is the state as read, so that a write-back does not undo a
	// change someone else made meanwhile (a quarantine from the dashboard).
	loaded triage.TestState
	scan   *testScan
}

// State is the test's state as a string.
func (t Test) State() string { return string(t.Flaky.State) }

// Identity is "package.Name" (or Name), as people write it in .sentinel.yml.
func (t Test) Identity() string {
	if t.Package == "" {
		return t.Name
	}
	return t.Package + "." + t.Name
}

// QuarantineUntil is when the quarantine ends, nil when it has no end.
func (t Test) QuarantineUntil() *time.Time {
	if t.Flaky.QuarantineUntil.IsZero() {
		return nil
	}
	u := t.Flaky.QuarantineUntil
	return &u
}

// QuarantineWhy is the quarantine's reason and where it was set
// (dashboard, config, ...), as the flaky tests page shows it.
func (t Test) QuarantineWhy() string {
	var parts []string
	for _, p := range []string{t.QuarantineReason, t.QuarantineSource} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " · ")
}

const testColumns = `t.id, t.repository_id, r.full_name, t.package, t.name, t.state, t.window_bits, t.window_n,
	t.streak_sha, t.streak_prev_pass_sha, t.first_bad_sha,
	t.last_good_sha, t.quarantine_until, t.score, t.failure_rate, t.flip_rate, t.runs, t.episodes,
	t.evidence_runs, t.quarantine_owner, t.quarantine_source, t.quarantine_reason, t.state_changed_at`

// testScan holds what scanning a test needs beyond the Test itself.
type testScan struct {
	state string
	bits  int64
	until *time.Time
}

func testScanTargets(t *Test) []any {
	t.scan = &testScan{}
	return []any{&t.ID, &t.RepositoryID, &t.Repository, &t.Package, &t.Name, &t.scan.state, &t.scan.bits, &t.Flaky.Window.N,
		&t.Flaky.StreakSHA, &t.Flaky.StreakPrevPassSHA,
		&t.Flaky.FirstBadSHA, &t.Flaky.LastGoodSHA, &t.scan.until, &t.Score, &t.FailureRate, &t.FlipRate, &t.Runs, &t.Episodes,
		&t.EvidenceRuns, &t.QuarantineOwner, &t.QuarantineSource, &t.QuarantineReason, &t.StateChangedAt}
}

func (t *Test) finish() {
	t.Flaky.State = triage.TestState(t.scan.state)
	t.Flaky.Window.Bits = uint64(t.scan.bits)
	if t.scan.until != nil {
		t.Flaky.QuarantineUntil = *t.scan.until
	}
	t.loaded = t.Flaky.State
	t.scan = nil
}

func scanTest(row interface{ Scan(...any) error }) (Test, error) {
	var t Test
	err := row.Scan(testScanTargets(&t)...)
	t.finish()
	return t, err
}

// LoadTests loads the given tests without locking them: the caller
// serialises analyses per repository (LockRepositoryAnalysis), and SaveTests
// leaves alone any row whose state someone else changed meanwhile.
func LoadTests(ctx context.Context, q Querier, ids []int64) (map[int64]*Test, error) {
	rows, err := q.Query(ctx, `SELECT `+testColumns+` FROM tests t JOIN repositories r ON r.id = t.repository_id
		WHERE t.id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("lock %d tests: %w", len(ids), err)
	}
	defer rows.Close()
	out := make(map[int64]*Test, len(ids))
	for rows.Next() {
		t, err := scanTest(rows)
		if err != nil {
			return nil, fmt.Errorf("lock tests: %w", err)
		}
		out[t.ID] = &t
	}
	return out, rows.Err()
}

// LockRepositoryAnalysis serialises, until the end of q's transaction, the
// analyses of one repository's runs: they read and write the same tests,
// clusters and incidents.
func LockRepositoryAnalysis(ctx context.Context, q Querier, repositoryID int64) error {
	_, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('sentinel.analysis:' || $1::bigint, 0))`, repositoryID)
	if err != nil {
		return fmt.Errorf("lock analyses of repository %d: %w", repositoryID, err)
	}
	return nil
}

// LockRunAnalysis serialises, until the end of q's transaction, the
// analyses of one run (a rescued job running beside the first).
func LockRunAnalysis(ctx context.Context, q Querier, runID int64) error {
	_, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('sentinel.analyze:' || $1::bigint, 0))`, runID)
	if err != nil {
		return fmt.Errorf("lock analysis of run %d: %w", runID, err)
	}
	return nil
}

// SaveTests writes back the flaky state of tests in one statement. Only
// the tests passed are written (callers pass the ones that changed), and a
// row whose state changed since LoadTests read it is left as it is.
// stateChanged lists the tests whose state changed (their
// state_changed_at becomes now).
func SaveTests(ctx context.Context, q Querier, tests []*Test, stateChanged map[int64]bool) error {
	n := len(tests)
	if n == 0 {
		return nil
	}
	ids, bits := make([]int64, n), make([]int64, n)
	winN, runs, eps := make([]int32, n), make([]int32, n), make([]int32, n)
	states, loaded, streak, streakPrev, firstBad, lastGood := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	score, frate, flip := make([]float64, n), make([]float64, n), make([]float64, n)
	until := make([]*time.Time, n)
	changed := make([]bool, n)
	evidence := make([]string, n) // as Postgres array literals: unnest cannot take a 2-D ragged array
	qOwner, qSource, qReason := make([]string, n), make([]string, n), make([]string, n)
	for i, t := range tests {
		f := t.Flaky
		ids[i], bits[i], winN[i] = t.ID, int64(f.Window.Bits), int32(f.Window.N)
		states[i], loaded[i], streak[i], streakPrev[i], firstBad[i], lastGood[i] = string(f.State), string(t.loaded), f.StreakSHA, f.StreakPrevPassSHA, f.FirstBadSHA, f.LastGoodSHA
		score[i], frate[i], flip[i], runs[i], eps[i] = t.Score, t.FailureRate, t.FlipRate, int32(t.Runs), int32(t.Episodes)
		if !f.QuarantineUntil.IsZero() {
			u := f.QuarantineUntil
			until[i] = &u
		}
		changed[i] = stateChanged[t.ID]
		evidence[i] = int64ArrayLiteral(t.EvidenceRuns)
		if f.State == triage.TestQuarantined {
			qOwner[i], qSource[i], qReason[i] = t.QuarantineOwner, t.QuarantineSource, t.QuarantineReason
		}
	}
	_, err := q.Exec(ctx, `
		UPDATE tests t SET state = u.state, window_bits = u.bits, window_n = u.n,
			streak_sha = u.streak, streak_prev_pass_sha = u.streak_prev,
			first_bad_sha = u.first_bad, last_good_sha = u.last_good, quarantine_until = u.until, score = u.score,
			failure_rate = u.frate, flip_rate = u.flip, runs = u.runs, episodes = u.eps,
			evidence_runs = u.evidence::bigint[],
			quarantine_owner = u.q_owner, quarantine_source = u.q_source, quarantine_reason = u.q_reason,
			state_changed_at = CASE WHEN u.changed THEN now() ELSE t.state_changed_at END,
			updated_at = now()
		FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::int[], $5::text[], $6::text[],
			$7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::float8[], $12::float8[], $13::float8[],
			$14::int[], $15::int[], $16::text[], $17::bool[], $18::text[], $19::text[], $20::text[])
			AS u(id, state, bits, n, loaded, streak, streak_prev, first_bad, last_good, until, score,
				frate, flip, runs, eps, evidence, changed, q_owner, q_source, q_reason)
		WHERE t.id = u.id AND t.state = u.loaded`,
		ids, states, bits, winN, loaded, streak, streakPrev, firstBad, lastGood, until, score,
		frate, flip, runs, eps, evidence, changed, qOwner, qSource, qReason)
	if err != nil {
		return fmt.Errorf("save %d tests: %w", n, err)
	}
	return nil
}

func int64ArrayLiteral(xs []int64) string {
	b := make([]byte, 0, 2+len(xs)*8)
	b = append(b, '{')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "%d", x)
	}
	return string(append(b, '}'))
}

// PushEvidenceRun puts runID first in runs, keeping the newest few.
func PushEvidenceRun(runs []int64, runID int64) []int64 {
	out := make([]int64, 0, maxEvidenceRuns)
	out = append(out, runID)
	for _, r := range runs {
		if len(out) == maxEvidenceRuns {
			break
		}
		if r != runID {
			out = append(out, r)
		}
	}
	return out
}

// TestEvent is a recorded change of a test's state.
type TestEvent struct {
	TestID    int64
	RunID     int64 // 0 when not caused by a run
	From, To  string
	Reason    string
	Actor     string
	CreatedAt time.Time
}

// InsertTestEvents records state changes.
func InsertTestEvents(ctx context.Context, q Querier, evs []TestEvent) error {
	if len(evs) == 0 {
		return nil
	}
	n := len(evs)
	tests, runs := make([]int64, n), make([]int64, n)
	from, to, reason, actor := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range evs {
		tests[i], runs[i], from[i], to[i], reason[i], actor[i] = e.TestID, e.RunID, e.From, e.To, e.Reason, e.Actor
		if actor[i] == "" {
			actor[i] = "worker"
		}
	}
	_, err := q.Exec(ctx, `INSERT INTO test_events (test_id, run_id, from_state, to_state, reason, actor)
		SELECT t, NULLIF(r, 0), f, s, why, who
		FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(t, r, f, s, why, who)`,
		tests, runs, from, to, reason, actor)
	if err != nil {
		return fmt.Errorf("insert %d test events: %w", n, err)
	}
	return nil
}

// TestEvents returns a test's state changes, newest first.
func TestEvents(ctx context.Context, q Querier, testID int64, limit int) ([]TestEvent, error) {
	rows, err := q.Query(ctx, `SELECT test_id, COALESCE(run_id, 0), from_state, to_state, reason, actor, created_at
		FROM test_events WHERE test_id = $1 ORDER BY id DESC LIMIT $2`, testID, max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("events of test %d: %w", testID, err)
	}
	defer rows.Close()
	var out []TestEvent
	for rows.Next() {
		var e TestEvent
		if err := rows.Scan(&e.TestID, &e.RunID, &e.From, &e.To, &e.Reason, &e.Actor, &e.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// TestFilter selects tests for ListTests.
type TestFilter struct {
	RepositoryID int64    // 0: all repositories
	States       []string // empty: every state
	Limit        int      // default 1000
}

// ListTests returns tracked tests, most flaky first.
func ListTests(ctx context.Context, q Querier, f TestFilter) ([]Test, error) {
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	rows, err := q.Query(ctx, `SELECT `+testColumns+` FROM tests t JOIN repositories r ON r.id = t.repository_id
		WHERE ($1 = 0 OR t.repository_id = $1) AND (cardinality($2::text[]) = 0 OR t.state = ANY($2))
		ORDER BY (t.state IN ('flaky', 'quarantined', 'broken')) DESC, t.score DESC, t.id LIMIT $3`,
		f.RepositoryID, f.States, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list tests: %w", err)
	}
	defer rows.Close()
	var out []Test
	for rows.Next() {
		t, err := scanTest(rows)
		if err != nil {
			return nil, fmt.Errorf("list tests: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// GetTest returns one test.
func GetTest(ctx context.Context, q Querier, id int64) (Test, error) {
	t, err := scanTest(q.QueryRow(ctx, `SELECT `+testColumns+` FROM tests t JOIN repositories r ON r.id = t.repository_id
		WHERE t.id = $1`, id))
	if err != nil {
		return Test{}, fmt.Errorf("test %d: %w", id, notFound(err))
	}
	return t, nil
}

// Quarantine says who quarantines a test, until when and why.
type Quarantine struct {
	Owner  string
	Source string     // dashboard, button, config, api
	Reason string     // shown in the test's history
	Until  *time.Time // nil: until it recovers or is released
	Actor  string     // for the audit log and the event
}

// SetQuarantine puts a test in quarantine (or updates its quarantine),
// recording the change and an audit entry.
func SetQuarantine(ctx context.Context, q Querier, testID int64, qu Quarantine) error {
	var from string
	err := q.QueryRow(ctx, `SELECT state FROM tests WHERE id = $1 FOR UPDATE`, testID).Scan(&from)
	if err != nil {
		return fmt.Errorf("quarantine test %d: %w", testID, notFound(err))
	}
	_, err = q.Exec(ctx, `UPDATE tests SET state = 'quarantined', quarantine_owner = $2, quarantine_source = $3,
			quarantine_reason = $4, quarantine_until = $5,
			state_changed_at = CASE WHEN state <> 'quarantined' THEN now() ELSE state_changed_at END, updated_at = now()
		WHERE id = $1`, testID, qu.Owner, qu.Source, qu.Reason, qu.Until)
	if err != nil {
		return fmt.Errorf("quarantine test %d: %w", testID, err)
	}
	reason := "quarantined by " + qu.Owner
	if qu.Reason != "" {
		reason += ": " + qu.Reason
	}
	if qu.Until != nil {
		reason += " until " + qu.Until.UTC().Format(time.RFC3339)
	}
	if from != string(triage.TestQuarantined) {
		if err := InsertTestEvents(ctx, q, []TestEvent{{TestID: testID, From: from, To: string(triage.TestQuarantined),
			Reason: reason, Actor: qu.Actor}}); err != nil {
			return err
		}
	}
	details := map[string]any{"owner": qu.Owner, "source": qu.Source, "reason": qu.Reason}
	if qu.Until != nil {
		details["until"] = qu.Until.UTC()
	}
	return Audit(ctx, q, qu.Actor, "test.quarantine", "test", testID, details)
}

// ReleaseQuarantine ends a quarantine by hand: the test goes back to flaky (its
// score decides from there).
func ReleaseQuarantine(ctx context.Context, q Querier, testID int64, actor string) error {
	tag, err := q.Exec(ctx, `UPDATE tests SET state = 'flaky', quarantine_owner = '', quarantine_source = '',
			quarantine_reason = '', quarantine_until = NULL, state_changed_at = now(), updated_at = now()
		WHERE id = $1 AND state = 'quarantined'`, testID)
	if err != nil {
		return fmt.Errorf("release test %d: %w", testID, err)
	}
	if tag.RowsAffected() == 0 {
		return nil
	}
	if err := InsertTestEvents(ctx, q, []TestEvent{{TestID: testID, From: "quarantined", To: "flaky", Reason: "released by hand", Actor: actor}}); err != nil {
		return err
	}
	return Audit(ctx, q, actor, "test.release", "test", testID, nil)
}

// FindTest returns a repository's test by package and name.
func FindTest(ctx context.Context, q Querier, repositoryID int64, pkg, name string) (Test, error) {
	t, err := scanTest(q.QueryRow(ctx, `SELECT `+testColumns+` FROM tests t JOIN repositories r ON r.id = t.repository_id
		WHERE t.repository_id = $1 AND t.package = $2 AND t.name = $3`, repositoryID, pkg, name))
	if err != nil {
		return Test{}, fmt.Errorf("test %s %s: %w", pkg, name, notFound(err))
	}
	return t, nil
}

// ExpireQuarantines ends every quarantine whose expiry has passed: the test
// goes back to flaky (its score decides from there), with an event.
func ExpireQuarantines(ctx context.Context, q Querier, now time.Time) ([]int64, error) {
	rows, err := q.Query(ctx, `UPDATE tests SET state = 'flaky', quarantine_owner = '', quarantine_source = '',
			quarantine_reason = '', quarantine_until = NULL, state_changed_at = now(), updated_at = now()
		WHERE state = 'quarantined' AND quarantine_until IS NOT NULL AND quarantine_until <= $1
		RETURNING id`, now)
	if err != nil {
		return nil, fmt.Errorf("expire quarantines: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("expire quarantines: %w", err)
	}
	evs := make([]TestEvent, len(ids))
	for i, id := range ids {
		evs[i] = TestEvent{TestID: id, From: "quarantined", To: "flaky", Reason: "quarantine expired"}
	}
	return ids, InsertTestEvents(ctx, q, evs)
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
			truncateUTF8(c.Message, maxResultMessage)})
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"test_results"},
		[]string{"run_id", "step_id", "test_id", "attempt", "outcome", "duration_ms", "file", "line", "message"},
		pgx.CopyFromRows(src))
	if err != nil {
		return fmt.Errorf("copy %d test results of step %d: %w", n, stepID, err)
	}
	return nil
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

// CountTests counts a repository's tests in any of states.
func CountTests(ctx context.Context, q Querier, repositoryID int64, states []string) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM tests WHERE repository_id = $1 AND state = ANY($2)`, repositoryID, states).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count tests: %w", err)
	}
	return n, nil
}
