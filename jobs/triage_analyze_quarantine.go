package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// quarantineActions decides what the analysis of run does about quarantine
// proposals: every quarantined test that passed is reviewed (its proposal
// may have run its course), and the tests that became flaky are returned
// for autoQuarantine once the analysis has its River client.
func quarantineActions(tests []*store.RunTest, events []store.TestEvent) (flaky []store.TestEvent, review []int64) {
	for _, t := range tests {
		if t.Passed && t.State() == triage.TestQuarantined {
			review = append(review, t.ID)
		}
	}
	for _, e := range events {
		if e.To == triage.TestFlaky {
			flaky = append(flaky, e)
		}
	}
	return flaky, review
}

// autoQuarantine applies flaky.auto_quarantine to a test that became flaky
// (ev) on run: on the default branch, the test is quarantined at once and
// proposed for the quarantine file. Without the policy, or elsewhere, it
// does nothing. Both the analysis and a confirmation verdict call it.
func autoQuarantine(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, run store.Run, ev store.TestEvent, now time.Time) error {
	if run.PRNumber != 0 {
		return nil
	}
	policy, err := store.GetRepositoryPolicy(ctx, tx, run.RepositoryID)
	if err != nil || run.Branch != policy.DefaultBranch {
		return err
	}
	auto, _, err := store.RepositoryFlakyActions(ctx, tx, run.RepositoryID)
	if err != nil || !auto {
		return err
	}
	until := now.Add(DefaultQuarantineFor).UTC().Truncate(time.Second)
	reason := fmt.Sprintf("confirmed flaky in run %d: %s", run.ID, ev.Reason)
	if err := store.SetQuarantine(ctx, tx, ev.TestID, store.Quarantine{Owner: "Sentinel (flaky.auto_quarantine)", Source: store.QuarantineByPolicy,
		Reason: reason, Until: &until, Actor: "sentinel"}); err != nil {
		return err
	}
	return ProposeQuarantine(ctx, rc, tx, run.RepositoryID, ev.TestID, store.ProposalAdd, reason)
}
