package jobs

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
)

// defaultCacheMax is SENTINEL_CACHE_MAX's default: per repository.
const defaultCacheMax = 10 << 30

// evictCaches runs after the run's containers are gone: it records the
// sizes of the caches the run used, removes the caches of cleared
// generations, and then the repository's least recently used caches until
// their total fits CacheMax. A cache still in use by another run is left
// for a later pass. A fork's run used a throwaway copy: nothing to record.
func (ex *execution) evictCaches(ctx context.Context) {
	cs, ok := ex.w.Config.Runtime.(runner.CacheStore)
	if !ok || ex.fork || len(ex.caches) == 0 || ex.cacheScope == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute) // docker system df can be slow
	defer cancel()
	db, repo := ex.w.DB, ex.run.RepositoryID
	sizes, err := cs.CacheSizes(ctx, ex.cacheScope)
	if err != nil {
		ex.log.Warn("measuring caches", "err", err)
		return
	}
	if err := store.TouchCacheEntries(ctx, db, repo, ex.cacheScope, sizes); err != nil {
		ex.log.Warn("recording caches", "err", err)
		return
	}
	entries, err := store.ListCacheEntries(ctx, db, repo)
	if err != nil {
		ex.log.Warn("listing caches", "err", err)
		return
	}
	limit := ex.w.Config.CacheMax
	if limit <= 0 {
		limit = defaultCacheMax
	}
	var total int64
	for _, e := range entries {
		if !e.Cleared {
			total += e.SizeBytes
		}
	}
	for _, e := range entries { // least recently used first
		if !e.Cleared && total <= limit {
			continue
		}
		if err := cs.RemoveCache(ctx, e.Scope, e.Key); err != nil {
			ex.log.Info("cache still in use; evicting it later", "scope", e.Scope, "key", e.Key, "err", err)
			continue
		}
		if err := store.DeleteCacheEntry(ctx, db, repo, e.Scope, e.Key); err != nil {
			ex.log.Warn("forgetting an evicted cache", "err", err)
			return
		}
		if !e.Cleared {
			total -= e.SizeBytes
			ex.log.Info("cache evicted", "scope", e.Scope, "key", e.Key, "bytes", e.SizeBytes)
		}
	}
}

// ClearCaches starts the repository's runs on new, empty caches; the old
// ones are removed by the next run's eviction pass.
func (a *Actions) ClearCaches(ctx context.Context, repositoryID int64, actor string) error {
	return a.DB.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := store.GetRepository(ctx, tx, repositoryID); err != nil {
			return err
		}
		n, err := store.ClearCaches(ctx, tx, repositoryID)
		if err != nil {
			return err
		}
		return store.Audit(ctx, tx, actor, "caches.clear", "repository", repositoryID, map[string]any{"entries": n})
	})
}
