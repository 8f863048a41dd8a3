package app

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// severityRank orders severities gravest first, an unknown one last.
func severityRank(s triage.IncidentSeverity) int {
	if i := slices.Index(triage.IncidentSeverities, s); i >= 0 {
		return i
	}
	return len(triage.IncidentSeverities)
}

type incidentsView struct {
	page
	Active   []store.Incident // open and mitigating, most severe first
	Resolved []store.Incident // newest first
	Severity triage.IncidentSeverity
}

func (s *Server) handleIncidents(w http.ResponseWriter, r *http.Request) {
	v := incidentsView{page: s.newPage(w, r, "Incidents", "incidents"), Severity: triage.IncidentSeverity(r.URL.Query().Get("severity"))}
	if v.Severity != "" && !slices.Contains(triage.IncidentSeverities, v.Severity) {
		s.pageError(w, r, clientError(http.StatusBadRequest, fmt.Sprintf("unknown severity %q", v.Severity)))
		return
	}
	var err error
	if v.Active, err = store.ListIncidents(r.Context(), s.DB, store.IncidentFilter{Status: store.IncidentsActive, Severity: v.Severity, Limit: 200}); err != nil {
		s.pageError(w, r, err)
		return
	}
	sort.SliceStable(v.Active, func(a, b int) bool {
		ia, ib := v.Active[a], v.Active[b]
		if ia.Status != ib.Status {
			return ia.Status == triage.IncidentOpen
		}
		return severityRank(ia.Severity) < severityRank(ib.Severity)
	})
	if v.Resolved, err = store.ListIncidents(r.Context(), s.DB, store.IncidentFilter{Status: string(triage.IncidentResolved), Severity: v.Severity, Limit: 30}); err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "incidents", v)
}

type incidentView struct {
	page
	I        store.Incident
	Events   []store.IncidentEvent
	Runs     []store.Run
	Outbound []store.OutboundCall
	Cluster  *store.Cluster
	Duration string // open → resolved (or now)
}

func (s *Server) handleIncident(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := incidentView{page: s.newPage(w, r, "", "incidents")}
	ctx := r.Context()
	if v.I, err = store.GetIncident(ctx, s.DB, id); err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Title = "Incident " + strconv.FormatInt(id, 10) + " · " + v.I.Title
	end := v.Now
	if v.I.ResolvedAt != nil {
		end = *v.I.ResolvedAt
	}
	v.Duration = jobs.FormatDuration(end.Sub(v.I.OpenedAt))
	if v.Events, err = store.IncidentEvents(ctx, s.DB, id, 1000); err != nil {
		s.pageError(w, r, err)
		return
	}
	if v.Runs, err = store.IncidentRuns(ctx, s.DB, id); err != nil {
		s.pageError(w, r, err)
		return
	}
	if v.Outbound, err = store.ListOutboundCalls(ctx, s.DB, store.OutboundFilter{IncidentID: id, Limit: 50}); err != nil {
		s.pageError(w, r, err)
		return
	}
	if v.I.ClusterID != 0 {
		c, err := store.GetClusterDetail(ctx, s.DB, v.I.ClusterID, v.Now)
		if err == nil {
			v.Cluster = &c.Cluster
		}
	}
	s.render(w, r, http.StatusOK, "incident", v)
}
