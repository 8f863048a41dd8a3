package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// IncidentEventKind is what an entry of an incident's timeline records.
// The values are stored in incident_events.kind and shown in the API; they
// never change.
type IncidentEventKind string

// Incident event kinds.
const (
	IncidentEventOpened     IncidentEventKind = "opened"     // the incident was opened
	IncidentEventOccurrence IncidentEventKind = "occurrence" // a run showed its failure again
	IncidentEventStatus     IncidentEventKind = "status"     // its status changed, or someone asked for it again
	IncidentEventResolved   IncidentEventKind = "resolved"   // it was resolved
	IncidentEventReopened   IncidentEventKind = "reopened"   // it was resolved and is open again
	IncidentEventGitHub     IncidentEventKind = "github"     // its GitHub issue was filed, commented on, closed or reopened
	IncidentEventBisected   IncidentEventKind = "bisected"   // a bisection named the commit that broke its test (or a range)
)

// IncidentEvent is one entry of an incident's timeline.
type IncidentEvent struct {
	ID        int64
	Kind      IncidentEventKind
	Message   string
	RunID     int64
	Data      map[string]any
	CreatedAt time.Time
}

// AddIncidentEvent appends to an incident's timeline.
func AddIncidentEvent(ctx context.Context, q Querier, incidentID int64, kind IncidentEventKind, message string, runID int64, data map[string]any) error {
	if data == nil {
		data = map[string]any{}
	}
	_, err := q.Exec(ctx, `INSERT INTO incident_events (incident_id, kind, message, run_id, data)
		VALUES ($1, $2, $3, NULLIF($4, 0), $5)`, incidentID, kind, message, runID, data)
	if err != nil {
		return fmt.Errorf("incident %d event: %w", incidentID, err)
	}
	return nil
}

// IncidentEvents returns an incident's timeline, oldest first: all of it,
// or its first limit events when limit > 0.
func IncidentEvents(ctx context.Context, q Querier, id int64, limit int) ([]IncidentEvent, error) {
	if limit <= 0 {
		limit = math.MaxInt32
	}
	rows, err := q.Query(ctx, `SELECT id, kind, message, COALESCE(run_id, 0), data, created_at
		FROM incident_events WHERE incident_id = $1 ORDER BY id LIMIT $2`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("timeline of incident %d: %w", id, err)
	}
	defer rows.Close()
	var out []IncidentEvent
	for rows.Next() {
		var e IncidentEvent
		var data []byte
		if err := rows.Scan(&e.ID, &e.Kind, &e.Message, &e.RunID, &data, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("timeline of incident %d: %w", id, err)
		}
		_ = json.Unmarshal(data, &e.Data)
		out = append(out, e)
	}
	return out, rows.Err()
}

// IncidentRuns returns the runs linked to an incident: those named in its
// timeline and the newest runs with a failure of its cluster.
func IncidentRuns(ctx context.Context, q Querier, id int64) ([]Run, error) {
	out, err := queryRuns(ctx, q, `WHERE r.id IN (
			SELECT run_id FROM incident_events WHERE incident_id = $1 AND run_id IS NOT NULL
			UNION
			(SELECT f.run_id FROM failures f JOIN incidents i ON i.cluster_id = f.cluster_id
				WHERE i.id = $1 ORDER BY f.cluster_id, f.created_at DESC LIMIT 20))
		ORDER BY r.id DESC LIMIT 30`, id)
	if err != nil {
		return nil, fmt.Errorf("incident %d %w", id, err)
	}
	return out, nil
}

// IncidentNotice is an incident event the team is told about (opened,
// resolved, reopened), taken once from the outbox.
type IncidentNotice struct {
	EventID   int64
	Kind      IncidentEventKind
	Message   string
	RunID     int64
	CreatedAt time.Time
}

// TakeIncidentNotices marks the incident's opened, resolved and reopened
// events not yet notified as notified and returns them, oldest first. The
// caller queues their notifications in the same transaction, so an event
// is queued exactly once.
func TakeIncidentNotices(ctx context.Context, q Querier, incidentID int64) ([]IncidentNotice, error) {
	rows, err := q.Query(ctx, `UPDATE incident_events SET notified = true
		WHERE incident_id = $1 AND NOT notified AND kind IN ('opened', 'resolved', 'reopened')
		RETURNING id, kind, message, COALESCE(run_id, 0), created_at`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("notices of incident %d: %w", incidentID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (IncidentNotice, error) {
		var n IncidentNotice
		err := r.Scan(&n.EventID, &n.Kind, &n.Message, &n.RunID, &n.CreatedAt)
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("notices of incident %d: %w", incidentID, err)
	}
	slices.SortFunc(out, func(a, b IncidentNotice) int { return cmp.Compare(a.EventID, b.EventID) })
	return out, nil
}
