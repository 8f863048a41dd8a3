package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// quarantineActions decides what the analysis of run does about quarantine
// proposals. With flaky.auto_quarantine, a test that became flaky on the
// default branch is quarantined at once and proposed for the quarantine
// file (the events returned); every quarantined test that passed is
// reviewed (its proposal may have run its course).
func quarantineActions(ctx context.Context, tx pgx.Tx, run store.Run, policy store.RepositoryPolicy, tests []*store.RunTest,
	events []store.TestEvent, now time.Time) (propose []store.TestEvent, review []int64, err error) {
	for _, t := range tests {
		if t.Passed && t.State() == triage.TestQuarantined {
			review = append(review, t.ID)
		}
	}
	if run.Branch != policy.DefaultBranch || run.PRNumber != 0 {
		return nil, review, nil
	}
	auto, _, err := store.RepositoryFlakyActions(ctx, tx, run.RepositoryID)
	if err != nil || !auto {
		return nil, review, err
	}
	until := now.Add(DefaultQuarantineFor).UTC().Truncate(time.Second)
	for _, e := range events {
		if e.To != triage.TestFlaky {
			continue
		}
		reason := fmt.Sprintf("confirmed flaky in run %d: %s", run.ID, e.Reason)
		if err := store.SetQuarantine(ctx, tx, e.TestID, store.Quarantine{Owner: "Sentinel (flaky.auto_quarantine)", Source: store.QuarantineByPolicy,
			Reason: reason, Until: &until, Actor: "sentinel"}); err != nil {
			return nil, nil, err
		}
		e.Reason = reason
		propose = append(propose, e)
	}
	return propose, review, nil
}
