package app

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"path"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/jobs/runner"
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
	Weeks    []store.WeekRate
	Trend    template.HTML
	Probes   []store.TestProbe  // confirmation re-runs, newest first
	Bisects  []store.TestBisect // searches for the commit that broke it, newest first
	Budget   string             // what the repository spent of its re-run budget
}

// LatestWeek is the newest week of the trend that had runs, for the words
// beside it; nil when no week had.
func (v testPageView) LatestWeek() *store.WeekRate {
	for i := len(v.Weeks) - 1; i >= 0; i-- {
		if v.Weeks[i].Runs > 0 {
			return &v.Weeks[i]
		}
	}
	return nil
}

// testTrendWeeks is the window of the test page's flake-rate trend.
const testTrendWeeks = 8

// weeklyRateSpark draws the failure rate per week on a 0–100 % scale; a
// week without runs has no dot.
func weeklyRateSpark(weeks []store.WeekRate) template.HTML {
	pts := make([]sparkPoint, len(weeks))
	for i, w := range weeks {
		label := fmt.Sprintf("week of %s: no runs", w.Start.UTC().Format("Jan 2"))
		if w.Runs > 0 {
			label = fmt.Sprintf("week of %s: failed %d of %d runs (%d%%)", w.Start.UTC().Format("Jan 2"), w.Failed, w.Runs, 100*w.Failed/w.Runs)
			pts[i] = sparkPoint{V: float64(w.Failed) / float64(w.Runs), OK: true, Label: label}
		} else {
			pts[i].Label = label
		}
	}
	return sparkline(fmt.Sprintf("Failure rate per week, last %d weeks", len(weeks)), pts, 1)
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
	// The parts are independent: read them at once, so the page waits for
	// the slowest rather than for eight round trips one after another (each
	// a wake-up, which on a busy machine costs more than the query).
	var g errgroup.Group
	g.Go(func() (err error) {
		if v.History, err = store.LoadTestHistory(ctx, s.DB, id, testPageRuns); err != nil {
			return err
		}
		v.Owner, v.OwnerWhy = s.testOwner(ctx, t, v.History)
		return nil
	})
	g.Go(func() (err error) { v.Events, err = store.TestEvents(ctx, s.DB, id, 20); return err })
	g.Go(func() (err error) {
		v.Weeks, err = store.TestWeeklyRates(ctx, s.DB, id, v.Now, testTrendWeeks)
		return err
	})
	g.Go(func() (err error) { v.Probes, err = store.TestProbes(ctx, s.DB, id, 10); return err })
	g.Go(func() (err error) { v.Bisects, err = store.TestBisects(ctx, s.DB, id, 5); return err })
	g.Go(func() (err error) { v.Budget, err = s.confirmBudget(ctx, t.RepositoryID, v.Now); return err })
	if err := g.Wait(); err != nil {
		s.pageError(w, r, err)
		return
	}
	for i := len(v.History.Runs) - 1; i >= 0; i-- {
		v.Strip = append(v.Strip, v.History.Runs[i])
	}
	v.Trend = weeklyRateSpark(v.Weeks)
	v.Rate = rateWords(v.History.FailedRuns, v.History.Window)
	v.Suspect = (t.State() == triage.TestHealthy || t.State() == triage.TestRecovered) && t.Episodes > 0
	s.render(w, r, http.StatusOK, "test", v)
}

// testOwner reads the owners of a test's package from CODEOWNERS at the
// commit of its latest run, when this server has the repository (a local
// clone URL); otherwise it says why the owner is unknown.
func (s *Server) testOwner(ctx context.Context, t store.Test, h store.TestHistory) (owner, why string) {
	if len(h.Runs) == 0 {
		return "", "unknown: the test has no runs yet"
	}
	run, err := store.GetRun(ctx, s.DB, h.Runs[0].RunID)
	if err != nil {
		return "", "unknown: " + err.Error()
	}
	sha := triage.ShortSHA(run.SHA)
	var data []byte
	name := ""
	for _, n := range triage.CodeOwnersPaths {
		d, found, err := runner.ShowFile(ctx, run.CloneURL, run.SHA, n)
		if errors.Is(err, runner.ErrNoLocalCopy) {
			return "", fmt.Sprintf("unknown: Sentinel has no local copy of %s to read CODEOWNERS from (commit %s)", t.Repository, sha)
		}
		if err != nil {
			return "", "unknown: " + err.Error()
		}
		if found {
			data, name = d, n
			break
		}
	}
	if name == "" {
		return "", fmt.Sprintf("none: no CODEOWNERS file at %s", sha)
	}
	mods, err := store.RunGoModules(ctx, s.DB, run.ID)
	if err != nil {
		return "", "unknown: " + err.Error()
	}
	dir, ok := triage.Paths{GoModules: mods}.PackageDir(t.Package)
	if !ok {
		return "", fmt.Sprintf("unknown: run #%d recorded no Go module holding %s", run.ID, t.Package)
	}
	// A test file of the package, so that patterns such as *_test.go match.
	if owners := triage.ParseCodeOwners(string(data)).Owners(path.Join(dir, "x_test.go")); len(owners) > 0 {
		return strings.Join(owners, " "), fmt.Sprintf("%s at %s", name, sha)
	}
	return "", fmt.Sprintf("none: %s at %s names no owner of %s", name, sha, path.Join(dir, "*_test.go"))
}

// confirmBudget says what a repository spent of its daily budget of
// confirmation re-runs.
func (s *Server) confirmBudget(ctx context.Context, repositoryID int64, now time.Time) (string, error) {
	if s.Opts.ConfirmBudget <= 0 {
		return "none: confirmation re-runs are off (SENTINEL_CONFIRM_BUDGET is 0)", nil
	}
	used, err := store.ProbeSecondsSince(ctx, s.DB, repositoryID, now.Add(-jobs.ConfirmBudgetSpan))
	if err != nil {
		return "", err
	}
	spent := time.Duration(used * float64(time.Second)).Round(time.Second)
	return fmt.Sprintf("%s of %s used in the last 24 hours (SENTINEL_CONFIRM_BUDGET)", spent, s.Opts.ConfirmBudget), nil
}

// MaxBisectRuns is the most runs one bisection makes, for the page's words.
func (testPageView) MaxBisectRuns() int { return triage.MaxBisectRuns }
