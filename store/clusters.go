package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sentinel-ci/sentinel/triage"
)

// Cluster is a row of clusters: the failures of one repository that share
// a fingerprint, with its repository's name, its occurrences in a recent
// window and its newest incident.
type Cluster struct {
	ID               int64
	RepositoryID     int64
	Repository       string
	Fingerprint      string
	Category         triage.Category
	Title            string // the normalised message it is keyed by: <n>, <path>… in place of what varies
	Occurrences      int
	RunCount         int
	Recent           int // occurrences in the reader's window (7 days by default)
	FirstSeenAt      time.Time
	LastSeenAt       time.Time
	RepresentativeID int64 // a failure that stands for the cluster, 0 when none
	IncidentID       int64 // newest incident of the cluster, 0 when none
	IncidentStatus   triage.IncidentStatus
	CustomTitle      string // the name a person gave it, shown as its Headline; "" when none
	Muted            bool   // opens no incident
	Pinned           bool   // split off by a person
	// ExampleTitle and ExampleMessage are the representative failure's
	// readable title and raw message ("" when it has none): what the
	// dashboard shows, since Title is normalised text.
	ExampleTitle   string
	ExampleMessage string
}

// Headline is what a person reads as the cluster's name: the name a person
// gave it, else its representative failure's title, else the normalised
// message it was keyed by.
func (c Cluster) Headline() string {
	switch {
	case c.CustomTitle != "":
		return c.CustomTitle
	case c.ExampleTitle != "":
		return c.ExampleTitle
	}
	return c.Title
}

// ExampleLine is the first line of the representative failure's raw
// message, clipped; "" when it has none.
func (c Cluster) ExampleLine() string {
	return triage.Clip(strings.TrimSpace(triage.FirstLine(c.ExampleMessage)), 200)
}

// Example is ExampleLine, or "" when the headline already says it.
func (c Cluster) Example() string {
	m := c.ExampleLine()
	if m == "" || strings.Contains(c.Headline(), m) {
		return ""
	}
	return m
}

// clusterSelect reads clusters (alias c) with their repository (p) and
// newest incident (i); recentSince is the SQL of the start of the window
// Recent counts.
func clusterSelect(recentSince string) string {
	return `SELECT c.id, c.repository_id, p.full_name, c.fingerprint, c.category, c.title,
			c.occurrences, c.run_count,
			(SELECT count(*) FROM failures f WHERE f.cluster_id = c.id AND f.created_at >= ` + recentSince + `) AS recent,
			c.first_seen_at, c.last_seen_at, COALESCE(c.representative_id, 0), COALESCE(i.id, 0), COALESCE(i.status, ''),
			c.custom_title, c.muted, c.pinned, COALESCE(rf.title, ''), COALESCE(rf.message, '')
		FROM clusters c JOIN repositories p ON p.id = c.repository_id
		LEFT JOIN failures rf ON rf.id = c.representative_id
		LEFT JOIN LATERAL (SELECT id, status FROM incidents WHERE cluster_id = c.id ORDER BY id DESC LIMIT 1) i ON true`
}

func scanCluster(row interface{ Scan(...any) error }) (Cluster, error) {
	var c Cluster
	err := row.Scan(&c.ID, &c.RepositoryID, &c.Repository, &c.Fingerprint, &c.Category, &c.Title, &c.Occurrences,
		&c.RunCount, &c.Recent, &c.FirstSeenAt, &c.LastSeenAt, &c.RepresentativeID, &c.IncidentID, &c.IncidentStatus,
		&c.CustomTitle, &c.Muted, &c.Pinned, &c.ExampleTitle, &c.ExampleMessage)
	return c, err
}

// ClusterFilter selects clusters; zero fields do not filter. Lists are
// ordered by last occurrence, newest first, with (BeforeSeen, BeforeID) as
// the keyset cursor. ByWeek orders by occurrences since Since instead (the
// overview's "top clusters this week"); it takes no cursor.
type ClusterFilter struct {
	RepositoryID int64
	Category     triage.Category
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

// ClusterHit is one fingerprint seen in one run.
type ClusterHit struct {
	Fingerprint string
	Category    triage.Category
	Title       string // the normalised message
	Occurrences int    // failures with this fingerprint in the run
}

// UpsertClusters creates or updates the repository's clusters for a run's
// fingerprints and returns their ids by fingerprint. A fingerprint that is
// an alias (its cluster was merged into another) counts for the cluster it
// leads to. With count false (the run was analysed before) only the ids are
// resolved: occurrences and run_count are never added twice for one run.
func UpsertClusters(ctx context.Context, q Querier, repositoryID int64, hits []ClusterHit, count bool, at time.Time) (map[string]int64, error) {
	out := make(map[string]int64, len(hits))
	if len(hits) == 0 {
		return out, nil
	}
	asked := make([]string, len(hits))
	for i, h := range hits {
		asked[i] = h.Fingerprint
	}
	refs, err := ResolveFingerprints(ctx, q, repositoryID, asked)
	if err != nil {
		return nil, err
	}
	// Hits that lead to one cluster are one row of the upsert.
	canonical := make(map[string]string, len(hits))
	var merged []ClusterHit
	index := map[string]int{}
	for _, h := range hits {
		fp := h.Fingerprint
		if r, ok := refs[fp]; ok {
			fp = r.Fingerprint
		}
		canonical[h.Fingerprint] = fp
		if i, ok := index[fp]; ok {
			merged[i].Occurrences += h.Occurrences
			continue
		}
		index[fp] = len(merged)
		h.Fingerprint = fp
		merged = append(merged, h)
	}
	hits = merged
	n := len(hits)
	fps, cats, titles := make([]string, n), make([]string, n), make([]string, n)
	occ := make([]int32, n)
	for i, h := range hits {
		fps[i], cats[i], titles[i], occ[i] = h.Fingerprint, string(h.Category), triage.ClipBytes(h.Title, 1000), int32(h.Occurrences)
	}
	inc := int32(0)
	if count {
		inc = 1
	}
	rows, err := q.Query(ctx, `
		INSERT INTO clusters AS c (repository_id, fingerprint, category, title, occurrences, run_count, first_seen_at, last_seen_at)
		SELECT $1, fp, cat, title, occ * $5, $5, $6, $6
		FROM unnest($2::text[], $3::text[], $4::text[], $7::int[]) AS u(fp, cat, title, occ)
		ON CONFLICT (repository_id, fingerprint) DO UPDATE SET
			occurrences = c.occurrences + EXCLUDED.occurrences,
			run_count = c.run_count + EXCLUDED.run_count,
			last_seen_at = CASE WHEN $5 = 1 THEN GREATEST(c.last_seen_at, EXCLUDED.last_seen_at) ELSE c.last_seen_at END
		RETURNING id, fingerprint`, repositoryID, fps, cats, titles, inc, at, occ)
	if err != nil {
		return nil, fmt.Errorf("upsert %d clusters: %w", n, err)
	}
	defer rows.Close()
	byFP := map[string]int64{}
	for rows.Next() {
		var id int64
		var fp string
		if err := rows.Scan(&id, &fp); err != nil {
			return nil, err
		}
		byFP[fp] = id
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for asked, fp := range canonical {
		out[asked] = byFP[fp]
	}
	return out, nil
}

// SetClusterRepresentatives gives each cluster hit by the run a
// representative failure when it has none (or its failure is gone).
func SetClusterRepresentatives(ctx context.Context, q Querier, runID int64) error {
	_, err := q.Exec(ctx, `UPDATE clusters c SET representative_id = f.id
		FROM (SELECT DISTINCT ON (cluster_id) cluster_id, id FROM failures
			WHERE run_id = $1 AND cluster_id IS NOT NULL ORDER BY cluster_id, id) f
		WHERE c.id = f.cluster_id AND (c.representative_id IS NULL
			OR NOT EXISTS (SELECT 1 FROM failures x WHERE x.id = c.representative_id))`, runID)
	if err != nil {
		return fmt.Errorf("cluster representatives of run %d: %w", runID, err)
	}
	return nil
}

// ClusterRunsSince counts, per cluster, the distinct runs on branch since a
// time that had a failure in it (flaky failures left out).
func ClusterRunsSince(ctx context.Context, q Querier, repositoryID int64, branch string, since time.Time, clusterIDs []int64) (map[int64]int, error) {
	rows, err := q.Query(ctx, `SELECT f.cluster_id, count(DISTINCT f.run_id) FROM failures f JOIN runs r ON r.id = f.run_id
		WHERE f.cluster_id = ANY($1) AND r.repository_id = $2 AND r.branch = $3 AND f.created_at >= $4 AND NOT f.flaky
		GROUP BY f.cluster_id`, clusterIDs, repositoryID, branch, since)
	if err != nil {
		return nil, fmt.Errorf("cluster runs: %w", err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// ClusterImpact is what a cluster's failures have touched so far.
func ClusterImpact(ctx context.Context, q Querier, clusterID int64, now time.Time) (map[string]any, error) {
	var runs, branches, prs, tests int
	var first, last time.Time
	err := q.QueryRow(ctx, `SELECT count(DISTINCT f.run_id), count(DISTINCT r.branch), count(DISTINCT r.pr_number),
			count(DISTINCT f.test_id), COALESCE(min(f.created_at), $2), COALESCE(max(f.created_at), $2)
		FROM failures f JOIN runs r ON r.id = f.run_id WHERE f.cluster_id = $1`, clusterID, now).Scan(
		&runs, &branches, &prs, &tests, &first, &last)
	if err != nil {
		return nil, fmt.Errorf("impact of cluster %d: %w", clusterID, err)
	}
	return map[string]any{"runs": runs, "branches": branches, "pull_requests": prs, "tests": tests,
		"first_seen": first.UTC(), "last_seen": last.UTC(), "duration_seconds": int64(now.Sub(first).Seconds())}, nil
}

// ClusterCommits returns the first commit on branch where the cluster
// appeared (since its last absence) and the last commit before it whose run
// did not show it.
func ClusterCommits(ctx context.Context, q Querier, repositoryID, clusterID int64, branch string) (firstBad, lastGood string, err error) {
	err = q.QueryRow(ctx, `WITH hist AS (
			SELECT r.id, r.sha, EXISTS (SELECT 1 FROM failures f WHERE f.run_id = r.id AND f.cluster_id = $2) AS bad
			FROM runs r WHERE r.repository_id = $1 AND r.branch = $3
				AND r.state IN ('succeeded', 'failed', 'timed_out', 'errored')
			ORDER BY r.id DESC LIMIT 200),
		good AS (SELECT max(id) AS id FROM hist WHERE NOT bad)
		SELECT COALESCE((SELECT sha FROM hist WHERE bad AND id > COALESCE((SELECT id FROM good), 0) ORDER BY id LIMIT 1), ''),
			COALESCE((SELECT h.sha FROM hist h, good g WHERE h.id = g.id), '')`, repositoryID, clusterID, branch).Scan(&firstBad, &lastGood)
	if err != nil {
		return "", "", fmt.Errorf("commits of cluster %d: %w", clusterID, err)
	}
	return firstBad, lastGood, nil
}
