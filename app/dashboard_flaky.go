package app

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/sentinel-ci/sentinel/store"
)

var testStates = []string{"flaky", "quarantined", "broken", "recovered", "healthy"}

type flakyView struct {
	page
	Tests  []store.Test
	Repos  []store.Repository
	Repo   string
	State  string
	States []string
}

func (s *Server) handleFlaky(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := flakyView{page: s.newPage(w, r, "Flaky tests", "flaky"), Repo: strings.TrimSpace(q.Get("repo")), State: q.Get("state"), States: testStates}
	if v.State != "" && !oneOf(testStates, v.State) {
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
