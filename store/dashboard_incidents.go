package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// IncidentView is an incident as the dashboard shows it.
type IncidentView struct {
	ID                int64
	RepositoryID      int64
	Repository        string
	ClusterID         int64
	ClusterTitle      string
	Kind              string
	Title             string
	Severity          string
	Status            string
	NeedsHuman        bool
	Impact            map[string]any
	RootCause         string
	FirstBadSHA       string
	LastGoodSHA       string
	GitHubIssueNumber int
	OpenedAt          time.Time
	MitigatedAt       *time.Time
	ResolvedAt        *time.Time
	UpdatedAt         time.Time
	Category          string
	Confidence        float64
	Occurrences       int
	ReopenCount       int
	Resolution        string
	Postmortem        string
}

// IncidentEvent is one entry of an incident's timeline.
type IncidentEvent struct {
	ID        int64
	Kind      string
	Message   string
	RunID     int64
	Data      map[string]any
	CreatedAt time.Time
}

// IncidentFilter selects incidents; zero fields do not filter. Status
// "active" means open or mitigating. Before is a keyset cursor on id.
type IncidentFilter struct {
	RepositoryID int64
	Status       string
	Severity     string
	Before       int64
	Limit        int // default 50, at most 200
}

const incidentColumns = `i.id, i.repository_id, p.full_name, COALESCE(i.cluster_id, 0), COALESCE(c.title, ''), i.kind, i.title,
	i.severity, i.status, i.needs_human, i.impact, i.root_cause, i.first_bad_sha, i.last_good_sha,
	COALESCE(i.github_issue_number, 0), i.opened_at, i.mitigated_at, i.resolved_at, i.updated_at,
	i.category, i.confidence, i.occurrences, i.reopen_count, i.resolution, i.postmortem`

const incidentFrom = ` FROM incidents i JOIN repositories p ON p.id = i.repository_id LEFT JOIN clusters c ON c.id = i.cluster_id `

func scanIncident(row interface{ Scan(...any) error }) (IncidentView, error) {
	var i IncidentView
	var impact []byte
	var conf float32
	err := row.Scan(&i.ID, &i.RepositoryID, &i.Repository, &i.ClusterID, &i.ClusterTitle, &i.Kind, &i.Title, &i.Severity,
		&i.Status, &i.NeedsHuman, &impact, &i.RootCause, &i.FirstBadSHA, &i.LastGoodSHA, &i.GitHubIssueNumber,
		&i.OpenedAt, &i.MitigatedAt, &i.ResolvedAt, &i.UpdatedAt,
		&i.Category, &conf, &i.Occurrences, &i.ReopenCount, &i.Resolution, &i.Postmortem)
	i.Confidence = float64(conf)
	if err == nil && len(impact) > 0 {
		// An impact that is not an object is shown as nothing rather than
		// breaking the page.
		_ = json.Unmarshal(impact, &i.Impact)
	}
	return i, err
}

// ListIncidents returns incidents newest first.
func ListIncidents(ctx context.Context, q Querier, f IncidentFilter) ([]IncidentView, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	rows, err := q.Query(ctx, `SELECT `+incidentColumns+incidentFrom+`
		WHERE ($1 = 0 OR i.repository_id = $1)
			AND CASE WHEN $2 = 'active' THEN i.status <> 'resolved' ELSE ($2 = '' OR i.status = $2) END
			AND ($3 = '' OR i.severity = $3) AND ($4 = 0 OR i.id < $4)
		ORDER BY i.id DESC LIMIT $5`, f.RepositoryID, f.Status, f.Severity, f.Before, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	defer rows.Close()
	var out []IncidentView
	for rows.Next() {
		i, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// GetIncident returns one incident.
func GetIncident(ctx context.Context, q Querier, id int64) (IncidentView, error) {
	i, err := scanIncident(q.QueryRow(ctx, `SELECT `+incidentColumns+incidentFrom+` WHERE i.id = $1`, id))
	if err != nil {
		return IncidentView{}, fmt.Errorf("incident %d: %w", id, notFound(err))
	}
	return i, nil
}

// IncidentTimeline returns an incident's events, oldest first.
func IncidentTimeline(ctx context.Context, q Querier, id int64) ([]IncidentEvent, error) {
	rows, err := q.Query(ctx, `SELECT id, kind, message, COALESCE(run_id, 0), data, created_at
		FROM incident_events WHERE incident_id = $1 ORDER BY id LIMIT 1000`, id)
	if err != nil {
		return nil, fmt.Errorf("incident %d timeline: %w", id, err)
	}
	defer rows.Close()
	var out []IncidentEvent
	for rows.Next() {
		var e IncidentEvent
		var data []byte
		if err := rows.Scan(&e.ID, &e.Kind, &e.Message, &e.RunID, &data, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("incident %d timeline: %w", id, err)
		}
		_ = json.Unmarshal(data, &e.Data)
		out = append(out, e)
	}
	return out, rows.Err()
}

// IncidentRuns returns the runs linked to an incident: those named in its
// timeline and the newest runs with a failure of its cluster.
func IncidentRuns(ctx context.Context, q Querier, id int64) ([]ClusterRun, error) {
	rows, err := q.Query(ctx, `SELECT r.id, r.sha, r.branch, COALESCE(r.pr_number, 0), r.state, r.created_at FROM runs r
		WHERE r.id IN (
			SELECT run_id FROM incident_events WHERE incident_id = $1 AND run_id IS NOT NULL
			UNION
			(SELECT f.run_id FROM failures f JOIN incidents i ON i.cluster_id = f.cluster_id
				WHERE i.id = $1 ORDER BY f.cluster_id, f.created_at DESC LIMIT 20))
		ORDER BY r.id DESC LIMIT 30`, id)
	if err != nil {
		return nil, fmt.Errorf("incident %d runs: %w", id, err)
	}
	defer rows.Close()
	var out []ClusterRun
	for rows.Next() {
		var r ClusterRun
		if err := rows.Scan(&r.RunID, &r.SHA, &r.Branch, &r.PRNumber, &r.State, &r.CreatedAt); err != nil {
			return nil, fmt.Errorf("incident %d runs: %w", id, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
