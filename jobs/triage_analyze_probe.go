package jobs

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// maxProbesPerRun bounds the tests one run sends to confirmation: a run
// failing many tests at once is more likely one breakage than many flaky
// tests, and re-running the first few says which.
const maxProbesPerRun = 5

// ConfirmBudgetSpan is the span a repository's budget of re-run time
// covers: its probes of the last 24 hours.
const ConfirmBudgetSpan = 24 * time.Hour

// budgetSpent is the re-run time (probes and bisections) a repository spent
// in the ConfirmBudgetSpan before now.
func budgetSpent(ctx context.Context, q store.Querier, repositoryID int64, now time.Time) (time.Duration, error) {
	used, err := store.ProbeSecondsSince(ctx, q, repositoryID, now.Add(-ConfirmBudgetSpan))
	return time.Duration(used * float64(time.Second)), err
}

// queueProbes records, for each test that failed in the run and is neither
// known flaky nor broken (its state after this run's update), a probe that
// re-runs it alone at the run's commit, and queues the job that runs them.
// Only the default branch's runs are probed, and pull requests' when the
// repository's flaky: policy says so; never code from a fork, never results
// posted from elsewhere (nothing here can run them), never a mass failure.
// A repository whose budget is spent gets its probes recorded as skipped,
// which the check run and the test page say.
func (w *TriageAnalyzeWorker) queueProbes(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, run store.Run,
	policy store.RepositoryPolicy, tests []*store.RunTest, mass bool, now time.Time) error {
	if w.ConfirmBudget <= 0 || mass || policy.ConfirmRuns <= 0 || run.Trigger == store.TriggerExternal || codeFromFork(run) {
		return nil
	}
	switch {
	case run.PRNumber != 0 && !policy.ConfirmPullRequests:
		return nil
	case run.PRNumber == 0 && run.Branch != policy.DefaultBranch:
		return nil
	}
	var candidates []*store.RunTest
	for _, t := range tests {
		st := t.State()
		// A test that also passed in this run is flaky already: its
		// attempts disagreed on one commit.
		if t.Failed && !t.Passed && (st == triage.TestHealthy || st == triage.TestRecovered || st == "") {
			candidates = append(candidates, t)
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	slices.SortFunc(candidates, func(a, b *store.RunTest) int { return int(a.ID - b.ID) })
	candidates = candidates[:min(len(candidates), maxProbesPerRun)]
	steps, err := store.FailedTestSteps(ctx, tx, run.ID)
	if err != nil {
		return err
	}
	spent, err := budgetSpent(ctx, tx, run.RepositoryID, now)
	if err != nil {
		return err
	}
	skipped := ""
	if spent >= w.ConfirmBudget {
		skipped = fmt.Sprintf("not re-run: the repository's re-run budget is spent (%s of %s in the last 24 hours, SENTINEL_CONFIRM_BUDGET)",
			spent.Round(time.Second), w.ConfirmBudget)
	}
	var ps []store.NewProbe
	for _, t := range candidates {
		s, ok := steps[t.ID]
		if !ok {
			continue // failed in a result not tied to a step: nothing to re-run
		}
		ps = append(ps, store.NewProbe{RepositoryID: run.RepositoryID, TestID: t.ID, RunID: run.ID, SHA: run.SHA,
			StepPosition: s.Position, StepName: s.Name, Wanted: policy.ConfirmRuns, Skipped: skipped})
	}
	queued, err := store.InsertProbes(ctx, tx, ps)
	if err != nil || queued == 0 {
		return err
	}
	return EnqueueProbe(ctx, rc, tx, run.ID)
}

// codeFromFork reports whether a run's code comes from a fork: runs.fork, or
// for runs older than that column, a pull request whose head repository is
// not the base.
func codeFromFork(run store.Run) bool {
	return run.Fork || run.PRNumber != 0 && !strings.EqualFold(run.HeadRepo, run.Repository)
}
