package app

import (
	"fmt"
	"net/http"
	"time"

	"github.com/sentinel-ci/sentinel/store"
)

type cacheRow struct {
	Scope, Key, Size string
	LastUsedAt       time.Time
	Cleared          bool
}

type cachesView struct {
	page
	Repository string
	Total, Max string
	Caches     []cacheRow
}

// mebibytes spells a size for the caches page.
func mebibytes(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// handleCaches shows a repository's step caches with the button to clear them.
func (s *Server) handleCaches(w http.ResponseWriter, r *http.Request) {
	repo, err := s.cacheRepo(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	entries, err := store.ListCacheEntries(r.Context(), s.DB, repo.ID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := cachesView{page: s.newPage(w, r, "Caches of "+repo.FullName, ""), Repository: repo.FullName, Max: "SENTINEL_CACHE_MAX"}
	if s.Opts.CacheMax > 0 {
		v.Max = mebibytes(s.Opts.CacheMax)
	}
	var total int64
	for _, e := range entries {
		v.Caches = append(v.Caches, cacheRow{Scope: e.Scope, Key: e.Key, Size: mebibytes(e.SizeBytes), LastUsedAt: e.LastUsedAt, Cleared: e.Cleared})
		if !e.Cleared {
			total += e.SizeBytes
		}
	}
	v.Total = mebibytes(total)
	s.render(w, r, http.StatusOK, "caches", v)
}

func (s *Server) handleClearCachesForm(w http.ResponseWriter, r *http.Request) {
	repo, err := s.cacheRepo(r)
	if err == nil {
		actor, _ := s.actor(r, "dashboard")
		err = s.Actions.ClearCaches(r.Context(), repo.ID, actor)
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	redirectBack(w, r, "/repos/"+repo.FullName+"/caches", "Caches cleared: the next runs start on empty ones.")
}
