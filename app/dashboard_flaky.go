package app

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// flakyRow is one test of the flaky page with its rate and impact in words.
type flakyRow struct {
	store.Test
	Suspect bool // healthy or recovered, with an intermittent failure in its window
	Rate    string
	Impact  string
	Ask     string // the page with the quarantine dialog open for this test
	Strip   template.HTML
}

// recentStrip is a test's recent runs as links, newest first: built here,
// not in the template, because a page of 200 tests has thousands of them
// and html/template's actions and escaping for each were most of the
// page's time. Run ids and the fixed words need no escaping.
func recentStrip(recent []store.RunOutcome) template.HTML {
	var b strings.Builder
	for _, o := range recent {
		class, words, mark := "o-pass", "passed", "✔"
		switch {
		case o.Passed && o.Failed:
			class, words, mark = "o-flip", "failed then passed", "◐"
		case o.Failed:
			class, words, mark = "o-fail", "failed", "✖"
		}
		fmt.Fprintf(&b, `<a href="/runs/%d" class="%s" title="run %d: %s">%s</a>`, o.RunID, class, o.RunID, words, mark)
	}
	return template.HTML(b.String())
}

type flakyView struct {
	page
	Tests      []flakyRow
	Repos      []store.Repository
	Repo       string
	State      triage.TestState
	States     []triage.TestState
	Quarantine *flakyRow // the test the quarantine dialog is open for
	Close      string    // the page without the dialog
}

// ImpactResults is how many of each test's latest results its impact counts.
func (flakyView) ImpactResults() int { return store.ImpactResults }

func (s *Server) handleFlaky(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := flakyView{page: s.newPage(w, r, "Flaky tests", "flaky"), Repo: strings.TrimSpace(q.Get("repo")), State: triage.TestState(q.Get("state")), States: triage.TestStates}
	if v.State != "" && !slices.Contains(triage.TestStates, v.State) {
		s.pageError(w, r, clientError(http.StatusBadRequest, fmt.Sprintf("unknown state %q", v.State)))
		return
	}
	f := store.FlakyFilter{State: v.State, Limit: 200}
	// The repositories for the filter and the tests are independent reads:
	// run them at once.
	var g errgroup.Group
	g.Go(func() (err error) { v.Repos, err = store.ListRepositories(r.Context(), s.DB); return err })
	var tests []store.Test
	g.Go(func() (err error) {
		if v.Repo != "" {
			repo, err := s.repoByName(r, v.Repo)
			if err != nil {
				return err
			}
			f.RepositoryID = repo.ID
		}
		tests, err = store.ListFlakyTests(r.Context(), s.DB, f)
		return err
	})
	if err := g.Wait(); err != nil {
		s.pageError(w, r, err)
		return
	}
	keep := url.Values{}
	if v.Repo != "" {
		keep.Set("repo", v.Repo)
	}
	if v.State != "" {
		keep.Set("state", string(v.State))
	}
	v.Close = "/flaky"
	if len(keep) > 0 {
		v.Close += "?" + keep.Encode()
	}
	ask, _ := strconv.ParseInt(q.Get("quarantine"), 10, 64)
	for _, t := range tests {
		row := flakyRow{Test: t, Rate: failRateWords(t.Recent), Impact: impactWords(t.Impact), Strip: recentStrip(t.Recent),
			Suspect: (t.State() == triage.TestHealthy || t.State() == triage.TestRecovered) && t.Episodes > 0}
		aq := url.Values{}
		for k, vs := range keep {
			aq[k] = vs
		}
		aq.Set("quarantine", strconv.FormatInt(t.ID, 10))
		row.Ask = "/flaky?" + aq.Encode() + "#quarantine"
		v.Tests = append(v.Tests, row)
	}
	for i := range v.Tests {
		if t := &v.Tests[i]; t.ID == ask && t.State() != triage.TestQuarantined {
			v.Quarantine = t
		}
	}
	s.render(w, r, http.StatusOK, "flaky", v)
}
