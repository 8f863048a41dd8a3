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

// Incident actions a person can take from the dashboard or the API.
const (
	IncidentAcknowledge = "acknowledge" // open → mitigating
	IncidentResolve     = "resolve"     // open | mitigating → resolved
	IncidentReopen      = "reopen"      // resolved → open
)

// TransitionIncident applies a person's action to an incident in q's
// transaction, through SetIncidentStatus (timeline event and audit entry
// included), and returns the new status.
func TransitionIncident(ctx context.Context, q Querier, id int64, action, actor, note string, now time.Time) (string, error) {
	var to string
	var allowed []string
	switch action {
	case IncidentAcknowledge:
		allowed, to = []string{"open"}, "mitigating"
	case IncidentResolve:
		allowed, to = []string{"open", "mitigating"}, "resolved"
	case IncidentReopen:
		allowed, to = []string{"resolved"}, "open"
	default:
		return "", fmt.Errorf("unknown incident action %q", action)
	}
	var from string
	var cleanRuns int
	if err := q.QueryRow(ctx, `SELECT status, clean_runs FROM incidents WHERE id = $1 FOR UPDATE`, id).Scan(&from, &cleanRuns); err != nil {
		return "", fmt.Errorf("incident %d: %w", id, notFound(err))
	}
	ok := false
	for _, s := range allowed {
		ok = ok || s == from
	}
	if !ok {
		return "", fmt.Errorf("incident %d is %s, cannot %s: %w", id, from, action, ErrInvalidTransition)
	}
	if to == "open" {
		cleanRuns = 0
	}
	reason := map[string]string{IncidentAcknowledge: "acknowledged", IncidentResolve: "resolved", IncidentReopen: "reopened"}[action] + " by " + actor
	if note != "" {
		reason += ": " + note
	}
	err := SetIncidentStatus(ctx, q, id, from, to, cleanRuns, reason, actor, 0, now)
	if IsUniqueViolation(err) {
		// One open incident per cluster: a newer one already tracks it.
		return "", fmt.Errorf("incident %d: another open incident tracks the same failure: %w", id, ErrInvalidTransition)
	}
	if err != nil {
		return "", err
	}
	return to, nil
}

// SetIncidentStatus moves an incident, with the timeline event and audit
// entry the change needs. cleanRuns is stored as given.
func SetIncidentStatus(ctx context.Context, q Querier, id int64, from, to string, cleanRuns int, reason, actor string, runID int64, at time.Time) error {
	_, err := q.Exec(ctx, `UPDATE incidents SET status = $2, clean_runs = $3,
			mitigated_at = CASE WHEN $2 = 'mitigating' THEN $4 ELSE mitigated_at END,
			resolved_at = CASE WHEN $2 = 'resolved' THEN $4 WHEN $2 = 'open' THEN NULL ELSE resolved_at END,
			resolution = CASE WHEN $2 = 'resolved' THEN $5 ELSE resolution END,
			reopen_count = reopen_count + CASE WHEN $6 = 'resolved' AND $2 <> 'resolved' THEN 1 ELSE 0 END,
			updated_at = now()
		WHERE id = $1`, id, to, cleanRuns, at, reason, from)
	if err != nil {
		return fmt.Errorf("incident %d %s → %s: %w", id, from, to, err)
	}
	if from == to {
		return nil
	}
	kind := "status"
	switch {
	case to == "resolved":
		kind = "resolved"
	case from == "resolved":
		kind = "reopened"
	}
	if err := AddIncidentEvent(ctx, q, id, kind, reason, runID, map[string]any{"from": from, "to": to, "actor": actor}); err != nil {
		return err
	}
	return Audit(ctx, q, actor, "incident."+kind, "incident", id, map[string]any{"from": from, "to": to, "reason": reason})
}
