package app

import (
	"fmt"
	"net/http"
	"time"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// testPageRuns is how many runs the outcome strip of the test page shows.
const testPageRuns = 60

type testPageView struct {
	page
	Test     store.Test
	History  store.TestHistory
	Strip    []store.TestRun // oldest first, as a timeline reads
	Rate     string
	Events   []store.TestEvent
	Suspect  bool
	Owner    string // from CODEOWNERS; "" when unknown
	OwnerWhy string // why the owner is unknown
}

// MaxDuration is the longest run of the test in the strip, to scale bars.
func (v testPageView) MaxDuration() time.Duration {
	var m time.Duration
	for _, r := range v.Strip {
		m = max(m, r.Duration)
	}
	return m
}

// handleTestPage shows one test: its outcomes over the latest runs, how
// often it fails, what its failures cost, its state changes and its
// quarantine, with one control to change it.
func (s *Server) handleTestPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	ctx := r.Context()
	t, err := store.GetTest(ctx, s.DB, id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := testPageView{page: s.newPage(w, r, t.Name+" · "+t.Repository, "flaky"), Test: t}
	if v.History, err = store.LoadTestHistory(ctx, s.DB, id, testPageRuns); err != nil {
		s.pageError(w, r, err)
		return
	}
	if v.Events, err = store.TestEvents(ctx, s.DB, id, 20); err != nil {
		s.pageError(w, r, err)
		return
	}
	for i := len(v.History.Runs) - 1; i >= 0; i-- {
		v.Strip = append(v.Strip, v.History.Runs[i])
	}
	v.Rate = rateWords(v.History.FailedRuns, v.History.Window)
	v.Suspect = (t.State() == triage.TestHealthy || t.State() == triage.TestRecovered) && t.Episodes > 0
	v.OwnerWhy = "unknown: Sentinel keeps no checkout of the latest commit to read CODEOWNERS from"
	if len(v.History.Runs) > 0 {
		v.OwnerWhy = fmt.Sprintf("unknown: Sentinel keeps no checkout of %s to read CODEOWNERS from", triage.ShortSHA(v.History.Runs[0].SHA))
	}
	s.render(w, r, http.StatusOK, "test", v)
}
