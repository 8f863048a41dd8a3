package app

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sentinel-ci/sentinel/store"
)

type apiCache struct {
	Scope      string    `json:"scope"`
	Key        string    `json:"key"`
	SizeBytes  int64     `json:"size_bytes"`
	LastUsedAt time.Time `json:"last_used_at"`
	Cleared    bool      `json:"cleared"`
}

func (s *Server) cacheRepo(r *http.Request) (store.Repository, error) {
	return store.RepositoryByName(r.Context(), s.DB, chi.URLParam(r, "owner")+"/"+chi.URLParam(r, "repo"))
}

// apiListCaches lists a repository's step caches with their sizes, in
// eviction order (least recently used first).
func (s *Server) apiListCaches(w http.ResponseWriter, r *http.Request) {
	repo, err := s.cacheRepo(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	entries, err := store.ListCacheEntries(r.Context(), s.DB, repo.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]apiCache, 0, len(entries))
	var total int64
	for _, e := range entries {
		out = append(out, apiCache{Scope: e.Scope, Key: e.Key, SizeBytes: e.SizeBytes, LastUsedAt: e.LastUsedAt, Cleared: e.Cleared})
		if !e.Cleared {
			total += e.SizeBytes
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"caches": out, "total_bytes": total})
}

// apiClearCaches starts the repository's next runs on empty caches.
func (s *Server) apiClearCaches(w http.ResponseWriter, r *http.Request) {
	repo, err := s.cacheRepo(r)
	if err == nil {
		err = s.Actions.ClearCaches(r.Context(), repo.ID, s.apiActor(r))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
