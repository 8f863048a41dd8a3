package store

import (
	"context"
	"fmt"
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
	LastRunID        int64
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

const testColumns = `t.id, t.repository_id, r.full_name, t.package, t.name, t.state, t.window_bits, t.window_n,
	t.pass_streak, t.fail_streak, t.last_pass_sha, t.streak_sha, t.streak_prev_pass_sha, t.first_bad_sha,
	t.last_good_sha, t.quarantine_until, t.score, t.failure_rate, t.flip_rate, t.runs, t.episodes,
	t.evidence_runs, t.quarantine_owner, t.quarantine_source, t.quarantine_reason, t.state_changed_at,
	COALESCE(t.last_run_id, 0)`

func scanTest(row interface{ Scan(...any) error }) (Test, error) {
	var t Test
	var state string
	var bits int64
	var until *time.Time
	err := row.Scan(&t.ID, &t.RepositoryID, &t.Repository, &t.Package, &t.Name, &state, &bits, &t.Flaky.Window.N,
		&t.Flaky.PassStreak, &t.Flaky.FailStreak, &t.Flaky.LastPassSHA, &t.Flaky.StreakSHA, &t.Flaky.StreakPrevPassSHA,
		&t.Flaky.FirstBadSHA, &t.Flaky.LastGoodSHA, &until, &t.Score, &t.FailureRate, &t.FlipRate, &t.Runs, &t.Episodes,
		&t.EvidenceRuns, &t.QuarantineOwner, &t.QuarantineSource, &t.QuarantineReason, &t.StateChangedAt, &t.LastRunID)
	t.Flaky.State = triage.TestState(state)
	t.Flaky.Window.Bits = uint64(bits)
	if until != nil {
		t.Flaky.QuarantineUntil = *until
	}
	return t, err
}

// LockTests loads the given tests for update, locking them in id order so
// that concurrent analyses of runs sharing tests cannot deadlock.
func LockTests(ctx context.Context, q Querier, ids []int64) (map[int64]*Test, error) {
	rows, err := q.Query(ctx, `SELECT `+testColumns+` FROM tests t JOIN repositories r ON r.id = t.repository_id
		WHERE t.id = ANY($1) ORDER BY t.id FOR UPDATE OF t`, ids)
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

// SaveTests writes back the flaky state of tests in one statement.
// stateChanged lists the tests whose state changed (their
// state_changed_at becomes now).
func SaveTests(ctx context.Context, q Querier, tests []*Test, stateChanged map[int64]bool) error {
	n := len(tests)
	if n == 0 {
		return nil
	}
	ids, bits := make([]int64, n), make([]int64, n)
	winN, pass, fail, runs, eps := make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n)
	states, lastPass, streak, streakPrev, firstBad, lastGood := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	score, frate, flip := make([]float64, n), make([]float64, n), make([]float64, n)
	until := make([]*time.Time, n)
	changed := make([]bool, n)
	lastRun := make([]int64, n)
	evidence := make([]string, n) // as Postgres array literals: unnest cannot take a 2-D ragged array
	qOwner, qSource, qReason := make([]string, n), make([]string, n), make([]string, n)
	for i, t := range tests {
		f := t.Flaky
		ids[i], bits[i], winN[i], pass[i], fail[i] = t.ID, int64(f.Window.Bits), int32(f.Window.N), int32(f.PassStreak), int32(f.FailStreak)
		states[i], lastPass[i], streak[i], streakPrev[i], firstBad[i], lastGood[i] = string(f.State), f.LastPassSHA, f.StreakSHA, f.StreakPrevPassSHA, f.FirstBadSHA, f.LastGoodSHA
		score[i], frate[i], flip[i], runs[i], eps[i] = t.Score, t.FailureRate, t.FlipRate, int32(t.Runs), int32(t.Episodes)
		if !f.QuarantineUntil.IsZero() {
			u := f.QuarantineUntil
			until[i] = &u
		}
		changed[i] = stateChanged[t.ID]
		lastRun[i] = t.LastRunID
		evidence[i] = int64ArrayLiteral(t.EvidenceRuns)
		if f.State == triage.TestQuarantined {
			qOwner[i], qSource[i], qReason[i] = t.QuarantineOwner, t.QuarantineSource, t.QuarantineReason
		}
	}
	_, err := q.Exec(ctx, `
		UPDATE tests t SET state = u.state, window_bits = u.bits, window_n = u.n, pass_streak = u.pass,
			fail_streak = u.fail, last_pass_sha = u.last_pass, streak_sha = u.streak, streak_prev_pass_sha = u.streak_prev,
			first_bad_sha = u.first_bad, last_good_sha = u.last_good, quarantine_until = u.until, score = u.score,
			failure_rate = u.frate, flip_rate = u.flip, runs = u.runs, episodes = u.eps,
			evidence_runs = u.evidence::bigint[], last_run_id = NULLIF(u.last_run, 0),
			quarantine_owner = u.q_owner, quarantine_source = u.q_source, quarantine_reason = u.q_reason,
			state_changed_at = CASE WHEN u.changed THEN now() ELSE t.state_changed_at END,
			updated_at = now()
		FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::int[], $5::int[], $6::int[], $7::text[], $8::text[],
			$9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::float8[], $14::float8[], $15::float8[],
			$16::int[], $17::int[], $18::text[], $19::bigint[], $20::bool[], $21::text[], $22::text[], $23::text[])
			AS u(id, state, bits, n, pass, fail, last_pass, streak, streak_prev, first_bad, last_good, until, score,
				frate, flip, runs, eps, evidence, last_run, changed, q_owner, q_source, q_reason)
		WHERE t.id = u.id`,
		ids, states, bits, winN, pass, fail, lastPass, streak, streakPrev, firstBad, lastGood, until, score,
		frate, flip, runs, eps, evidence, lastRun, changed, qOwner, qSource, qReason)
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
