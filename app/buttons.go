package app

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// ButtonQuarantineFor is how long a quarantine set from the check run
// button lasts: a quarantine always has an owner and an expiry.
const ButtonQuarantineFor = 14 * 24 * time.Hour

// DefaultButtons are the check run buttons besides "Re-run failed":
// cmd wires them into Server.Buttons.
func (s *Server) DefaultButtons() map[string]ButtonHandler {
	return map[string]ButtonHandler{
		jobs.ActionQuarantineFlaky: s.buttonQuarantineFlaky,
		jobs.ActionOpenIncident:    s.buttonOpenIncident,
	}
}

// buttonQuarantineFlaky quarantines the flaky tests that failed in the run,
// owned by whoever pressed the button, for ButtonQuarantineFor. The run's
// check run is reported again so that it reflects the quarantine.
func (s *Server) buttonQuarantineFlaky(ctx context.Context, tx pgx.Tx, run store.Run, sender string) error {
	fs, err := store.RunFailureTests(ctx, tx, run.ID)
	if err != nil {
		return err
	}
	until := time.Now().Add(ButtonQuarantineFor).UTC().Truncate(time.Second)
	done := map[int64]bool{}
	for _, f := range fs {
		if !f.Flaky || f.Quarantined || done[f.TestID] {
			continue
		}
		done[f.TestID] = true
		owner := sender
		if owner == "" {
			owner = "unknown GitHub user"
		}
		if err := store.SetQuarantine(ctx, tx, f.TestID, store.Quarantine{Owner: owner, Source: "button",
			Reason: fmt.Sprintf("from the check run of run %d", run.ID), Until: &until, Actor: "github:" + sender}); err != nil {
			return err
		}
	}
	if len(done) == 0 {
		return nil
	}
	return jobs.EnqueueReport(ctx, s.River, tx, run.ID, jobs.PhaseCompleted)
}

// buttonOpenIncident opens an incident for the run's main failure at once,
// without waiting for the policy's thresholds, and queues its GitHub issue.
// When its cluster already has an open incident, the request is added to
// that incident's timeline instead.
func (s *Server) buttonOpenIncident(ctx context.Context, tx pgx.Tx, run store.Run, sender string) error {
	f, err := store.MainFailure(ctx, tx, run.ID)
	if err != nil {
		return err
	}
	p := triage.IncidentPolicy{}.WithDefaults()
	cat := triage.Category(f.Category)
	needsHuman := triage.NeedsHuman(cat, f.Confidence, p)
	cause := triage.RootCause(triage.Failure{Category: cat, Title: f.Title, Hint: f.Hint, Confidence: f.Confidence}, p)
	n := store.NewIncident{RepositoryID: run.RepositoryID, ClusterID: f.ClusterID, Kind: "cluster",
		Title:    triage.Clip(fmt.Sprintf("%s on %s: %s", f.Category, run.Branch, f.Title), 200),
		Severity: triage.Severity("cluster", cat), NeedsHuman: needsHuman, RootCause: cause,
		Fingerprint: f.Fingerprint, Category: f.Category, Confidence: f.Confidence, RunID: run.ID, At: time.Now()}
	if f.ClusterID != 0 {
		if n.Impact, err = store.ClusterImpact(ctx, tx, f.ClusterID, time.Now()); err != nil {
			return err
		}
		if run.Branch != "" {
			if n.FirstBadSHA, n.LastGoodSHA, err = store.ClusterCommits(ctx, tx, run.RepositoryID, f.ClusterID, run.Branch); err != nil {
				return err
			}
		}
	}
	id, created, err := store.InsertIncident(ctx, tx, n)
	if err != nil {
		return err
	}
	if !created {
		if id, err = store.OpenIncidentOfCluster(ctx, tx, f.ClusterID); err != nil {
			return err
		}
		return store.AddIncidentEvent(ctx, tx, id, "status", fmt.Sprintf("%s asked for an incident from run %d; this one is open already", sender, run.ID), run.ID, nil)
	}
	if err := store.AddIncidentEvent(ctx, tx, id, "status", fmt.Sprintf("opened by %s from the check run of run %d", sender, run.ID), run.ID, nil); err != nil {
		return err
	}
	return jobs.EnqueueIncidentSync(ctx, s.River, tx, id)
}
