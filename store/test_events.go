package store

import (
	"context"
	"fmt"
	"time"

	"github.com/sentinel-ci/sentinel/triage"
)

// TestEvent is a recorded change of a test's state.
type TestEvent struct {
	TestID    int64
	RunID     int64 // 0 when not caused by a run
	From, To  triage.TestState
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
		tests[i], runs[i], from[i], to[i], reason[i], actor[i] = e.TestID, e.RunID, string(e.From), string(e.To), e.Reason, e.Actor
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
