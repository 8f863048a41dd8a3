package store

import (
	"context"
	"fmt"
	"time"

	"github.com/sentinel-ci/sentinel/triage"
)

// ClusterRef is what cluster control and fingerprint resolution need of a
// cluster.
type ClusterRef struct {
	ID           int64
	RepositoryID int64
	Fingerprint  string
	Category     triage.Category
	Pinned       bool // split off by a person: its fingerprint is never widened away
	Muted        bool // opens no incident
}

const clusterRefColumns = `c.id, c.repository_id, c.fingerprint, c.category, c.pinned, c.muted`

func scanClusterRef(row interface{ Scan(...any) error }) (ClusterRef, error) {
	var r ClusterRef
	err := row.Scan(&r.ID, &r.RepositoryID, &r.Fingerprint, &r.Category, &r.Pinned, &r.Muted)
	return r, err
}

// LockCluster returns a cluster, locked for update until the end of q's
// transaction.
func LockCluster(ctx context.Context, q Querier, id int64) (ClusterRef, error) {
	r, err := scanClusterRef(q.QueryRow(ctx, `SELECT `+clusterRefColumns+` FROM clusters c WHERE c.id = $1 FOR UPDATE`, id))
	if err != nil {
		return r, fmt.Errorf("cluster %d: %w", id, notFound(err))
	}
	return r, nil
}

// ClusterRefs returns the given clusters by id.
func ClusterRefs(ctx context.Context, q Querier, ids []int64) (map[int64]ClusterRef, error) {
	out := map[int64]ClusterRef{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT `+clusterRefColumns+` FROM clusters c WHERE c.id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("clusters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanClusterRef(rows)
		if err != nil {
			return nil, fmt.Errorf("clusters: %w", err)
		}
		out[r.ID] = r
	}
	return out, rows.Err()
}

// ResolveFingerprints maps each fingerprint to the cluster it leads to in
// the repository: the cluster that has it, else the one an alias names.
// Fingerprints that lead nowhere are absent.
func ResolveFingerprints(ctx context.Context, q Querier, repositoryID int64, fps []string) (map[string]ClusterRef, error) {
	out := map[string]ClusterRef{}
	if len(fps) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT u.fp, `+clusterRefColumns+` FROM unnest($2::text[]) AS u(fp)
		CROSS JOIN LATERAL (
			SELECT x.* FROM (
				SELECT 0 AS via, c.* FROM clusters c WHERE c.repository_id = $1 AND c.fingerprint = u.fp
				UNION ALL
				SELECT 1, c.* FROM cluster_aliases a JOIN clusters c ON c.id = a.cluster_id
				WHERE a.repository_id = $1 AND a.fingerprint = u.fp) x
			ORDER BY x.via LIMIT 1) c`, repositoryID, fps)
	if err != nil {
		return nil, fmt.Errorf("resolve fingerprints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var fp string
		var r ClusterRef
		if err := rows.Scan(&fp, &r.ID, &r.RepositoryID, &r.Fingerprint, &r.Category, &r.Pinned, &r.Muted); err != nil {
			return nil, fmt.Errorf("resolve fingerprints: %w", err)
		}
		out[fp] = r
	}
	return out, rows.Err()
}

// SetClusterTitle sets the name people gave a cluster; "" restores the
// title of its failures.
func SetClusterTitle(ctx context.Context, q Querier, id int64, title string) error {
	tag, err := q.Exec(ctx, `UPDATE clusters SET custom_title = $2 WHERE id = $1`, id, triage.ClipBytes(title, 1000))
	if err != nil {
		return fmt.Errorf("rename cluster %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("cluster %d: %w", id, ErrNotFound)
	}
	return nil
}

// SetClusterMuted mutes or unmutes a cluster.
func SetClusterMuted(ctx context.Context, q Querier, id int64, muted bool) error {
	tag, err := q.Exec(ctx, `UPDATE clusters SET muted = $2 WHERE id = $1`, id, muted)
	if err != nil {
		return fmt.Errorf("mute cluster %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("cluster %d: %w", id, ErrNotFound)
	}
	return nil
}

// MergeClusterRows moves everything of cluster drop into cluster keep (same
// repository): its failures, its incidents, its aliases and counts; drop's
// fingerprint becomes an alias of keep, and drop is deleted. The caller
// has left at most one unresolved incident between the two.
func MergeClusterRows(ctx context.Context, q Querier, keepID, dropID int64) error {
	stmts := []string{
		`UPDATE failures SET cluster_id = $1 WHERE cluster_id = $2`,
		`UPDATE incidents SET cluster_id = $1 WHERE cluster_id = $2`,
		`UPDATE cluster_aliases SET cluster_id = $1 WHERE cluster_id = $2`,
		`INSERT INTO cluster_aliases (repository_id, fingerprint, cluster_id)
			SELECT repository_id, fingerprint, $1 FROM clusters WHERE id = $2
			ON CONFLICT (repository_id, fingerprint) DO UPDATE SET cluster_id = EXCLUDED.cluster_id`,
		`UPDATE clusters k SET occurrences = k.occurrences + d.occurrences, run_count = k.run_count + d.run_count,
			first_seen_at = LEAST(k.first_seen_at, d.first_seen_at), last_seen_at = GREATEST(k.last_seen_at, d.last_seen_at),
			representative_id = COALESCE(k.representative_id, d.representative_id)
			FROM clusters d WHERE k.id = $1 AND d.id = $2`,
		`DELETE FROM clusters WHERE id = $2 AND id <> $1::bigint`,
	}
	for _, s := range stmts {
		if _, err := q.Exec(ctx, s, keepID, dropID); err != nil {
			return fmt.Errorf("merge cluster %d into %d: %w", dropID, keepID, err)
		}
	}
	return nil
}

// Rekey gives a cluster a new fingerprint (its template widened) and keeps
// the old one as an alias, so both lead to it.
func Rekey(ctx context.Context, q Querier, c ClusterRef, fingerprint string) error {
	if _, err := q.Exec(ctx, `INSERT INTO cluster_aliases (repository_id, fingerprint, cluster_id) VALUES ($1, $2, $3)
		ON CONFLICT (repository_id, fingerprint) DO UPDATE SET cluster_id = EXCLUDED.cluster_id`, c.RepositoryID, c.Fingerprint, c.ID); err != nil {
		return fmt.Errorf("alias of cluster %d: %w", c.ID, err)
	}
	if _, err := q.Exec(ctx, `DELETE FROM cluster_aliases WHERE repository_id = $1 AND fingerprint = $2`, c.RepositoryID, fingerprint); err != nil {
		return fmt.Errorf("alias of cluster %d: %w", c.ID, err)
	}
	if _, err := q.Exec(ctx, `UPDATE clusters SET fingerprint = $2 WHERE id = $1`, c.ID, fingerprint); err != nil {
		return fmt.Errorf("rekey cluster %d: %w", c.ID, err)
	}
	return nil
}

// AliasFingerprint makes a fingerprint lead to a cluster.
func AliasFingerprint(ctx context.Context, q Querier, repositoryID int64, fingerprint string, clusterID int64) error {
	_, err := q.Exec(ctx, `INSERT INTO cluster_aliases (repository_id, fingerprint, cluster_id) VALUES ($1, $2, $3)
		ON CONFLICT (repository_id, fingerprint) DO UPDATE SET cluster_id = EXCLUDED.cluster_id`, repositoryID, fingerprint, clusterID)
	if err != nil {
		return fmt.Errorf("alias %s: %w", fingerprint, err)
	}
	return nil
}

// FailureText is a distinct message of a repository's stored failures, with
// the fingerprint and cluster it has now: what re-fingerprinting reads.
type FailureText struct {
	ClusterID   int64
	Fingerprint string
	Category    triage.Category
	Normalized  string
	Identity    string
}

// RepositoryFailureTexts returns the distinct messages of the repository's
// failures that recorded their normalised message (rows from before it was
// recorded keep their cluster), in a fixed order.
func RepositoryFailureTexts(ctx context.Context, q Querier, repositoryID int64) ([]FailureText, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT f.cluster_id, f.fingerprint, f.category, f.normalized_message, COALESCE(f.identity, '')
		FROM failures f JOIN clusters c ON c.id = f.cluster_id
		WHERE c.repository_id = $1 AND f.normalized_message IS NOT NULL ORDER BY 1, 2, 3, 4, 5`, repositoryID)
	if err != nil {
		return nil, fmt.Errorf("failure texts of repository %d: %w", repositoryID, err)
	}
	defer rows.Close()
	var out []FailureText
	for rows.Next() {
		var t FailureText
		if err := rows.Scan(&t.ClusterID, &t.Fingerprint, &t.Category, &t.Normalized, &t.Identity); err != nil {
			return nil, fmt.Errorf("failure texts of repository %d: %w", repositoryID, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// SetFailureTextFingerprint records the fingerprint a message has now, on
// every failure of the repository with that message and old fingerprint
// (whichever cluster they are in now).
func SetFailureTextFingerprint(ctx context.Context, q Querier, repositoryID int64, t FailureText, fingerprint string) error {
	_, err := q.Exec(ctx, `UPDATE failures SET fingerprint = $6
		WHERE cluster_id IN (SELECT id FROM clusters WHERE repository_id = $1) AND fingerprint = $2 AND category = $3
		AND normalized_message = $4 AND COALESCE(identity, '') = $5`, repositoryID, t.Fingerprint, t.Category, t.Normalized, t.Identity, fingerprint)
	if err != nil {
		return fmt.Errorf("refingerprint failures of cluster %d: %w", t.ClusterID, err)
	}
	return nil
}

// SplitFailures moves out of cluster from the failures with the same
// message as f (category, normalised message and identity; the same
// fingerprint for rows from before messages were recorded) into a new
// pinned cluster keyed by fingerprint, or into the cluster that already
// has it. Its fingerprint stops being an alias of from. It returns the
// cluster the failures are in now.
func SplitFailures(ctx context.Context, q Querier, from ClusterRef, f Failure, fingerprint string, at time.Time) (int64, error) {
	if _, err := q.Exec(ctx, `DELETE FROM cluster_aliases WHERE repository_id = $1 AND fingerprint = $2`, from.RepositoryID, fingerprint); err != nil {
		return 0, fmt.Errorf("split cluster %d: %w", from.ID, err)
	}
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO clusters AS c (repository_id, fingerprint, category, title, pinned, first_seen_at, last_seen_at)
		VALUES ($1, $2, $3, $4, true, $5, $5)
		ON CONFLICT (repository_id, fingerprint) DO UPDATE SET pinned = true RETURNING id`,
		from.RepositoryID, fingerprint, string(f.Category), triage.ClipBytes(f.Title, 1000), at).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("split cluster %d: %w", from.ID, err)
	}
	var n int
	var first, last time.Time
	var runs int
	err = q.QueryRow(ctx, `WITH moved AS (
			UPDATE failures SET cluster_id = $2, fingerprint = $8 WHERE cluster_id = $1 AND category = $3
				AND CASE WHEN $4::text IS NULL THEN normalized_message IS NULL AND fingerprint = $6
					ELSE normalized_message = $4 AND COALESCE(identity, '') = $5 END
			RETURNING run_id, created_at)
		SELECT count(*), count(DISTINCT run_id), COALESCE(min(created_at), $7), COALESCE(max(created_at), $7) FROM moved`,
		from.ID, id, string(f.Category), f.normalizedOrNil(), f.Identity, f.Fingerprint, at, fingerprint).Scan(&n, &runs, &first, &last)
	if err != nil {
		return 0, fmt.Errorf("split cluster %d: %w", from.ID, err)
	}
	if _, err := q.Exec(ctx, `UPDATE clusters SET occurrences = GREATEST(occurrences - $2, 0), run_count = GREATEST(run_count - $3, 0),
			representative_id = NULL WHERE id = $1`, from.ID, n, runs); err != nil {
		return 0, fmt.Errorf("split cluster %d: %w", from.ID, err)
	}
	if _, err := q.Exec(ctx, `UPDATE clusters SET occurrences = occurrences + $2, run_count = run_count + $3,
			first_seen_at = LEAST(first_seen_at, $4), last_seen_at = GREATEST(last_seen_at, $5) WHERE id = $1`, id, n, runs, first, last); err != nil {
		return 0, fmt.Errorf("split cluster %d: %w", from.ID, err)
	}
	// Each keeps a representative failure of its own.
	if _, err := q.Exec(ctx, `UPDATE clusters c SET representative_id = (SELECT max(id) FROM failures WHERE cluster_id = c.id)
		WHERE c.id IN ($1, $2) AND (c.representative_id IS NULL OR NOT EXISTS (
			SELECT 1 FROM failures x WHERE x.id = c.representative_id AND x.cluster_id = c.id))`, from.ID, id); err != nil {
		return 0, fmt.Errorf("split cluster %d: %w", from.ID, err)
	}
	return id, nil
}
