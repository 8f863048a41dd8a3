package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// TransitionIncident applies a person's action (store.IncidentAcknowledge,
// IncidentResolve, IncidentReopen) to an incident, with its timeline event
// and audit entry, and syncs the incident's GitHub issue. It returns the
// incident's new status.
func (a *Actions) TransitionIncident(ctx context.Context, id int64, action store.IncidentAction, note, actor string) (triage.IncidentStatus, error) {
	var status triage.IncidentStatus
	err := a.DB.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		if status, err = store.TransitionIncident(ctx, tx, id, action, actor, note, a.now()); err != nil {
			return err
		}
		return EnqueueIncidentSync(ctx, a.River, tx, id)
	})
	return status, err
}

// OpenIncidentTx opens an incident for the main failure of run at once,
// without waiting for the policy's thresholds, and queues its GitHub issue;
// login pressed the check run's button. The incident is the one the
// analysis would open for that failure's cluster (triage.ClusterIncident,
// openIncident). When the cluster has an open incident already, the
// request goes into that incident's timeline instead. It returns the
// incident's id; a run without failures has nothing to open an incident
// for (store.ErrInvalidTransition).
func (a *Actions) OpenIncidentTx(ctx context.Context, tx pgx.Tx, run store.Run, login string) (int64, error) {
	f, err := store.MainFailure(ctx, tx, run.ID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, fmt.Errorf("run %d has no failure to open an incident for: %w", run.ID, store.ErrInvalidTransition)
	}
	if err != nil {
		return 0, err
	}
	c, err := seenCluster(ctx, tx, f)
	if err != nil {
		return 0, err
	}
	now := a.now()
	id, created, err := openIncident(ctx, tx, run, triage.ClusterIncident(c, run.Branch, a.Incidents), now, GitHubActor(login))
	if err != nil {
		return 0, err
	}
	if !created {
		if id, err = store.OpenIncidentOfCluster(ctx, tx, f.ClusterID); err != nil {
			return 0, err
		}
		return id, store.AddIncidentEvent(ctx, tx, id, store.IncidentEventStatus, fmt.Sprintf("%s asked for an incident from run %d; this one is open already", login, run.ID), run.ID, nil)
	}
	if err := store.AddIncidentEvent(ctx, tx, id, store.IncidentEventStatus, fmt.Sprintf("opened by %s from the check run of run %d", login, run.ID), run.ID, nil); err != nil {
		return 0, err
	}
	return id, EnqueueIncidentSync(ctx, a.River, tx, id)
}

// seenCluster is the cluster of a stored failure as the analysis saw it in
// the failure's run: the failure, and the highest confidence among the
// run's failures in the cluster.
func seenCluster(ctx context.Context, q store.Querier, f store.Failure) (triage.SeenCluster, error) {
	c := triage.SeenCluster{ID: f.ClusterID, Confidence: f.Confidence, Failure: triage.Failure{Category: triage.Category(f.Category),
		Title: f.Title, Hint: f.Hint, Confidence: f.Confidence, Fingerprint: f.Fingerprint}}
	for _, e := range f.Evidence {
		c.Failure.Evidence = append(c.Failure.Evidence, triage.Evidence{Line: e.Line, Text: e.Text})
	}
	if f.ClusterID == 0 {
		return c, nil
	}
	fs, err := store.RunFailures(ctx, q, f.RunID)
	if err != nil {
		return c, err
	}
	for _, o := range fs {
		if o.ClusterID == f.ClusterID {
			c.Confidence = max(c.Confidence, o.Confidence)
		}
	}
	return c, nil
}

// openIncident opens the incident a decision names, for run: a cluster
// incident also gets the cluster's impact and its first bad and last good
// commits on the run's branch. created is false when an open incident of
// the same cluster (or kind) exists already. The analysis and the Open
// incident button both open incidents here.
func openIncident(ctx context.Context, tx pgx.Tx, run store.Run, o triage.IncidentOpening, now time.Time, actor string) (id int64, created bool, err error) {
	n := store.NewIncident{RepositoryID: run.RepositoryID, ClusterID: o.ClusterID, Kind: o.Kind, Title: o.Title,
		Severity: o.Severity, NeedsHuman: o.NeedsHuman, RootCause: o.RootCause, Fingerprint: o.Fingerprint,
		Category: o.Category, Confidence: o.Confidence, RunID: run.ID, At: now, Actor: actor}
	if o.ClusterID != 0 {
		if run.Branch != "" {
			if n.FirstBadSHA, n.LastGoodSHA, err = store.ClusterCommits(ctx, tx, run.RepositoryID, o.ClusterID, run.Branch); err != nil {
				return 0, false, err
			}
		}
		if n.Impact, err = store.ClusterImpact(ctx, tx, o.ClusterID, now); err != nil {
			return 0, false, err
		}
	}
	return store.InsertIncident(ctx, tx, n)
}
