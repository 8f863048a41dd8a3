package store

import (
	"context"
	"fmt"
	"time"
)

// ClusterDetail is everything the cluster page shows.
type ClusterDetail struct {
	Cluster
	Daily          []DayCount // last 30 days, only days with occurrences
	Tests          []NameCount
	Branches       []NameCount
	Representative *Failure // the representative failure (or the newest)
	Runs           []Run    // the newest with a failure in the cluster
	// Messages are the cluster's distinct messages (test, normalised
	// message), the newest failure of each: what a person may split off.
	Messages []Failure
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
	if d.Messages, err = failures(ctx, q, `WHERE f.id IN (SELECT DISTINCT ON (category, COALESCE(normalized_message, fingerprint), COALESCE(identity, ''), test_id) id
			FROM failures WHERE cluster_id = $1 AND $2::bigint = 0
			ORDER BY category, COALESCE(normalized_message, fingerprint), COALESCE(identity, ''), test_id, id DESC)
		ORDER BY f.id DESC LIMIT 20`, id, 0); err != nil {
		return d, err
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

// ClustersDaily returns the occurrences per day since since of each of the
// given clusters (only days with occurrences), in one query through
// failures_cluster_idx: the clusters list draws a trend for each row.
func ClustersDaily(ctx context.Context, q Querier, ids []int64, since time.Time) (map[int64][]DayCount, error) {
	out := make(map[int64][]DayCount, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT cluster_id, date_trunc('day', created_at AT TIME ZONE 'UTC'), count(*) FROM failures
		WHERE cluster_id = ANY($1) AND created_at >= $2 GROUP BY 1, 2 ORDER BY 1, 2`, ids, since)
	if err != nil {
		return nil, fmt.Errorf("clusters daily: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var c DayCount
		if err := rows.Scan(&id, &c.Day, &c.Count); err != nil {
			return nil, fmt.Errorf("clusters daily: %w", err)
		}
		c.Day = time.Date(c.Day.Year(), c.Day.Month(), c.Day.Day(), 0, 0, 0, 0, time.UTC)
		out[id] = append(out[id], c)
	}
	return out, rows.Err()
}
