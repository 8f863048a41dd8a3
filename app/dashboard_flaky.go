package app

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

type flakyView struct {
	page
	Tests  []store.Test
	Repos  []store.Repository
	Repo   string
	State  triage.TestState
	States []triage.TestState
}

func (s *Server) handleFlaky(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := flakyView{page: s.newPage(w, r, "Flaky tests", "flaky"), Repo: strings.TrimSpace(q.Get("repo")), State: triage.TestState(q.Get("state")), States: triage.TestStates}
	if v.State != "" && !slices.Contains(triage.TestStates, v.State) {
		s.pageError(w, r, clientError(http.StatusBadRequest, fmt.Sprintf("unknown state %q", v.State)))
		return
	}
	f := store.FlakyFilter{State: v.State, Limit: 200}
	var err error
	if v.Repos, err = store.ListRepositories(r.Context(), s.DB); err != nil {
		s.pageError(w, r, err)
		return
	}
	if v.Repo != "" {
		repo, err := store.RepositoryByName(r.Context(), s.DB, v.Repo)
		if err != nil {
			s.pageError(w, r, clientError(http.StatusNotFound, fmt.Sprintf("no repository %q", v.Repo)))
			return
		}
		f.RepositoryID = repo.ID
	}
	if v.Tests, err = store.ListFlakyTests(r.Context(), s.DB, f); err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "flaky", v)
}
