package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Cluster is a row of clusters: the failures of one repository that share
// a fingerprint, with its repository's name, its occurrences in a recent
// window and its newest incident.
type Cluster struct {
	ID               int64
	RepositoryID     int64
	Repository       string
	Fingerprint      string
	Category         string
	Title            string
	Occurrences      int
	RunCount         int
	Recent           int // occurrences in the reader's window (7 days by default)
	FirstSeenAt      time.Time
	LastSeenAt       time.Time
	RepresentativeID int64 // a failure that stands for the cluster, 0 when none
	IncidentID       int64 // newest incident of the cluster, 0 when none
	IncidentStatus   string
}

// clusterSelect reads clusters (alias c) with their repository (p) and
// newest incident (i); recentSince is the SQL of the start of the window
// Recent counts.
func clusterSelect(recentSince string) string {
	return `SELECT c.id, c.repository_id, p.full_name, c.fingerprint, c.category, c.title, c.occurrences, c.run_count,
			(SELECT count(*) FROM failures f WHERE f.cluster_id = c.id AND f.created_at >= ` + recentSince + `) AS recent,
			c.first_seen_at, c.last_seen_at, COALESCE(c.representative_id, 0), COALESCE(i.id, 0), COALESCE(i.status, '')
		FROM clusters c JOIN repositories p ON p.id = c.repository_id
		LEFT JOIN LATERAL (SELECT id, status FROM incidents WHERE cluster_id = c.id ORDER BY id DESC LIMIT 1) i ON true`
}

func scanCluster(row interface{ Scan(...any) error }) (Cluster, error) {
	var c Cluster
	err := row.Scan(&c.ID, &c.RepositoryID, &c.Repository, &c.Fingerprint, &c.Category, &c.Title, &c.Occurrences,
		&c.RunCount, &c.Recent, &c.FirstSeenAt, &c.LastSeenAt, &c.RepresentativeID, &c.IncidentID, &c.IncidentStatus)
	return c, err
}

// ClusterFilter selects clusters; zero fields do not filter. Lists are
// ordered by last occurrence, newest first, with (BeforeSeen, BeforeID) as
// the keyset cursor. ByWeek orders by occurrences since Since instead (the
// overview's "top clusters this week"); it takes no cursor.
type ClusterFilter struct {
	RepositoryID int64
	Category     string
	Since        time.Time // window of Recent; zero: 7 days before Now
	Now          time.Time // zero: the database's clock
	BeforeSeen   time.Time
	BeforeID     int64
	ByWeek       bool
	Limit        int // default 50, at most 200
}

// ListClusters returns clusters with their recent occurrence counts and
// linked incident.
func ListClusters(ctx context.Context, q Querier, f ClusterFilter) ([]Cluster, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	if f.Now.IsZero() {
		f.Now = time.Now()
	}
	if f.Since.IsZero() {
		f.Since = f.Now.Add(-7 * 24 * time.Hour)
	}
	base := clusterSelect("$3")
	sql := base + `
		WHERE ($1 = 0 OR c.repository_id = $1) AND ($2 = '' OR c.category = $2)
			AND ($5 = 0 OR (c.last_seen_at, c.id) < ($4, $5))
		ORDER BY c.last_seen_at DESC, c.id DESC LIMIT $6`
	args := []any{f.RepositoryID, f.Category, f.Since, f.BeforeSeen, f.BeforeID, f.Limit}
	if f.ByWeek {
		// Only clusters seen in the window can have occurrences in it.
		sql = `SELECT * FROM (` + base + `
			WHERE ($1 = 0 OR c.repository_id = $1) AND ($2 = '' OR c.category = $2) AND c.last_seen_at >= $3) s
			WHERE s.recent > 0 ORDER BY s.recent DESC, s.last_seen_at DESC LIMIT $4`
		args = []any{f.RepositoryID, f.Category, f.Since, f.Limit}
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	defer rows.Close()
	var out []Cluster
	for rows.Next() {
		c, err := scanCluster(rows)
		if err != nil {
			return nil, fmt.Errorf("list clusters: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DayCount is a number of events on one day.
type DayCount struct {
	Day   time.Time
	Count int
}

// NameCount is a number of events for one name (a test, a branch).
type NameCount struct {
	ID    int64 // the test's id when the name is a test; 0 otherwise
	Name  string
	Count int
}

// ClusterDetail is everything the cluster page shows.
type ClusterDetail struct {
	Cluster
	Daily          []DayCount // last 30 days, only days with occurrences
	Tests          []NameCount
	Branches       []NameCount
	Representative *Failure // the representative failure (or the newest)
	Runs           []Run    // the newest with a failure in the cluster
}

// GetClusterDetail returns one cluster with its occurrences over the last
// 30 days before now, affected tests and branches, an example and recent runs.
func GetClusterDetail(ctx context.Context, q Querier, id int64, now time.Time) (ClusterDetail, error) {
	var d ClusterDetail
	var err error
	d.Cluster, err = scanCluster(q.QueryRow(ctx, clusterSelect(`$2::timestamptz - interval '7 days'`)+` WHERE c.id = $1`, id, now))
	if err != nil {
		return d, fmt.Errorf("cluster %d: %w", id, notFound(err))
	}
	rows, err := q.Query(ctx, `SELECT date_trunc('day', created_at), count(*) FROM failures
		WHERE cluster_id = $1 AND created_at >= $2::timestamptz - interval '30 days' GROUP BY 1 ORDER BY 1`, id, now)
	if err != nil {
		return d, fmt.Errorf("cluster %d daily: %w", id, err)
	}
	for rows.Next() {
		var c DayCount
		if err := rows.Scan(&c.Day, &c.Count); err != nil {
			rows.Close()
			return d, fmt.Errorf("cluster %d daily: %w", id, err)
		}
		d.Daily = append(d.Daily, c)
	}
	rows.Close()
	if d.Tests, err = nameCounts(ctx, q, `SELECT t.id, t.package || '.' || t.name, count(*) FROM failures f JOIN tests t ON t.id = f.test_id
		WHERE f.cluster_id = $1 GROUP BY t.id ORDER BY 3 DESC, 2 LIMIT 20`, id); err != nil {
		return d, err
	}
	if d.Branches, err = nameCounts(ctx, q, `SELECT 0, CASE WHEN r.pr_number IS NOT NULL THEN 'PR #' || r.pr_number ELSE r.branch END, count(*)
		FROM failures f JOIN runs r ON r.id = f.run_id
		WHERE f.cluster_id = $1 GROUP BY 2 ORDER BY 3 DESC, 2 LIMIT 20`, id); err != nil {
		return d, err
	}
	if d.Runs, err = queryRuns(ctx, q, `WHERE r.id IN (SELECT run_id FROM failures WHERE cluster_id = $1)
		ORDER BY r.id DESC LIMIT 20`, id); err != nil {
		return d, fmt.Errorf("cluster %d %w", id, err)
	}
	fs, err := failures(ctx, q, `WHERE f.cluster_id = $1 ORDER BY (f.id = $2) DESC, f.id DESC LIMIT 1`, id, d.RepresentativeID)
	if err != nil {
		return d, err
	}
	if len(fs) > 0 {
		d.Representative = &fs[0]
	}
	return d, nil
}

func nameCounts(ctx context.Context, q Querier, sql string, args ...any) ([]NameCount, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("counts: %w", err)
	}
	defer rows.Close()
	var out []NameCount
	for rows.Next() {
		var n NameCount
		if err := rows.Scan(&n.ID, &n.Name, &n.Count); err != nil {
			return nil, fmt.Errorf("counts: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Failure is a row of failures, with the names of its step and test.
type Failure struct {
	ID          int64
	RunID       int64
	StepID      int64
	StepName    string
	ClusterID   int64
	TestID      int64
	TestName    string
	Category    string
	Title       string
	Message     string
	Fingerprint string
	Confidence  float64
	Evidence    []EvidenceLine
	File        string
	Line        int
	Hint        string
	Remediation string
	Flaky       bool
	Quarantined bool
	CreatedAt   time.Time
}

// EvidenceLine is one evidence line of a failure: its 1-based line in the
// step log (0 when it came from a result file) and text.
type EvidenceLine struct {
	Line int64  `json:"line"`
	Text string `json:"text"`
}

// ParseEvidence reads failures.evidence as triage stores it (objects with a
// line and text) and also the plain-string form older rows may hold.
func ParseEvidence(raw []byte) []EvidenceLine {
	var items []json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &items) != nil {
		return nil
	}
	out := make([]EvidenceLine, 0, len(items))
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) == nil {
			out = append(out, EvidenceLine{Text: s})
			continue
		}
		var e EvidenceLine
		if json.Unmarshal(it, &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

// RunFailures returns a run's failures in order.
func RunFailures(ctx context.Context, q Querier, runID int64) ([]Failure, error) {
	return failures(ctx, q, `WHERE f.run_id = $1 AND $2::bigint = 0 ORDER BY f.id`, runID, int64(0))
}

func failures(ctx context.Context, q Querier, where string, a, b int64) ([]Failure, error) {
	rows, err := q.Query(ctx, `SELECT f.id, f.run_id, COALESCE(f.step_id, 0), COALESCE(s.name, ''), COALESCE(f.cluster_id, 0),
			COALESCE(f.test_id, 0), COALESCE(t.package || '.' || t.name, ''), f.category, f.title, f.message, f.fingerprint,
			f.confidence, f.evidence, f.file, f.line, f.hint, f.remediation, f.flaky, f.quarantined, f.created_at
		FROM failures f LEFT JOIN steps s ON s.id = f.step_id LEFT JOIN tests t ON t.id = f.test_id `+where, a, b)
	if err != nil {
		return nil, fmt.Errorf("failures: %w", err)
	}
	defer rows.Close()
	var out []Failure
	for rows.Next() {
		var f Failure
		var conf float32
		var ev []byte
		if err := rows.Scan(&f.ID, &f.RunID, &f.StepID, &f.StepName, &f.ClusterID, &f.TestID, &f.TestName, &f.Category, &f.Title,
			&f.Message, &f.Fingerprint, &conf, &ev, &f.File, &f.Line, &f.Hint, &f.Remediation, &f.Flaky, &f.Quarantined, &f.CreatedAt); err != nil {
			return nil, fmt.Errorf("failures: %w", err)
		}
		f.Confidence = float64(conf)
		f.Evidence = ParseEvidence(ev)
		out = append(out, f)
	}
	return out, rows.Err()
}
