package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

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
	QuarantineSource QuarantineSource
	QuarantineReason string
	StateChangedAt   time.Time
	Recent           []RunOutcome // newest first; read by ListFlakyTests only
	Impact           TestImpact   // read by ListFlakyTests only
	// loaded is the state as read, so that a write-back does not undo a
	// change someone else made meanwhile (a quarantine from the dashboard).
	loaded triage.TestState
	scan   *testScan
}

// State is the test's state.
func (t Test) State() triage.TestState { return t.Flaky.State }

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
	for _, p := range []string{t.QuarantineReason, string(t.QuarantineSource)} {
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

// GetTest returns one test.
func GetTest(ctx context.Context, q Querier, id int64) (Test, error) {
	t, err := scanTest(q.QueryRow(ctx, `SELECT `+testColumns+` FROM tests t JOIN repositories r ON r.id = t.repository_id
		WHERE t.id = $1`, id))
	if err != nil {
		return Test{}, fmt.Errorf("test %d: %w", id, notFound(err))
	}
	return t, nil
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

// TestFilter selects tests for ListTests.
type TestFilter struct {
	RepositoryID int64              // 0: all repositories
	States       []triage.TestState // empty: every state
	Limit        int                // default 1000
}

// ListTests returns tracked tests, most flaky first.
func ListTests(ctx context.Context, q Querier, f TestFilter) ([]Test, error) {
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	rows, err := q.Query(ctx, `SELECT `+testColumns+` FROM tests t JOIN repositories r ON r.id = t.repository_id
		WHERE ($1 = 0 OR t.repository_id = $1) AND (cardinality($2::text[]) = 0 OR t.state = ANY($2))
		ORDER BY (t.state IN ('flaky', 'quarantined', 'broken')) DESC, t.score DESC, t.id LIMIT $3`,
		f.RepositoryID, testStateStrings(f.States), f.Limit)
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

// CountTests counts a repository's tests in any of states.
func CountTests(ctx context.Context, q Querier, repositoryID int64, states []triage.TestState) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM tests WHERE repository_id = $1 AND state = ANY($2)`, repositoryID, testStateStrings(states)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count tests: %w", err)
	}
	return n, nil
}

// RunOutcome sums up a test's results in one run: Passed and Failed are
// both true when a retry changed the outcome (flaky in that run).
type RunOutcome struct {
	RunID  int64
	Passed bool
	Failed bool
}

// TestImpact is what a test's failures cost, over its latest
// ImpactResults results: every failing attempt was retried, re-run or
// investigated.
type TestImpact struct {
	Failures     int           // failing attempts (fail or error)
	RunsAffected int           // runs with at least one failing attempt
	TimeLost     time.Duration // time spent in the failing attempts
}

// ImpactResults is how many of a test's latest results its impact counts.
const ImpactResults = 200

// FlakyFilter selects tests; zero fields do not filter. State "" lists
// the tests that need a look: flaky, quarantined, and suspect ones (healthy
// or recovered, with an intermittent failure in their window). The score
// alone says nothing: a healthy test with no failure scores about 0.6 under
// the prior.
type FlakyFilter struct {
	RepositoryID int64
	State        triage.TestState
	Limit        int // default 100, at most 500
	Recent       int // outcomes per test, default 20
}

// ListFlakyTests returns the flaky, suspect and quarantined tests (or those
// in f.State), each with its recent per-run outcomes and its impact, ranked
// by impact: failing attempts, then time lost, then score. The candidates
// are the f.Limit highest-scoring ones. It takes the pool, not a Querier:
// its last two reads run at once on separate connections.
func ListFlakyTests(ctx context.Context, db *DB, f FlakyFilter) ([]Test, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	if f.Recent <= 0 {
		f.Recent = 20
	}
	rows, err := db.Query(ctx, `SELECT `+testColumns+` FROM tests t JOIN repositories r ON r.id = t.repository_id
		WHERE ($1 = 0 OR t.repository_id = $1)
			AND CASE WHEN $2 = '' THEN (t.state IN ('flaky', 'quarantined') OR (t.state IN ('healthy', 'recovered') AND t.episodes > 0))
				ELSE t.state = $2 END
		ORDER BY t.score DESC, t.id DESC LIMIT $3`, f.RepositoryID, f.State, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list flaky tests: %w", err)
	}
	var out []Test
	index := map[int64]int{}
	var ids []int64
	for rows.Next() {
		t, err := scanTest(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list flaky tests: %w", err)
		}
		index[t.ID] = len(out)
		ids = append(ids, t.ID)
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return out, err
	}
	// The recent outcomes and the impact read the same index for other
	// windows: read them at once, on two connections.
	var g errgroup.Group
	g.Go(func() error { return loadRecent(ctx, db, out, ids, index, f.Recent) })
	g.Go(func() error { return loadImpact(ctx, db, out, ids, index) })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(a, b int) bool {
		x, y := out[a].Impact, out[b].Impact
		if x.Failures != y.Failures {
			return x.Failures > y.Failures
		}
		if x.TimeLost != y.TimeLost {
			return x.TimeLost > y.TimeLost
		}
		return out[a].Score > out[b].Score
	})
	return out, nil
}

// recentOutcomesSQL reads the outcome per run of the latest $2 results of
// each of the tests $1.
const recentOutcomesSQL = `SELECT x.test_id, r.run_id, bool_or(r.outcome = 'pass'), bool_or(r.outcome IN ('fail', 'error'))
	FROM unnest($1::bigint[]) AS x(test_id)
	CROSS JOIN LATERAL (SELECT run_id, outcome FROM test_results WHERE test_id = x.test_id ORDER BY created_at DESC, id DESC LIMIT $2) r
	GROUP BY x.test_id, r.run_id ORDER BY x.test_id, r.run_id DESC`

// impactSQL sums the failures among the latest $2 results of each of the tests $1.
const impactSQL = `SELECT x.test_id, f.n, f.runs, f.ms
	FROM unnest($1::bigint[]) AS x(test_id)
	CROSS JOIN LATERAL (SELECT count(*) AS n, count(DISTINCT w.run_id) AS runs, COALESCE(sum(w.duration_ms), 0) AS ms
		FROM (SELECT run_id, outcome, duration_ms FROM test_results WHERE test_id = x.test_id ORDER BY created_at DESC, id DESC LIMIT $2) w
		WHERE w.outcome IN ('fail', 'error')) f`

// loadRecent fills the Recent outcomes of tests (ids, index into out), at
// most recent runs each, newest first, through test_results_test_recent_idx
// (index-only); a few results per run (retries) collapse into one outcome
// per run.
func loadRecent(ctx context.Context, q Querier, out []Test, ids []int64, index map[int64]int, recent int) error {
	rows, err := q.Query(ctx, recentOutcomesSQL, ids, recent*2)
	if err != nil {
		return fmt.Errorf("flaky test outcomes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var o RunOutcome
		if err := rows.Scan(&id, &o.RunID, &o.Passed, &o.Failed); err != nil {
			return fmt.Errorf("flaky test outcomes: %w", err)
		}
		t := &out[index[id]]
		if len(t.Recent) < recent {
			t.Recent = append(t.Recent, o)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("flaky test outcomes: %w", err)
	}
	return nil
}

// loadImpact fills the Impact of tests (ids, index into out) from each
// test's latest ImpactResults results, through test_results_test_recent_idx (index-only).
func loadImpact(ctx context.Context, q Querier, out []Test, ids []int64, index map[int64]int) error {
	// Each test's window is filtered down to its failing attempts before
	// anything is counted: aggregating (a distinct count sorts) the failing
	// few rather than all ImpactResults took its backend CPU from 10 to 4 ms
	// for 120 tests, the rest being the index scan.
	rows, err := q.Query(ctx, impactSQL, ids, ImpactResults)
	if err != nil {
		return fmt.Errorf("test impact: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, ms int64
		var im TestImpact
		if err := rows.Scan(&id, &im.Failures, &im.RunsAffected, &ms); err != nil {
			return fmt.Errorf("test impact: %w", err)
		}
		im.TimeLost = time.Duration(ms) * time.Millisecond
		out[index[id]].Impact = im
	}
	return rows.Err()
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
			qOwner[i], qSource[i], qReason[i] = t.QuarantineOwner, string(t.QuarantineSource), t.QuarantineReason
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

// testStateStrings is states as the text[] a query parameter needs. No
// states is an empty array, never NULL: cardinality(NULL) is NULL, not 0, and
// would make "no filter" match nothing.
func testStateStrings(states []triage.TestState) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}
