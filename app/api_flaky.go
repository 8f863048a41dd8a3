package app

import (
	"cmp"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// apiFlakyTest is one tracked test in GET /api/flaky.
type apiFlakyTest struct {
	ID             int64            `json:"id"`
	Repository     string           `json:"repository"`
	Package        string           `json:"package"`
	Name           string           `json:"name"`
	State          triage.TestState `json:"state"`
	Score          float64          `json:"score"` // posterior probability that the test is flaky
	FailureRate    float64          `json:"failure_rate"`
	FlipRate       float64          `json:"flip_rate"`
	Runs           int              `json:"runs"`     // runs in the scoring window
	Episodes       int              `json:"episodes"` // intermittent failures in the window
	Window         string           `json:"window"`   // recent outcomes, oldest first: P pass, F fail
	EvidenceRuns   []apiEvidenceRun `json:"evidence_runs"`
	FirstBadSHA    string           `json:"first_bad_sha,omitempty"`
	LastGoodSHA    string           `json:"last_good_sha,omitempty"`
	Quarantine     *apiQuarantine   `json:"quarantine,omitempty"`
	StateChangedAt time.Time        `json:"state_changed_at"`
}

type apiEvidenceRun struct {
	ID  int64  `json:"id"`
	URL string `json:"url"`
}

type apiQuarantine struct {
	Owner  string     `json:"owner"`
	Source string     `json:"source,omitempty"`
	Reason string     `json:"reason,omitempty"`
	Until  *time.Time `json:"until,omitempty"`
}

// apiListFlaky answers GET /api/flaky[?repo=owner/name][&state=flaky,quarantined][&limit=N]:
// every tracked test (most suspicious first) with state, score, failure
// rate, flip rate and the runs that are its evidence.
func (s *Server) apiListFlaky(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := queryLimit(r, 1000, 100000)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f := store.TestFilter{Limit: limit}
	// repository= is the deprecated spelling of repo=, kept for old scripts.
	if name := strings.TrimSpace(cmp.Or(q.Get("repo"), q.Get("repository"))); name != "" {
		repo, err := s.repoByName(r, name)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		f.RepositoryID = repo.ID
	}
	if st := q.Get("state"); st != "" {
		for _, x := range strings.Split(st, ",") {
			x = strings.TrimSpace(x)
			switch triage.TestState(x) {
			case triage.TestHealthy, triage.TestFlaky, triage.TestQuarantined, triage.TestBroken, triage.TestRecovered:
				f.States = append(f.States, triage.TestState(x))
			default:
				s.writeError(w, r, clientError(http.StatusBadRequest, fmt.Sprintf("unknown state %q (one of %s)", x, joinValues(triage.TestStates))))
				return
			}
		}
	}
	tests, err := store.ListTests(r.Context(), s.DB, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]apiFlakyTest, 0, len(tests))
	for _, t := range tests {
		out = append(out, s.apiFlaky(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tests": out})
}

func (s *Server) apiFlaky(t store.Test) apiFlakyTest {
	a := apiFlakyTest{ID: t.ID, Repository: t.Repository, Package: t.Package, Name: t.Name, State: t.State(),
		Score: round3(t.Score), FailureRate: round3(t.FailureRate), FlipRate: round3(t.FlipRate), Runs: t.Runs,
		Episodes: t.Episodes, FirstBadSHA: t.Flaky.FirstBadSHA, LastGoodSHA: t.Flaky.LastGoodSHA,
		StateChangedAt: t.StateChangedAt, EvidenceRuns: []apiEvidenceRun{}}
	var b strings.Builder
	for _, failed := range t.Flaky.Window.Outcomes() {
		if failed {
			b.WriteByte('F')
		} else {
			b.WriteByte('P')
		}
	}
	a.Window = b.String()
	for _, id := range t.EvidenceRuns {
		a.EvidenceRuns = append(a.EvidenceRuns, apiEvidenceRun{ID: id, URL: jobs.RunURL(s.Opts.PublicURL, id)})
	}
	if t.Flaky.State == triage.TestQuarantined {
		a.Quarantine = &apiQuarantine{Owner: t.QuarantineOwner, Source: string(t.QuarantineSource), Reason: t.QuarantineReason}
		if !t.Flaky.QuarantineUntil.IsZero() {
			u := t.Flaky.QuarantineUntil.UTC()
			a.Quarantine.Until = &u
		}
	}
	return a
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// quarantineRequest is the body of POST /api/flaky/{id}/quarantine. Until
// (RFC 3339) or For (a Go duration such as "336h") sets the expiry; the
// default is jobs.DefaultQuarantineFor. Owner is required.
type quarantineRequest struct {
	Owner  string `json:"owner"`
	Until  string `json:"until,omitempty"`
	For    string `json:"for,omitempty"`
	Reason string `json:"reason,omitempty"`
}

func (s *Server) apiQuarantineTest(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		s.writeError(w, r, clientError(http.StatusBadRequest, "test id must be a positive number"))
		return
	}
	var req quarantineRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	q := jobs.Quarantine{Owner: req.Owner, Reason: req.Reason, Source: store.QuarantineByAPI}
	switch {
	case strings.TrimSpace(req.Owner) == "":
		s.writeError(w, r, clientError(http.StatusBadRequest, "owner is required: a quarantine has an owner"))
		return
	case req.Until != "" && req.For != "":
		s.writeError(w, r, clientError(http.StatusBadRequest, "give until or for, not both"))
		return
	case req.Until != "":
		if q.Until, err = time.Parse(time.RFC3339, req.Until); err != nil || !q.Until.After(time.Now()) {
			s.writeError(w, r, clientError(http.StatusBadRequest, "until must be a future RFC 3339 time, e.g. 2026-12-31T00:00:00Z"))
			return
		}
	case req.For != "":
		d, err := time.ParseDuration(req.For)
		if err != nil || d <= 0 {
			s.writeError(w, r, clientError(http.StatusBadRequest, "for must be a positive duration, e.g. 336h"))
			return
		}
		q.Until = time.Now().Add(d)
	}
	if err := s.Actions.Quarantine(r.Context(), id, q, s.apiActor(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeTest(w, r, id)
}

func (s *Server) apiReleaseTest(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		s.writeError(w, r, clientError(http.StatusBadRequest, "test id must be a positive number"))
		return
	}
	if err := s.Actions.Release(r.Context(), id, s.apiActor(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeTest(w, r, id)
}

func (s *Server) writeTest(w http.ResponseWriter, r *http.Request, id int64) {
	t, err := store.GetTest(r.Context(), s.DB, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.apiFlaky(t))
}

type apiTestEvent struct {
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`
	Actor  string    `json:"actor"`
	RunID  int64     `json:"run_id,omitempty"`
	At     time.Time `json:"at"`
}

// apiGetFlaky answers GET /api/flaky/{id}: the test and its latest state
// changes, newest first, each with its reason.
func (s *Server) apiGetFlaky(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		s.writeError(w, r, clientError(http.StatusBadRequest, "test id must be a positive number"))
		return
	}
	t, err := store.GetTest(r.Context(), s.DB, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	evs, err := store.TestEvents(r.Context(), s.DB, id, 100)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	history := make([]apiTestEvent, 0, len(evs))
	for _, e := range evs {
		history = append(history, apiTestEvent{From: string(e.From), To: string(e.To), Reason: e.Reason, Actor: e.Actor, RunID: e.RunID, At: e.CreatedAt})
	}
	bs, err := store.TestBisects(r.Context(), s.DB, id, 5)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	bisects := make([]apiBisect, 0, len(bs))
	for _, b := range bs {
		bisects = append(bisects, newAPIBisect(b))
	}
	writeJSON(w, http.StatusOK, map[string]any{"test": s.apiFlaky(t), "history": history, "bisects": bisects})
}

// apiBisect is one search for the commit that broke a test, in GET /api/flaky/{id}.
type apiBisect struct {
	ID          int64            `json:"id"`
	State       store.ProbeState `json:"state"`
	RunID       int64            `json:"run_id"`
	GoodSHA     string           `json:"good_sha"`
	BadSHA      string           `json:"bad_sha"`
	Commits     int              `json:"commits"`
	Tested      []apiBisectRun   `json:"tested"`
	Found       bool             `json:"found"`
	FirstBadSHA string           `json:"first_bad_sha"`
	LastGoodSHA string           `json:"last_good_sha"`
	Author      string           `json:"author"`
	PullRequest int              `json:"pull_request"`
	Message     string           `json:"message"`
	Seconds     float64          `json:"seconds"`
	CreatedAt   time.Time        `json:"created_at"`
	FinishedAt  *time.Time       `json:"finished_at,omitempty"`
}

type apiBisectRun struct {
	SHA     string               `json:"sha"`
	Outcome triage.BisectOutcome `json:"outcome"`
}

func newAPIBisect(b store.TestBisect) apiBisect {
	a := apiBisect{ID: b.ID, State: b.State, RunID: b.RunID, GoodSHA: b.GoodSHA, BadSHA: b.BadSHA, Commits: len(b.Commits),
		Tested: []apiBisectRun{}, Found: b.Found, FirstBadSHA: b.FirstBadSHA, LastGoodSHA: b.LastGoodSHA, Author: b.Author,
		PullRequest: b.PullRequest, Message: b.Message, Seconds: round3(b.Seconds), CreatedAt: b.CreatedAt, FinishedAt: b.FinishedAt}
	for _, r := range b.Runs() {
		a.Tested = append(a.Tested, apiBisectRun{SHA: r.SHA, Outcome: r.Outcome})
	}
	return a
}
