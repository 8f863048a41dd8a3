package jobs

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// queueBisect records and queues the bisection of a test that has just
// turned broken in run, when more than one commit may lie between its last
// good and first bad commits (the worker reads the history and says how
// many do), tying it to the step where the test failed. Only the default
// branch's own pushes are bisected: never a pull request, a fork's code or
// results posted from elsewhere; and only with a re-run budget
// (SENTINEL_CONFIRM_BUDGET), whose spending records the bisection skipped.
func queueBisect(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, run store.Run, defaultBranch string,
	t *store.Test, step store.StepRef, budget time.Duration, now time.Time) error {
	f := t.Flaky
	if budget <= 0 || f.State != triage.TestBroken || f.FirstBadSHA == "" || f.LastGoodSHA == "" || f.FirstBadSHA == f.LastGoodSHA ||
		run.PRNumber != 0 || run.Branch != defaultBranch || run.Trigger == store.TriggerExternal || codeFromFork(run) {
		return nil
	}
	spent, err := budgetSpent(ctx, tx, run.RepositoryID, now)
	if err != nil {
		return err
	}
	n := store.NewBisect{RepositoryID: run.RepositoryID, TestID: t.ID, RunID: run.ID, StepPosition: step.Position, StepName: step.Name,
		GoodSHA: f.LastGoodSHA, BadSHA: f.FirstBadSHA}
	if spent >= budget {
		n.Skipped = fmt.Sprintf("not bisected: the repository's re-run budget is spent (%s of %s in the last 24 hours, SENTINEL_CONFIRM_BUDGET)",
			spent.Round(time.Second), budget)
	}
	id, err := store.InsertBisect(ctx, tx, n)
	if err != nil || id == 0 {
		return err
	}
	return EnqueueBisect(ctx, rc, tx, run.ID)
}

// queueBisects queues the bisections of the tests an analysis of run made
// broken (events), each at the step of its last failing result.
func (w *TriageAnalyzeWorker) queueBisects(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, run store.Run,
	policy store.RepositoryPolicy, tests []*store.RunTest, events []store.TestEvent, now time.Time) error {
	var broken []*store.Test
	for _, ev := range events {
		if ev.To != triage.TestBroken {
			continue
		}
		for _, t := range tests {
			if t.ID == ev.TestID {
				broken = append(broken, &t.Test)
			}
		}
	}
	if len(broken) == 0 || w.ConfirmBudget <= 0 {
		return nil
	}
	// As for probes: many tests broken at once are most likely one
	// breakage, which the first few bisections name.
	slices.SortFunc(broken, func(a, b *store.Test) int { return cmp.Compare(a.ID, b.ID) })
	broken = broken[:min(len(broken), maxProbesPerRun)]
	steps, err := store.FailedTestSteps(ctx, tx, run.ID)
	if err != nil {
		return err
	}
	for _, t := range broken {
		if s, ok := steps[t.ID]; ok {
			if err := queueBisect(ctx, rc, tx, run, policy.DefaultBranch, t, s, w.ConfirmBudget, now); err != nil {
				return err
			}
		}
	}
	return nil
}
