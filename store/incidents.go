package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/triage"
)

// IssueState is what Sentinel last set an incident's GitHub issue to, in
// GitHub's words (incidents.github_state); "" before the issue exists.
type IssueState string

// Issue states.
const (
	IssueOpen   IssueState = "open"
	IssueClosed IssueState = "closed"
)

// Incident is a row of incidents, with its repository's name and
// installation and its cluster's title.
type Incident struct {
	ID                   int64
	RepositoryID         int64
	Repository           string
	InstallationID       int64
	ClusterID            int64
	ClusterTitle         string
	Kind                 triage.IncidentKind
	Title                string
	Severity             triage.IncidentSeverity
	Status               triage.IncidentStatus
	NeedsHuman           bool
	Impact               map[string]any
	RootCause            string
	FirstBadSHA          string
	LastGoodSHA          string
	IssueNumber          int // GitHub issue, 0 before it is filed
	LastCommentedAt      *time.Time
	OpenedAt             time.Time
	MitigatedAt          *time.Time
	ResolvedAt           *time.Time
	UpdatedAt            time.Time
	Fingerprint          string
	Category             triage.Category
	Confidence           float64
	Occurrences          int
	CleanRuns            int
	LastRunID            int64
	LastOccurrenceAt     *time.Time
	CommentedOccurrences int
	GitHubState          IssueState
	ReopenCount          int
	Resolution           string
	Postmortem           string
	DuplicateOf          int64 // the incident kept when this one's cluster was merged into its; 0 when none
}

const incidentColumns = `i.id, i.repository_id, r.full_name, COALESCE(r.installation_id, 0), COALESCE(i.cluster_id, 0),
	COALESCE(c.title, ''), i.kind, i.title, i.severity, i.status, i.needs_human, i.impact, i.root_cause,
	i.first_bad_sha, i.last_good_sha, COALESCE(i.github_issue_number, 0), i.last_commented_at, i.opened_at,
	i.mitigated_at, i.resolved_at, i.updated_at, i.fingerprint, i.category, i.confidence, i.occurrences,
	i.clean_runs, COALESCE(i.last_run_id, 0), i.last_occurrence_at, i.commented_occurrences, i.github_state,
	i.reopen_count, i.resolution, i.postmortem, COALESCE(i.duplicate_of, 0)`

const incidentFrom = ` FROM incidents i JOIN repositories r ON r.id = i.repository_id LEFT JOIN clusters c ON c.id = i.cluster_id `

func scanIncident(row interface{ Scan(...any) error }) (Incident, error) {
	var in Incident
	var impact []byte
	var conf float32
	err := row.Scan(&in.ID, &in.RepositoryID, &in.Repository, &in.InstallationID, &in.ClusterID,
		&in.ClusterTitle, &in.Kind, &in.Title, &in.Severity, &in.Status, &in.NeedsHuman, &impact, &in.RootCause,
		&in.FirstBadSHA, &in.LastGoodSHA, &in.IssueNumber, &in.LastCommentedAt, &in.OpenedAt,
		&in.MitigatedAt, &in.ResolvedAt, &in.UpdatedAt, &in.Fingerprint, &in.Category, &conf, &in.Occurrences,
		&in.CleanRuns, &in.LastRunID, &in.LastOccurrenceAt, &in.CommentedOccurrences, &in.GitHubState,
		&in.ReopenCount, &in.Resolution, &in.Postmortem, &in.DuplicateOf)
	in.Confidence = float64(conf)
	if err == nil && len(impact) > 0 {
		// An impact that is not an object is shown as nothing rather than
		// failing the page or the job.
		_ = json.Unmarshal(impact, &in.Impact)
	}
	return in, err
}

// queryIncidents reads incidents; tail follows the FROM clause (WHERE,
// ORDER BY, locking) and uses the aliases i (incidents) and r (repositories).
func queryIncidents(ctx context.Context, q Querier, tail string, args ...any) ([]Incident, error) {
	rows, err := q.Query(ctx, `SELECT `+incidentColumns+incidentFrom+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	defer rows.Close()
	var out []Incident
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("incidents: %w", err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// GetIncident returns one incident.
func GetIncident(ctx context.Context, q Querier, id int64) (Incident, error) {
	in, err := scanIncident(q.QueryRow(ctx, `SELECT `+incidentColumns+incidentFrom+`WHERE i.id = $1`, id))
	if err != nil {
		return Incident{}, fmt.Errorf("incident %d: %w", id, notFound(err))
	}
	return in, nil
}

// IncidentFilter selects incidents; zero fields do not filter. Status is
// a triage.IncidentStatus or IncidentsActive. Before is a keyset cursor on id.
type IncidentFilter struct {
	RepositoryID int64
	Status       string
	Severity     triage.IncidentSeverity
	Before       int64
	Limit        int // default 50, at most 200
}

// IncidentsActive is the IncidentFilter status that selects the unresolved
// incidents: open or mitigating.
const IncidentsActive = "active"

// ListIncidents returns incidents newest first.
func ListIncidents(ctx context.Context, q Querier, f IncidentFilter) ([]Incident, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	out, err := queryIncidents(ctx, q, `WHERE ($1 = 0 OR i.repository_id = $1)
			AND CASE WHEN $2 = 'active' THEN i.status <> 'resolved' ELSE ($2 = '' OR i.status = $2) END
			AND ($3 = '' OR i.severity = $3) AND ($4 = 0 OR i.id < $4)
		ORDER BY i.id DESC LIMIT $5`, f.RepositoryID, f.Status, f.Severity, f.Before, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list %w", err)
	}
	return out, nil
}

// OpenIncidentOfCluster returns the id of the cluster's incident that is
// not resolved (there is at most one).
func OpenIncidentOfCluster(ctx context.Context, q Querier, clusterID int64) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM incidents WHERE cluster_id = $1 AND status <> 'resolved'`, clusterID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("open incident of cluster %d: %w", clusterID, notFound(err))
	}
	return id, nil
}

// SetIncidentDuplicate records that an incident is a duplicate of another
// and detaches it from its cluster: the kept incident follows the cluster
// now, and a duplicate must never be reopened as its regression.
func SetIncidentDuplicate(ctx context.Context, q Querier, id, of int64) error {
	if _, err := q.Exec(ctx, `UPDATE incidents SET duplicate_of = $2, cluster_id = NULL, updated_at = now() WHERE id = $1`, id, of); err != nil {
		return fmt.Errorf("incident %d duplicate of %d: %w", id, of, err)
	}
	return nil
}

// LockRepositoryIncidents returns the repository's incidents that are not
// resolved, plus the latest resolved one of each of clusterIDs that has no
// unresolved one (candidates for reopening; a cluster merged into another
// can bring an old resolved incident beside an open one), locked for update.
func LockRepositoryIncidents(ctx context.Context, q Querier, repositoryID int64, clusterIDs []int64) ([]Incident, error) {
	return queryIncidents(ctx, q, `WHERE i.repository_id = $1 AND (i.status <> 'resolved' OR i.id IN (
			SELECT DISTINCT ON (cluster_id) id FROM incidents x WHERE cluster_id = ANY($2) AND status = 'resolved'
				AND NOT EXISTS (SELECT 1 FROM incidents o WHERE o.cluster_id = x.cluster_id AND o.status <> 'resolved')
			ORDER BY cluster_id, id DESC))
		ORDER BY i.id FOR UPDATE OF i`, repositoryID, clusterIDs)
}

// ListUnsyncedIncidents returns incidents whose GitHub issue may lag behind
// (no issue yet, its state differs from the incident's, or occurrences not
// told yet whose last comment is older than commentedBefore), for the sweep.
func ListUnsyncedIncidents(ctx context.Context, q Querier, commentedBefore time.Time, limit int) ([]Incident, error) {
	return queryIncidents(ctx, q, `WHERE r.installation_id IS NOT NULL AND (
			(i.github_issue_number IS NULL AND i.status <> 'resolved')
			OR (i.status = 'resolved' AND i.github_state = 'open')
			OR (i.status <> 'resolved' AND i.github_state = 'closed')
			OR (i.status <> 'resolved' AND i.occurrences > i.commented_occurrences
				AND (i.last_commented_at IS NULL OR i.last_commented_at <= $2)))
		ORDER BY i.id LIMIT $1`, max(limit, 1), commentedBefore)
}

// ListStaleIncidents returns unresolved incidents not seen since before.
func ListStaleIncidents(ctx context.Context, q Querier, before time.Time) ([]Incident, error) {
	return queryIncidents(ctx, q, `WHERE i.status <> 'resolved' AND COALESCE(i.last_occurrence_at, i.opened_at) < $1
		ORDER BY i.id FOR UPDATE OF i`, before)
}

// IncidentsOpenedSince counts a repository's incidents opened since a time.
func IncidentsOpenedSince(ctx context.Context, q Querier, repositoryID int64, since time.Time) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM incidents WHERE repository_id = $1 AND opened_at >= $2`, repositoryID, since).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("incidents opened: %w", err)
	}
	return n, nil
}

// NewIncident is what opening an incident needs.
type NewIncident struct {
	RepositoryID int64
	ClusterID    int64 // 0 for red_branch, widespread and infrastructure incidents
	Kind         triage.IncidentKind
	Title        string
	Severity     triage.IncidentSeverity
	NeedsHuman   bool
	Impact       map[string]any
	RootCause    string
	FirstBadSHA  string
	LastGoodSHA  string
	Fingerprint  string
	Category     triage.Category
	Confidence   float64
	RunID        int64
	At           time.Time
	Actor        string // who opens it, for the audit log; "" is the worker
}

// InsertIncident opens an incident with its "opened" event. created is
// false when an open incident of the same cluster (or kind) exists already.
func InsertIncident(ctx context.Context, q Querier, n NewIncident) (id int64, created bool, err error) {
	if n.Impact == nil {
		n.Impact = map[string]any{}
	}
	err = q.QueryRow(ctx, `INSERT INTO incidents (repository_id, cluster_id, kind, title, severity, needs_human, impact,
			root_cause, first_bad_sha, last_good_sha, fingerprint, category, confidence, occurrences, last_run_id,
			last_occurrence_at, opened_at)
		VALUES ($1, NULLIF($2, 0), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, NULLIF($14, 0), $15, $15)
		ON CONFLICT DO NOTHING RETURNING id`,
		n.RepositoryID, n.ClusterID, n.Kind, triage.ClipBytes(n.Title, 250), n.Severity, n.NeedsHuman, n.Impact, n.RootCause,
		n.FirstBadSHA, n.LastGoodSHA, n.Fingerprint, n.Category, min(max(n.Confidence, 0), 1), n.RunID, n.At).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("open incident: %w", err)
	}
	msg := n.Title // the timeline shows the kind, "opened", before it
	if n.NeedsHuman {
		msg += " (needs a human: the root cause is uncertain)"
	}
	if err := AddIncidentEvent(ctx, q, id, IncidentEventOpened, msg, n.RunID, map[string]any{"severity": n.Severity, "kind": n.Kind}); err != nil {
		return 0, false, err
	}
	actor := n.Actor
	if actor == "" {
		actor = "worker"
	}
	return id, true, Audit(ctx, q, actor, "incident.open", "incident", id, map[string]any{"title": n.Title, "run_id": n.RunID})
}

// RecordIncidentOccurrence counts a run showing the incident's failure.
func RecordIncidentOccurrence(ctx context.Context, q Querier, id, runID int64, at time.Time, impact map[string]any) error {
	_, err := q.Exec(ctx, `UPDATE incidents SET occurrences = occurrences + 1, clean_runs = 0, last_run_id = $2,
			last_occurrence_at = $3, impact = COALESCE($4, impact), updated_at = now() WHERE id = $1`, id, runID, at, impact)
	if err != nil {
		return fmt.Errorf("incident %d occurrence: %w", id, err)
	}
	return AddIncidentEvent(ctx, q, id, IncidentEventOccurrence, fmt.Sprintf("seen again in run %d", runID), runID, nil)
}

// SetIncidentCleanRuns stores the clean-run count without a status change.
func SetIncidentCleanRuns(ctx context.Context, q Querier, id int64, cleanRuns int) error {
	_, err := q.Exec(ctx, `UPDATE incidents SET clean_runs = $2, updated_at = now() WHERE id = $1`, id, cleanRuns)
	if err != nil {
		return fmt.Errorf("incident %d: %w", id, err)
	}
	return nil
}

// SetIncidentIssue stores the GitHub issue number of an incident.
func SetIncidentIssue(ctx context.Context, q Querier, id int64, number int, state IssueState) error {
	_, err := q.Exec(ctx, `UPDATE incidents SET github_issue_number = $2, github_state = $3, updated_at = now() WHERE id = $1`, id, number, state)
	if err != nil {
		return fmt.Errorf("incident %d issue: %w", id, err)
	}
	return nil
}

// SetIncidentGitHubState records what the issue was set to.
func SetIncidentGitHubState(ctx context.Context, q Querier, id int64, state IssueState) error {
	_, err := q.Exec(ctx, `UPDATE incidents SET github_state = $2, updated_at = now() WHERE id = $1`, id, state)
	if err != nil {
		return fmt.Errorf("incident %d issue state: %w", id, err)
	}
	return nil
}

// SetIncidentCommented records that occurrences up to n were told on the issue.
func SetIncidentCommented(ctx context.Context, q Querier, id int64, n int, at time.Time) error {
	_, err := q.Exec(ctx, `UPDATE incidents SET commented_occurrences = GREATEST(commented_occurrences, $2),
		last_commented_at = $3, updated_at = now() WHERE id = $1`, id, n, at)
	if err != nil {
		return fmt.Errorf("incident %d commented: %w", id, err)
	}
	return nil
}

// SetIncidentPostmortem stores the postmortem written at resolution.
func SetIncidentPostmortem(ctx context.Context, q Querier, id int64, text string) error {
	_, err := q.Exec(ctx, `UPDATE incidents SET postmortem = $2, updated_at = now() WHERE id = $1`, id, text)
	if err != nil {
		return fmt.Errorf("incident %d postmortem: %w", id, err)
	}
	return nil
}
