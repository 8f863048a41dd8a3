package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/triage"
)

// QuarantineSource is where a quarantine was set. The values are stored in
// tests.quarantine_source and shown on the flaky page and in the API; they
// never change.
type QuarantineSource string

// Quarantine sources.
const (
	QuarantineByDashboard QuarantineSource = "dashboard" // the flaky page's form
	QuarantineByButton    QuarantineSource = "button"    // a check run's button
	QuarantineByConfig    QuarantineSource = "config"    // the repository's .sentinel.yml
	QuarantineByAPI       QuarantineSource = "api"       // POST /api/flaky/{id}/quarantine
	QuarantineByPolicy    QuarantineSource = "policy"    // flaky: {auto_quarantine: true}, on confirmation
)

// Quarantine says who quarantines a test, until when and why.
type Quarantine struct {
	Owner  string
	Source QuarantineSource
	Reason string     // shown in the test's history
	Until  *time.Time // nil: until it recovers or is released
	Actor  string     // for the audit log and the event
}

// SetQuarantine puts a test in quarantine (or updates its quarantine),
// recording the change and an audit entry.
func SetQuarantine(ctx context.Context, q Querier, testID int64, qu Quarantine) error {
	var from triage.TestState
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
	if from != triage.TestQuarantined {
		if err := InsertTestEvents(ctx, q, []TestEvent{{TestID: testID, From: from, To: triage.TestQuarantined,
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
	if err := InsertTestEvents(ctx, q, []TestEvent{{TestID: testID, From: triage.TestQuarantined, To: triage.TestFlaky, Reason: "released by hand", Actor: actor}}); err != nil {
		return err
	}
	return Audit(ctx, q, actor, "test.release", "test", testID, nil)
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
		evs[i] = TestEvent{TestID: id, From: triage.TestQuarantined, To: triage.TestFlaky, Reason: "quarantine expired"}
	}
	return ids, InsertTestEvents(ctx, q, evs)
}
