package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sentinel-ci/sentinel/triage"
)

// ErrInvalidTransition means the subject is not in a state the action
// applies to (resolving a resolved incident, cancelling a finished run).
var ErrInvalidTransition = errors.New("not possible in the current state")

// IncidentAction is what a person can do to an incident from the dashboard
// or the API; the values are the last part of the action's URL.
type IncidentAction string

// Incident actions.
const (
	IncidentAcknowledge IncidentAction = "acknowledge" // open → mitigating
	IncidentResolve     IncidentAction = "resolve"     // open | mitigating → resolved
	IncidentReopen      IncidentAction = "reopen"      // resolved → open
)

// IncidentActions lists every incident action.
var IncidentActions = []IncidentAction{IncidentAcknowledge, IncidentResolve, IncidentReopen}

// TransitionIncident applies a person's action to an incident in q's
// transaction, through SetIncidentStatus (timeline event and audit entry
// included), and returns the new status.
func TransitionIncident(ctx context.Context, q Querier, id int64, action IncidentAction, actor, note string, now time.Time) (triage.IncidentStatus, error) {
	var to triage.IncidentStatus
	var allowed []triage.IncidentStatus
	switch action {
	case IncidentAcknowledge:
		allowed, to = []triage.IncidentStatus{triage.IncidentOpen}, triage.IncidentMitigating
	case IncidentResolve:
		allowed, to = []triage.IncidentStatus{triage.IncidentOpen, triage.IncidentMitigating}, triage.IncidentResolved
	case IncidentReopen:
		allowed, to = []triage.IncidentStatus{triage.IncidentResolved}, triage.IncidentOpen
	default:
		return "", fmt.Errorf("unknown incident action %q", action)
	}
	var from triage.IncidentStatus
	var cleanRuns int
	if err := q.QueryRow(ctx, `SELECT status, clean_runs FROM incidents WHERE id = $1 FOR UPDATE`, id).Scan(&from, &cleanRuns); err != nil {
		return "", fmt.Errorf("incident %d: %w", id, notFound(err))
	}
	if !slices.Contains(allowed, from) {
		return "", fmt.Errorf("incident %d is %s, cannot %s: %w", id, from, action, ErrInvalidTransition)
	}
	if to == triage.IncidentOpen {
		cleanRuns = 0
	}
	reason := map[IncidentAction]string{IncidentAcknowledge: "acknowledged", IncidentResolve: "resolved", IncidentReopen: "reopened"}[action] + " by " + actor
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
func SetIncidentStatus(ctx context.Context, q Querier, id int64, from, to triage.IncidentStatus, cleanRuns int, reason, actor string, runID int64, at time.Time) error {
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
	kind := IncidentEventStatus
	switch {
	case to == triage.IncidentResolved:
		kind = IncidentEventResolved
	case from == triage.IncidentResolved:
		kind = IncidentEventReopened
	}
	if err := AddIncidentEvent(ctx, q, id, kind, reason, runID, map[string]any{"from": from, "to": to, "actor": actor}); err != nil {
		return err
	}
	return Audit(ctx, q, actor, "incident."+string(kind), "incident", id, map[string]any{"from": from, "to": to, "reason": reason})
}
