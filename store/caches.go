package store

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// CacheEntry is one cache of a repository: a scope (generation) and key.
type CacheEntry struct {
	Scope      string
	Key        string
	SizeBytes  int64
	LastUsedAt time.Time
	Cleared    bool // its generation was cleared: to be removed
}

// CacheScope is the scope of a repository's current caches: "r12", then
// "r12g1", "r12g2"… after each clearing.
func CacheScope(ctx context.Context, q Querier, repositoryID int64) (string, error) {
	var gen int
	err := q.QueryRow(ctx, `SELECT COALESCE((SELECT generation FROM repository_caches WHERE repository_id = $1), 0)`, repositoryID).Scan(&gen)
	if err != nil {
		return "", fmt.Errorf("cache scope of repository %d: %w", repositoryID, err)
	}
	scope := "r" + strconv.FormatInt(repositoryID, 10)
	if gen > 0 {
		scope += "g" + strconv.Itoa(gen)
	}
	return scope, nil
}

// ClearCaches starts a new generation of the repository's caches and marks
// the entries of the old ones cleared. It returns how many were marked.
func ClearCaches(ctx context.Context, q Querier, repositoryID int64) (int64, error) {
	_, err := q.Exec(ctx, `INSERT INTO repository_caches (repository_id, generation, cleared_at) VALUES ($1, 1, now())
		ON CONFLICT (repository_id) DO UPDATE SET generation = repository_caches.generation + 1, cleared_at = now()`, repositoryID)
	if err != nil {
		return 0, fmt.Errorf("clear caches of repository %d: %w", repositoryID, err)
	}
	tag, err := q.Exec(ctx, `UPDATE cache_entries SET cleared = true WHERE repository_id = $1 AND NOT cleared`, repositoryID)
	if err != nil {
		return 0, fmt.Errorf("clear caches of repository %d: %w", repositoryID, err)
	}
	return tag.RowsAffected(), nil
}

// TouchCacheEntries records that a run used the scope's caches, with their
// sizes now; one statement, so that caches used together share one time.
func TouchCacheEntries(ctx context.Context, q Querier, repositoryID int64, scope string, sizes map[string]int64) error {
	keys := make([]string, 0, len(sizes))
	bytes := make([]int64, 0, len(sizes))
	for k, n := range sizes {
		keys, bytes = append(keys, k), append(bytes, n)
	}
	_, err := q.Exec(ctx, `INSERT INTO cache_entries (repository_id, scope, key, size_bytes)
		SELECT $1, $2, k, n FROM unnest($3::text[], $4::bigint[]) AS t (k, n)
		ON CONFLICT (repository_id, scope, key) DO UPDATE SET size_bytes = EXCLUDED.size_bytes, last_used_at = now()`,
		repositoryID, scope, keys, bytes)
	if err != nil {
		return fmt.Errorf("cache entries of %s: %w", scope, err)
	}
	return nil
}

// ListCacheEntries lists a repository's cache entries in eviction order:
// least recently used first, the larger first among those used together.
func ListCacheEntries(ctx context.Context, q Querier, repositoryID int64) ([]CacheEntry, error) {
	rows, err := q.Query(ctx, `SELECT scope, key, size_bytes, last_used_at, cleared FROM cache_entries
		WHERE repository_id = $1 ORDER BY last_used_at, size_bytes DESC, scope, key`, repositoryID)
	if err != nil {
		return nil, fmt.Errorf("cache entries of repository %d: %w", repositoryID, err)
	}
	defer rows.Close()
	var out []CacheEntry
	for rows.Next() {
		var e CacheEntry
		if err := rows.Scan(&e.Scope, &e.Key, &e.SizeBytes, &e.LastUsedAt, &e.Cleared); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteCacheEntry forgets an entry whose cache was removed.
func DeleteCacheEntry(ctx context.Context, q Querier, repositoryID int64, scope, key string) error {
	_, err := q.Exec(ctx, `DELETE FROM cache_entries WHERE repository_id = $1 AND scope = $2 AND key = $3`, repositoryID, scope, key)
	if err != nil {
		return fmt.Errorf("delete cache entry %s/%s: %w", scope, key, err)
	}
	return nil
}
