package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
)

// Buttons carries out the completed check run's buttons other than
// "Re-run failed" (which the intake does itself). Each method has the shape
// of app.ButtonHandler: it runs inside the intake's transaction, so the rows
// it writes and the jobs it inserts commit with the delivery, once.
type Buttons struct {
	River *river.Client[pgx.Tx] // inserts the follow-up jobs with InsertTx
	Now   func() time.Time      // nil: time.Now
}

func (b Buttons) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// QuarantineFlaky quarantines every flaky test that failed in run (those
// already quarantined stay as they are), owned by whoever pressed the
// button, and re-renders the check run so it names them as quarantined.
func (b Buttons) QuarantineFlaky(ctx context.Context, tx pgx.Tx, run store.Run, sender string) error {
	_, failures, err := store.CheckRunReport(ctx, tx, run.ID)
	if err != nil {
		return err
	}
	done := map[int64]bool{}
	for _, f := range failures {
		if !f.Flaky || f.Quarantined || f.TestID == 0 || done[f.TestID] {
			continue
		}
		done[f.TestID] = true
		err := store.SetQuarantine(ctx, tx, f.TestID, store.Quarantine{
			Owner: sender, Source: "button", Actor: "github:" + sender,
			Reason: fmt.Sprintf("flaky in run %d; quarantined from the check run", run.ID),
		})
		if err != nil {
			return err
		}
	}
	if len(done) == 0 {
		return nil
	}
	_, err = b.River.InsertTx(ctx, tx, ReportCheckArgs{RunID: run.ID, Phase: PhaseCompleted}, nil)
	return err
}

// OpenIncident opens an incident for each failure cluster of run that is not
// a flaky test and has no open incident yet, and queues filing its issue.
// It bypasses the automatic thresholds: a person asked for it.
func (b Buttons) OpenIncident(ctx context.Context, tx pgx.Tx, run store.Run, sender string) error {
	_, failures, err := store.CheckRunReport(ctx, tx, run.ID)
	if err != nil {
		return err
	}
	seen := map[int64]bool{}
	for _, f := range failures {
		if f.Flaky || f.ClusterID == 0 || seen[f.ClusterID] {
			continue
		}
		seen[f.ClusterID] = true
		title := f.Title
		if f.TestName != "" {
			title = f.TestName + ": " + f.Title
		}
		id, created, err := store.InsertIncident(ctx, tx, store.NewIncident{
			RepositoryID: run.RepositoryID, ClusterID: f.ClusterID, Kind: "cluster",
			Title: title, Severity: "medium", RootCause: f.Hint,
			Fingerprint: f.Fingerprint, Category: f.Category, Confidence: f.Confidence,
			RunID: run.ID, At: b.now(),
		})
		if err != nil {
			return err
		}
		if !created {
			continue // the cluster has an open incident already
		}
		if err := store.AddIncidentEvent(ctx, tx, id, "opened", "opened from the check run by "+sender, run.ID, map[string]any{"sender": sender}); err != nil {
			return err
		}
		if _, err := b.River.InsertTx(ctx, tx, IncidentSyncArgs{IncidentID: id}, nil); err != nil {
			return err
		}
	}
	return nil
}
