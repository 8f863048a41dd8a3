package app

import (
	"context"
	"html/template"
	"net/http"
	"sort"
	"strconv"

	"golang.org/x/sync/errgroup"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// stepView is one step attempt with its rendered log.
type stepView struct {
	store.Step
	Log  renderedLog
	Live bool // still running: the page follows it over SSE
	Open bool // shown expanded: failed, or running
	// GoLog is a finished go test -json log as go test prints it, each
	// test foldable; when set, Log is not rendered.
	GoLog template.HTML
	// Retries are the earlier attempts of this step (oldest first), folded
	// under it on the run page.
	Retries []stepView
}

// testView is a test of a run with all its attempts.
type testView struct {
	TestID   int64 // its page: /tests/{id}
	Package  string
	Name     string
	Outcome  string // final: the last attempt's outcome
	Flaky    bool   // both passed and failed in this run
	Attempts []store.TestResult
}

type runView struct {
	page
	Run       store.Run
	Steps     []stepView
	Failures  []store.Failure
	Tests     []testView
	Problems  []testView // failed or flaky: shown first
	Rest      []testView // passed or skipped: collapsed
	TestStats struct{ Total, Failed, Flaky, Skipped int }
	// Stopped counts the packages that a panic or a timeout ended in the
	// last attempt of each step: their later tests are in no count.
	Stopped     int
	StoppedText string
	Outbound    []store.OutboundCall
	Active      bool // not finished: can be cancelled
	Duration    string
}

// loadRun gathers a run's page: steps (with rendered logs when withLogs),
// failures, tests, GitHub calls.
func (s *Server) loadRun(ctx context.Context, v *runView, id int64, withLogs bool) error {
	run, err := store.GetRun(ctx, s.DB, id)
	if err != nil {
		return err
	}
	v.Run, v.Active = run, !store.IsFinalRunState(run.State)
	v.Duration = jobs.FormatDuration(run.Duration(v.Now))
	// The failures, the steps with their logs, the tests and the GitHub
	// calls are independent reads: run them at once, so the page waits for
	// the slowest rather than for their round trips one after another.
	var g errgroup.Group
	g.Go(func() (err error) {
		if v.Failures, err = store.RunFailures(ctx, s.DB, id); err != nil {
			return err
		}
		return s.placeFailures(ctx, run, v.Failures)
	})
	var steps []store.Step
	var logs [][]byte // each step's log, when withLogs
	g.Go(func() (err error) {
		if steps, err = store.ListSteps(ctx, s.DB, id); err != nil || !withLogs {
			return err
		}
		for _, st := range steps {
			data, err := store.StepLog(ctx, s.DB, st.ID)
			if err != nil {
				return err
			}
			logs = append(logs, data)
		}
		return nil
	})
	var results []store.TestResult
	g.Go(func() (err error) { results, err = store.ListTestResults(ctx, s.DB, id); return err })
	g.Go(func() (err error) {
		v.Outbound, err = store.ListOutboundCalls(ctx, s.DB, store.OutboundFilter{RunID: id, Limit: 100})
		return err
	})
	if err := g.Wait(); err != nil {
		return err
	}
	evidence := map[int64]map[int]bool{}
	for _, f := range v.Failures {
		for _, e := range f.Evidence {
			if e.Line > 0 && f.StepID != 0 {
				if evidence[f.StepID] == nil {
					evidence[f.StepID] = map[int]bool{}
				}
				evidence[f.StepID][int(e.Line)] = true
			}
		}
	}
	for i, st := range steps {
		sv := stepView{Step: st, Live: st.State == triage.StepRunning}
		sv.Open = sv.Live || (st.State != triage.StepSucceeded && st.State != triage.StepSkipped && st.State != triage.StepPending)
		if withLogs {
			data := logs[i]
			var isGo bool
			if !sv.Live && isGoTestJSON(data) {
				sv.GoLog, isGo = renderGoTestLog(data, st.ID, evidence[st.ID])
			}
			switch {
			case isGo:
			case sv.Live:
				sv.Log = renderLog(data, st.ID, 1, evidence[st.ID], maxLogLines, true)
			default:
				sv.Log = s.logs.render(data, st.ID, evidence[st.ID], maxLogLines)
			}
		}
		v.Steps = append(v.Steps, sv)
	}
	last := map[int]store.Step{}
	for _, st := range steps {
		last[st.Position] = st // ordered by position, then attempt
	}
	for _, st := range last {
		v.Stopped += st.StoppedPackages
	}
	if v.Stopped > 0 {
		v.StoppedText = jobs.StoppedText(v.Stopped)
	}
	v.Tests = groupTests(results)
	for _, t := range v.Tests {
		v.TestStats.Total++
		switch {
		case t.Flaky:
			v.TestStats.Flaky++
			v.Problems = append(v.Problems, t)
		case t.Outcome == "fail" || t.Outcome == "error" || t.Outcome == "incomplete":
			v.TestStats.Failed++
			v.Problems = append(v.Problems, t)
		case t.Outcome == "skip":
			v.TestStats.Skipped++
			v.Rest = append(v.Rest, t)
		default:
			v.Rest = append(v.Rest, t)
		}
	}
	return nil
}

// groupTests folds attempts into one entry per test: failing and flaky
// tests first, then the rest by name. Passing tests with one attempt are
// kept, but the page shows them collapsed.
func groupTests(results []store.TestResult) []testView {
	var out []testView
	index := map[[2]string]int{}
	for _, tr := range results {
		k := [2]string{tr.Package, tr.Name}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, testView{TestID: tr.TestID, Package: tr.Package, Name: tr.Name})
		}
		t := &out[i]
		t.Attempts = append(t.Attempts, tr)
		t.Outcome = tr.Outcome
	}
	for i := range out {
		var pass, fail bool
		for _, a := range out[i].Attempts {
			pass = pass || a.Outcome == "pass"
			fail = fail || a.Outcome == "fail" || a.Outcome == "error"
		}
		out[i].Flaky = pass && fail
	}
	rank := func(t testView) int {
		switch {
		case t.Outcome == "fail" || t.Outcome == "error" || t.Outcome == "incomplete":
			return 0
		case t.Flaky:
			return 1
		case t.Outcome == "skip":
			return 3
		}
		return 2
	}
	sort.SliceStable(out, func(a, b int) bool { return rank(out[a]) < rank(out[b]) })
	return out
}

// foldRetries keeps the last attempt of each step position and puts the
// earlier attempts under it, so a run with retries reads as its steps
// rather than every attempt expanded one after another. steps are ordered
// by position, then attempt.
func foldRetries(steps []stepView) []stepView {
	var out []stepView
	for _, st := range steps {
		if n := len(out); n > 0 && out[n-1].Position == st.Position {
			prev := out[n-1]
			st.Retries = append(prev.Retries, prev)
			st.Retries[len(st.Retries)-1].Retries = nil
			out[n-1] = st
			continue
		}
		out = append(out, st)
	}
	return out
}

func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := runView{page: s.newPage(w, r, "", "runs")}
	if err := s.loadRun(r.Context(), &v, id, true); err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Steps = foldRetries(v.Steps)
	v.Title = "Run " + strconv.FormatInt(v.Run.ID, 10) + " · " + v.Run.Repository
	s.render(w, r, http.StatusOK, "run", v)
}

// placeFailures puts each failure of run at the repository path its check
// run annotation has: go test names a test's file relative to its package.
func (s *Server) placeFailures(ctx context.Context, run store.Run, fs []store.Failure) error {
	modules, err := store.RunGoModules(ctx, s.DB, run.ID)
	if err != nil {
		return err
	}
	paths := jobs.PathResolver{GoModules: modules, Repository: run.Repository}
	for i, f := range fs {
		if p, ok := paths.Resolve(store.ReportFailure{File: f.File, TestPackage: f.TestPackage}); ok {
			fs[i].File = p
		}
	}
	return nil
}
