package store

import (
	"context"
	"fmt"
	"time"
)

// ClusterHit is one fingerprint seen in one run.
type ClusterHit struct {
	Fingerprint string
	Category    string
	Title       string // the normalised message
	Occurrences int    // failures with this fingerprint in the run
}

// UpsertClusters creates or updates the repository's clusters for a run's
// fingerprints and returns their ids by fingerprint. With count false (the
// run was analysed before) only the ids are resolved: occurrences and
// run_count are never added twice for one run.
func UpsertClusters(ctx context.Context, q Querier, repositoryID int64, hits []ClusterHit, count bool, at time.Time) (map[string]int64, error) {
	out := make(map[string]int64, len(hits))
	if len(hits) == 0 {
		return out, nil
	}
	n := len(hits)
	fps, cats, titles := make([]string, n), make([]string, n), make([]string, n)
	occ := make([]int32, n)
	for i, h := range hits {
		fps[i], cats[i], titles[i], occ[i] = h.Fingerprint, h.Category, truncateUTF8(h.Title, 1000), int32(h.Occurrences)
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
	for rows.Next() {
		var id int64
		var fp string
		if err := rows.Scan(&id, &fp); err != nil {
			return nil, err
		}
		out[fp] = id
	}
	return out, rows.Err()
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
