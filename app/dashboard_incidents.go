package app

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

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
	Impact   []string
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
	v.Impact = impactSentences(v.I)
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

// impactSentences words an incident's recorded impact (store.ClusterImpact:
// runs, branches, pull_requests, tests, first_seen, last_seen) as
// sentences, with its default-branch occurrences beside the runs of every
// branch so the two counts read as what they are. Keys it does not know
// are listed after.
func impactSentences(i store.Incident) []string {
	m := i.Impact
	if len(m) == 0 {
		return nil
	}
	num := func(k string) (int, bool) {
		switch v := m[k].(type) {
		case float64:
			return int(v), true
		case int:
			return v, true
		case int64:
			return int(v), true
		}
		return 0, false
	}
	when := func(k string) (time.Time, bool) {
		s, _ := m[k].(string)
		t, err := time.Parse(time.RFC3339, s)
		return t, err == nil
	}
	known := map[string]bool{"runs": true, "branches": true, "pull_requests": true, "tests": true, "first_seen": true, "last_seen": true, "duration_seconds": true}
	var out []string
	if runs, ok := num("runs"); ok {
		s := "It failed " + plural(runs, "run", "runs")
		if b, ok := num("branches"); ok {
			s += " on " + plural(b, "branch", "branches")
		}
		if prs, ok := num("pull_requests"); ok && prs > 0 {
			s += " (" + plural(prs, "pull request", "pull requests") + ")"
		}
		out = append(out, s+".")
	} else if b, ok := num("branches"); ok {
		out = append(out, "It failed on "+plural(b, "branch", "branches")+".")
	}
	if i.Occurrences > 0 {
		out = append(out, fmt.Sprintf("Since the incident opened, %s on the default branch showed it.", plural(i.Occurrences, "run", "runs")))
	}
	if tests, ok := num("tests"); ok && tests > 0 {
		out = append(out, plural(tests, "test", "tests")+" failed with it.")
	}
	first, ok1 := when("first_seen")
	last, ok2 := when("last_seen")
	if ok1 && ok2 {
		out = append(out, fmt.Sprintf("First seen %s, last seen %s (%s apart).", formatTime(first), formatTime(last), jobs.FormatDuration(last.Sub(first).Round(time.Minute))))
	}
	for _, k := range sortedKeys(m) {
		if !known[k] {
			out = append(out, fmt.Sprintf("%s: %v.", human(k), m[k]))
		}
	}
	return out
}

// eventMessage is a timeline message without a leading repetition of its
// kind ("opened: …" under the kind "opened"), which older events carry.
func eventMessage(kind store.IncidentEventKind, msg string) string {
	k := string(kind)
	if len(msg) > len(k) && strings.EqualFold(msg[:len(k)], k) && (msg[len(k)] == ':' || msg[len(k)] == ' ') {
		return strings.TrimSpace(msg[len(k)+1:])
	}
	return msg
}
