package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// DefaultQuarantineFor is how long a quarantine lasts when whoever sets it
// names no end: a quarantine always has an owner and an expiry.
const DefaultQuarantineFor = 14 * 24 * time.Hour

// Quarantine is what quarantining a test takes.
type Quarantine struct {
	Owner  string                 // who will fix the test; required
	Reason string                 // shown in the test's history
	Until  time.Time              // zero: DefaultQuarantineFor from now
	Source store.QuarantineSource // the door: dashboard, api, button
}

// errNoOwner guards the rule the doors check first, with their own wording.
var errNoOwner = errors.New("a quarantine needs an owner")

// Quarantine puts a test in quarantine, or changes the owner, reason and
// expiry of its quarantine: its failures then no longer fail check runs.
func (a *Actions) Quarantine(ctx context.Context, testID int64, q Quarantine, actor string) error {
	q.Owner, q.Reason = strings.TrimSpace(q.Owner), strings.TrimSpace(q.Reason)
	if q.Owner == "" {
		return fmt.Errorf("test %d: %w", testID, errNoOwner)
	}
	until := q.Until
	if until.IsZero() {
		until = a.now().Add(DefaultQuarantineFor)
	}
	until = until.UTC().Truncate(time.Second)
	return a.DB.InTx(ctx, func(tx pgx.Tx) error {
		// store.SetQuarantine records the test's event and the audit entry.
		return store.SetQuarantine(ctx, tx, testID, store.Quarantine{Owner: q.Owner, Source: q.Source, Reason: q.Reason,
			Until: &until, Actor: actor})
	})
}

// Release ends a test's quarantine by hand; the test goes back to flaky and
// its score decides from there.
func (a *Actions) Release(ctx context.Context, testID int64, actor string) error {
	return a.DB.InTx(ctx, func(tx pgx.Tx) error {
		t, err := store.GetTest(ctx, tx, testID)
		if err != nil {
			return err
		}
		if t.State() != triage.TestQuarantined {
			return fmt.Errorf("test %d is %s, not quarantined: %w", testID, t.State(), store.ErrInvalidTransition)
		}
		return store.ReleaseQuarantine(ctx, tx, testID, actor)
	})
}

// QuarantineFlakyTx quarantines the flaky tests that failed in run, owned
// by login (who pressed the check run's button) for DefaultQuarantineFor,
// and reports the run's check run again so that it reflects the
// quarantine. Tests quarantined already keep their quarantine as it is; a
// run in which no flaky test failed has nothing to quarantine
// (store.ErrInvalidTransition).
func (a *Actions) QuarantineFlakyTx(ctx context.Context, tx pgx.Tx, run store.Run, login string) error {
	fs, err := store.RunFailureTests(ctx, tx, run.ID)
	if err != nil {
		return err
	}
	flaky := false
	var todo []int64
	done := map[int64]bool{}
	for _, f := range fs {
		flaky = flaky || f.Flaky
		if !f.Flaky || f.Quarantined || done[f.TestID] {
			continue
		}
		done[f.TestID] = true
		todo = append(todo, f.TestID)
	}
	if !flaky {
		return fmt.Errorf("no flaky test failed in run %d: %w", run.ID, store.ErrInvalidTransition)
	}
	if len(todo) == 0 {
		return nil
	}
	owner := login
	if owner == "" {
		owner = "unknown GitHub user"
	}
	until := a.now().Add(DefaultQuarantineFor).UTC().Truncate(time.Second)
	for _, id := range todo {
		if err := store.SetQuarantine(ctx, tx, id, store.Quarantine{Owner: owner, Source: store.QuarantineByButton,
			Reason: fmt.Sprintf("from the check run of run %d", run.ID), Until: &until, Actor: GitHubActor(login)}); err != nil {
			return err
		}
		// Quarantined here at once; the pull request makes it the repository's.
		reason := fmt.Sprintf("failed and passed in run %d; quarantined from its check run by %s", run.ID, owner)
		if err := ProposeQuarantine(ctx, a.River, tx, run.RepositoryID, id, store.ProposalAdd, reason); err != nil {
			return err
		}
	}
	return EnqueueReport(ctx, a.River, tx, run.ID, PhaseCompleted)
}

// GitHubActor names, for the audit log, a person who acted on GitHub (a
// check run's button, a re-run request), beside the dashboard's and the
// API's "dashboard:…" and "api:…".
func GitHubActor(login string) string {
	if login == "" {
		login = "unknown"
	}
	return "github:" + login
}
