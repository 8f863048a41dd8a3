package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrInvalidTransition means the subject is not in a state the action
// applies to (resolving a resolved incident, cancelling a finished run).
var ErrInvalidTransition = errors.New("not possible in the current state")

// QuarantineTest puts a test in quarantine for owner until the given time
// (nil: until someone lifts it). A healthy test can be quarantined too: a
// human may know better than the score.
func QuarantineTest(ctx context.Context, q Querier, testID int64, owner string, until *time.Time) error {
	tag, err := q.Exec(ctx, `UPDATE tests SET state = 'quarantined', quarantine_owner = $2, quarantine_until = $3,
			state_changed_at = CASE WHEN state <> 'quarantined' THEN now() ELSE state_changed_at END, updated_at = now()
		WHERE id = $1`, testID, owner, until)
	if err != nil {
		return fmt.Errorf("quarantine test %d: %w", testID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("test %d: %w", testID, ErrNotFound)
	}
	return nil
}

// UnquarantineTest lifts a quarantine. The test goes back to flaky: its
// score decides later whether it has recovered.
func UnquarantineTest(ctx context.Context, q Querier, testID int64) error {
	var state string
	err := q.QueryRow(ctx, `SELECT state FROM tests WHERE id = $1 FOR UPDATE`, testID).Scan(&state)
	if err != nil {
		return fmt.Errorf("test %d: %w", testID, notFound(err))
	}
	if state != "quarantined" {
		return fmt.Errorf("test %d is %s: %w", testID, state, ErrInvalidTransition)
	}
	_, err = q.Exec(ctx, `UPDATE tests SET state = 'flaky', quarantine_owner = '', quarantine_until = NULL,
			state_changed_at = now(), updated_at = now() WHERE id = $1`, testID)
	if err != nil {
		return fmt.Errorf("unquarantine test %d: %w", testID, err)
	}
	return nil
}

// Incident actions a person can take from the dashboard or the API.
const (
	IncidentAcknowledge = "acknowledge" // open → mitigating
	IncidentResolve     = "resolve"     // open | mitigating → resolved
	IncidentReopen      = "reopen"      // resolved → open
)

// TransitionIncident applies a person's action to an incident and appends
// the matching timeline event, in q's transaction. It returns the new status.
func TransitionIncident(ctx context.Context, q Querier, id int64, action, actor, note string) (string, error) {
	var from, to, kind string
	var allowed []string
	switch action {
	case IncidentAcknowledge:
		allowed, to, kind = []string{"open"}, "mitigating", "status"
	case IncidentResolve:
		allowed, to, kind = []string{"open", "mitigating"}, "resolved", "resolved"
	case IncidentReopen:
		allowed, to, kind = []string{"resolved"}, "open", "reopened"
	default:
		return "", fmt.Errorf("unknown incident action %q", action)
	}
	if err := q.QueryRow(ctx, `SELECT status FROM incidents WHERE id = $1 FOR UPDATE`, id).Scan(&from); err != nil {
		return "", fmt.Errorf("incident %d: %w", id, notFound(err))
	}
	ok := false
	for _, s := range allowed {
		ok = ok || s == from
	}
	if !ok {
		return "", fmt.Errorf("incident %d is %s, cannot %s: %w", id, from, action, ErrInvalidTransition)
	}
	_, err := q.Exec(ctx, `UPDATE incidents SET status = $2,
			mitigated_at = CASE WHEN $2 = 'mitigating' THEN now() ELSE mitigated_at END,
			resolved_at = CASE WHEN $2 = 'resolved' THEN now() WHEN $2 = 'open' THEN NULL ELSE resolved_at END,
			updated_at = now()
		WHERE id = $1`, id, to)
	if IsUniqueViolation(err) {
		// One open incident per cluster: a newer one already tracks it.
		return "", fmt.Errorf("incident %d: another open incident tracks the same cluster: %w", id, ErrInvalidTransition)
	}
	if err != nil {
		return "", fmt.Errorf("incident %d %s: %w", id, action, err)
	}
	msg := fmt.Sprintf("%s → %s by %s", from, to, actor)
	if note != "" {
		msg += ": " + note
	}
	if _, err := q.Exec(ctx, `INSERT INTO incident_events (incident_id, kind, message, data) VALUES ($1, $2, $3,
			jsonb_build_object('from', $4::text, 'to', $5::text, 'actor', $6::text))`, id, kind, msg, from, to, actor); err != nil {
		return "", fmt.Errorf("incident %d event: %w", id, err)
	}
	return to, nil
}
