package app

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

type apiCluster struct {
	ID             int64                 `json:"id"`
	Repository     string                `json:"repository"`
	Fingerprint    string                `json:"fingerprint"`
	Category       triage.Category       `json:"category"`
	Title          string                `json:"title"`             // what a person reads: Cluster.Headline
	Example        string                `json:"example,omitempty"` // first line of the representative failure's raw message
	Template       string                `json:"template"`          // the normalised message the cluster is keyed by
	Occurrences    int                   `json:"occurrences"`
	RunCount       int                   `json:"run_count"`
	Last7Days      int                   `json:"occurrences_7d"`
	FirstSeenAt    time.Time             `json:"first_seen_at"`
	LastSeenAt     time.Time             `json:"last_seen_at"`
	IncidentID     int64                 `json:"incident_id,omitempty"`
	IncidentStatus triage.IncidentStatus `json:"incident_status,omitempty"`
	Muted          bool                  `json:"muted"`  // opens no incident
	Pinned         bool                  `json:"pinned"` // split off by a person
}

func (s *Server) apiListClusters(w http.ResponseWriter, r *http.Request) {
	f, err := s.clusterFilterFromQuery(r, r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	cs, err := store.ListClusters(r.Context(), s.DB, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]apiCluster, 0, len(cs))
	last := ""
	for _, c := range cs {
		out = append(out, toAPICluster(c))
		last = clusterCursor(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"clusters": out, "next_cursor": nextCursor(len(cs), f.Limit, last)})
}

type apiIncident struct {
	ID                int64                   `json:"id"`
	Repository        string                  `json:"repository"`
	ClusterID         int64                   `json:"cluster_id,omitempty"`
	Kind              triage.IncidentKind     `json:"kind"`
	Title             string                  `json:"title"`
	Severity          triage.IncidentSeverity `json:"severity"`
	Status            triage.IncidentStatus   `json:"status"`
	NeedsHuman        bool                    `json:"needs_human"`
	Impact            map[string]any          `json:"impact"`
	RootCause         string                  `json:"root_cause"`
	FirstBadSHA       string                  `json:"first_bad_sha"`
	LastGoodSHA       string                  `json:"last_good_sha"`
	GitHubIssueNumber int                     `json:"github_issue_number,omitempty"`
	OpenedAt          time.Time               `json:"opened_at"`
	MitigatedAt       *time.Time              `json:"mitigated_at"`
	ResolvedAt        *time.Time              `json:"resolved_at"`
	URL               string                  `json:"url"`
}

func (s *Server) toAPIIncident(i store.Incident) apiIncident {
	return apiIncident{ID: i.ID, Repository: i.Repository, ClusterID: i.ClusterID, Kind: i.Kind, Title: i.Title, Severity: i.Severity,
		Status: i.Status, NeedsHuman: i.NeedsHuman, Impact: i.Impact, RootCause: i.RootCause, FirstBadSHA: i.FirstBadSHA,
		LastGoodSHA: i.LastGoodSHA, GitHubIssueNumber: i.IssueNumber, OpenedAt: i.OpenedAt, MitigatedAt: i.MitigatedAt,
		ResolvedAt: i.ResolvedAt, URL: strings.TrimRight(s.Opts.PublicURL, "/") + "/incidents/" + strconv.FormatInt(i.ID, 10)}
}

func (s *Server) apiListIncidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.IncidentFilter{Status: q.Get("status"), Severity: triage.IncidentSeverity(q.Get("severity"))}
	if f.Status != "" && f.Status != store.IncidentsActive && !oneOf(triage.IncidentStatuses, f.Status) {
		s.writeError(w, r, clientError(http.StatusBadRequest, fmt.Sprintf("unknown status %q (%s or %s)", f.Status, joinValues(triage.IncidentStatuses), store.IncidentsActive)))
		return
	}
	if f.Severity != "" && !slices.Contains(triage.IncidentSeverities, f.Severity) {
		s.writeError(w, r, clientError(http.StatusBadRequest, fmt.Sprintf("unknown severity %q (%s)", f.Severity, joinValues(triage.IncidentSeverities))))
		return
	}
	if name := strings.TrimSpace(q.Get("repo")); name != "" {
		repo, err := store.RepositoryByName(r.Context(), s.DB, name)
		if err != nil {
			s.writeError(w, r, clientError(http.StatusNotFound, fmt.Sprintf("no repository %q", name)))
			return
		}
		f.RepositoryID = repo.ID
	}
	if c := q.Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n <= 0 {
			s.writeError(w, r, clientError(http.StatusBadRequest, fmt.Sprintf("bad cursor %q", c)))
			return
		}
		f.Before = n
	}
	var err error
	if f.Limit, err = queryLimit(r, 50, 200); err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := store.ListIncidents(r.Context(), s.DB, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]apiIncident, 0, len(list))
	last := ""
	for _, i := range list {
		out = append(out, s.toAPIIncident(i))
		last = strconv.FormatInt(i.ID, 10)
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": out, "next_cursor": nextCursor(len(list), f.Limit, last)})
}

type apiEvent struct {
	Kind      store.IncidentEventKind `json:"kind"`
	Message   string                  `json:"message"`
	RunID     int64                   `json:"run_id,omitempty"`
	Data      map[string]any          `json:"data,omitempty"`
	CreatedAt time.Time               `json:"created_at"`
}

type apiRunRef struct {
	ID       int64          `json:"id"`
	SHA      string         `json:"sha"`
	Branch   string         `json:"branch"`
	PRNumber int            `json:"pr_number,omitempty"`
	State    store.RunState `json:"state"`
	Created  time.Time      `json:"created_at"`
}

func (s *Server) apiGetIncident(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	inc, err := store.GetIncident(ctx, s.DB, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	events, err := store.IncidentEvents(ctx, s.DB, id, 1000)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	runs, err := store.IncidentRuns(ctx, s.DB, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	calls, err := store.ListOutboundCalls(ctx, s.DB, store.OutboundFilter{IncidentID: id, Limit: 50})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		apiIncident
		Timeline    []apiEvent  `json:"timeline"`
		Runs        []apiRunRef `json:"runs"`
		GitHubCalls []apiCall   `json:"github_calls"`
	}{apiIncident: s.toAPIIncident(inc), Timeline: []apiEvent{}, Runs: []apiRunRef{}, GitHubCalls: toAPICalls(calls)}
	for _, e := range events {
		out.Timeline = append(out.Timeline, apiEvent{Kind: e.Kind, Message: e.Message, RunID: e.RunID, Data: e.Data, CreatedAt: e.CreatedAt})
	}
	for _, r := range runs {
		out.Runs = append(out.Runs, apiRunRef{ID: r.ID, SHA: r.SHA, Branch: r.Branch, PRNumber: r.PRNumber, State: r.State, Created: r.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
}

// apiIncidentAction applies acknowledge, resolve or reopen; the optional
// body {"note": "..."} goes into the timeline.
func (s *Server) apiIncidentAction(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	action := store.IncidentAction(chi.URLParam(r, "action"))
	if !slices.Contains(store.IncidentActions, action) {
		s.writeError(w, r, clientError(http.StatusNotFound, fmt.Sprintf("no incident action %q (%s)", action, joinValues(store.IncidentActions))))
		return
	}
	var body struct {
		Note string `json:"note"`
	}
	if r.ContentLength != 0 && isJSON(r) {
		if err := decodeJSON(r, &body); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if _, err := s.Actions.TransitionIncident(r.Context(), id, action, strings.TrimSpace(body.Note), s.apiActor(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	inc, err := store.GetIncident(r.Context(), s.DB, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"incident": s.toAPIIncident(inc)})
}
