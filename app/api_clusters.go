package app

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sentinel-ci/sentinel/store"
)

// apiClusterAction applies merge ({"cluster": id merged into this one}),
// split ({"failure": id}), rename ({"title": "..."}), mute or unmute, and
// answers with the cluster shown afterwards (for a split, the new one).
func (s *Server) apiClusterAction(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in clusterControl
	if r.ContentLength != 0 && isJSON(r) {
		if err := decodeJSON(r, &in); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	to, _, err := s.controlCluster(r.Context(), id, chi.URLParam(r, "action"), in, s.apiActor(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := store.GetClusterDetail(r.Context(), s.DB, to, time.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"cluster": toAPICluster(c.Cluster)})
}

func toAPICluster(c store.Cluster) apiCluster {
	return apiCluster{ID: c.ID, Repository: c.Repository, Fingerprint: c.Fingerprint, Category: c.Category,
		Title: c.Headline(), Example: c.ExampleLine(), Template: c.Title,
		Occurrences: c.Occurrences, RunCount: c.RunCount, Last7Days: c.Recent, FirstSeenAt: c.FirstSeenAt, LastSeenAt: c.LastSeenAt,
		IncidentID: c.IncidentID, IncidentStatus: c.IncidentStatus, Muted: c.Muted, Pinned: c.Pinned}
}
