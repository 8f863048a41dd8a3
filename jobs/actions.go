package jobs

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// Actions are the changes a person asks for, each implemented once for
// every door it has: the dashboard's forms, the JSON API and the buttons of
// a check run (which arrive through the webhook intake).
//
//	Rerun               a new attempt of a run's commit       dashboard, API, Re-run failed button,
//	                                                            GitHub's re-run requests
//	Cancel              stop a run that has not finished      dashboard, API
//	Approve             let a pull request from a fork run    dashboard, API
//	Quarantine          quarantine one test                   dashboard, API
//	QuarantineFlakyTx   quarantine a run's flaky failures     Quarantine flaky button
//	Release             end a test's quarantine               dashboard, API
//	OpenIncidentTx      open an incident for a run's failure  Open incident button
//	TransitionIncident  acknowledge, resolve or reopen        dashboard, API
//	RetryJob            make a dead job available again       dashboard
//	SetSecret           create or replace a secret            dashboard, API, sentinel secret set
//	DeleteSecret        remove a secret                       dashboard, API, sentinel secret delete
//	ClearCaches         start a repository on empty caches    API
//
// Each is one transaction: the change, the jobs it causes (enqueue.go) and
// its audit entry commit together or not at all. The ...Tx forms join the
// caller's transaction instead (the intake's, for buttons); they refuse
// before they write, so a refusal leaves that transaction as it was.
//
// An action the state does not allow (approving a run that does not await
// approval, releasing a test that is not quarantined) fails with
// store.ErrInvalidTransition, which every door answers 409; an unknown
// subject fails with store.ErrNotFound (404). Checking the input a door
// takes (an owner is required, a date must parse) is the door's job.
type Actions struct {
	DB    *store.DB
	River *river.Client[pgx.Tx]
	// Incidents grades an incident opened by hand the way the analysis
	// grades those it opens (severity, needs-human, root cause).
	Incidents triage.IncidentPolicy
	// Secrets seals the values of SetSecret; nil refuses secret changes.
	Secrets *SecretBox
	Now     func() time.Time // nil: time.Now
}

func (a *Actions) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// RetryJob makes a River job (on the dead-letter page, a discarded one)
// available to the workers again.
func (a *Actions) RetryJob(ctx context.Context, jobID int64, actor string) error {
	return a.DB.InTx(ctx, func(tx pgx.Tx) error {
		job, err := RetryJob(ctx, a.River, tx, jobID)
		if err != nil {
			return err
		}
		return store.Audit(ctx, tx, actor, "job.retry", "river_job", jobID, map[string]any{"kind": job.Kind, "from": string(job.State)})
	})
}
