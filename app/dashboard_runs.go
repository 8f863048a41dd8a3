package app

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sentinel-ci/sentinel/store"
)

// runRow is a run in the list, with its first failure.
type runRow struct {
	store.Run
	Headline store.RunHeadline
	Flaky    []string // tests that failed, then passed on a retry or re-run
	BarPct   int      // duration against the longest run on the page, 0–100
}

type runsView struct {
	page
	Filter   store.RunFilter
	PR       string // the PR filter as typed
	Repos    []store.Repository
	States   []store.RunState
	Triggers []store.Trigger
	Runs     []runRow
	NextURL  string
	Filtered bool
}

// FlakyTitle says why a run is marked flaky: which of its tests failed,
// then passed on a retry or re-run.
func (runsView) FlakyTitle(tests []string) string {
	return "Failed, then passed on a retry or re-run: " + strings.Join(tests, ", ")
}

// runFilterFromQuery reads the list filters shared by the page and the API.
func runFilterFromQuery(q url.Values) (store.RunFilter, error) {
	f := store.RunFilter{Repository: strings.TrimSpace(q.Get("repo")), Branch: strings.TrimSpace(q.Get("branch")),
		State: store.RunState(q.Get("state")), Trigger: store.Trigger(q.Get("trigger"))}
	if v := strings.TrimPrefix(strings.TrimSpace(q.Get("pr")), "#"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return f, clientError(http.StatusBadRequest, fmt.Sprintf("pr must be a pull request number, not %q", v))
		}
		f.PRNumber = n
	}
	for _, name := range []string{"before", "cursor"} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return f, clientError(http.StatusBadRequest, fmt.Sprintf("%s must be a run id, not %q", name, v))
			}
			f.Before = n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return f, clientError(http.StatusBadRequest, "limit must be a number from 1 to 500")
		}
		f.Limit = n
	}
	if f.State != "" && !slices.Contains(store.RunStates, f.State) {
		return f, clientError(http.StatusBadRequest, fmt.Sprintf("unknown state %q (one of %s)", f.State, joinValues(store.RunStates)))
	}
	if f.Trigger != "" && !slices.Contains(store.Triggers, f.Trigger) {
		return f, clientError(http.StatusBadRequest, fmt.Sprintf("unknown trigger %q (one of %s)", f.Trigger, joinValues(store.Triggers)))
	}
	return f, nil
}

// oneOf reports whether s is one of the values of an enumeration.
func oneOf[T ~string](list []T, s string) bool { return slices.Contains(list, T(s)) }

// joinValues lists the values of an enumeration for a message.
func joinValues[T ~string](list []T) string {
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

func (s *Server) handleRuns(w http.ResponseWriter, r *http.Request) {
	v := runsView{page: s.newPage(w, r, "Runs", "runs"), States: store.RunStates, Triggers: store.Triggers}
	f, err := runFilterFromQuery(r.URL.Query())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	v.Filter, v.PR = f, r.URL.Query().Get("pr")
	v.Filtered = f.Repository != "" || f.Branch != "" || f.PRNumber != 0 || f.State != "" || f.Trigger != ""
	if v.Repos, err = store.ListRepositories(r.Context(), s.DB); err != nil {
		s.pageError(w, r, err)
		return
	}
	runs, err := store.ListRuns(r.Context(), s.DB, f)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	ids := make([]int64, len(runs))
	for i, run := range runs {
		ids[i] = run.ID
	}
	heads, err := store.RunHeadlines(r.Context(), s.DB, ids)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	retried, err := store.TestsPassedOnRetry(r.Context(), s.DB, ids)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	var longest time.Duration
	for _, run := range runs {
		longest = max(longest, run.Duration(v.Now))
	}
	for _, run := range runs {
		row := runRow{Run: run, Headline: heads[run.ID], Flaky: retried[run.ID]}
		if longest > 0 {
			row.BarPct = int(100 * run.Duration(v.Now) / longest)
		}
		v.Runs = append(v.Runs, row)
	}
	if len(runs) == f.Limit {
		q := r.URL.Query()
		q.Del("cursor")
		q.Del("flash")
		q.Set("before", strconv.FormatInt(runs[len(runs)-1].ID, 10))
		v.NextURL = "/runs?" + q.Encode()
	}
	s.render(w, r, http.StatusOK, "runs", v)
}
