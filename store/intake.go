package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Known is what the store holds already about the installation and the
// repository a delivery names (nil when nothing).
type Known struct {
	Installation *Installation
	Repository   *Repository
}

// InsertDeliveryReading inserts a delivery like InsertDelivery and, in the
// same round trip, reads the installation and repository it names, so that
// the intake writes them only when they changed. The webhook answers within
// GitHub's timeout under load because each round trip saved is saved for
// every delivery.
func InsertDeliveryReading(ctx context.Context, tx pgx.Tx, d Delivery, repoGitHubID int64, repoFullName string) (id int64, duplicate bool, k Known, err error) {
	headers, err := json.Marshal(d.Headers)
	if err != nil {
		return 0, false, k, err
	}
	b := &pgx.Batch{}
	b.Queue(insertDeliverySQL, d.DeliveryID, d.Event, d.Action, d.InstallationID, headers, d.Payload)
	b.Queue(`SELECT `+installationColumns+` FROM installations WHERE id = $1`, d.InstallationID)
	b.Queue(`SELECT `+repositoryColumns+` FROM repositories WHERE ($1 <> 0 AND github_id = $1) OR ($1 = 0 AND full_name = $2)`,
		repoGitHubID, repoFullName)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	switch err := br.QueryRow().Scan(&id); {
	case notFound(err) == ErrNotFound:
		duplicate = true
	case err != nil:
		return 0, false, k, fmt.Errorf("insert delivery %s: %w", d.DeliveryID, err)
	}
	if in, err := scanInstallation(br.QueryRow()); err == nil {
		k.Installation = &in
	} else if notFound(err) != ErrNotFound {
		return 0, false, k, fmt.Errorf("installation %d: %w", d.InstallationID, err)
	}
	if r, err := scanRepository(br.QueryRow()); err == nil {
		k.Repository = &r
	} else if notFound(err) != ErrNotFound {
		return 0, false, k, fmt.Errorf("repository %s: %w", repoFullName, err)
	}
	return id, duplicate, k, br.Close()
}

// Deferred collects writes whose results nobody waits for (audit rows, a
// run's job id, a delivery's outcome) and sends them in one round trip at
// the end of a transaction.
type Deferred struct{ b pgx.Batch }

// Audit queues an audit entry (see Audit).
func (d *Deferred) Audit(actor, action, subjectType string, subjectID int64, details map[string]any) error {
	b, err := auditDetails(details)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	d.b.Queue(insertAuditSQL, actor, action, subjectType, subjectID, b)
	return nil
}

// SetRunJob queues recording the River job of a run (see SetRunJob).
func (d *Deferred) SetRunJob(runID, jobID int64) { d.b.Queue(setRunJobSQL, runID, jobID) }

// DeliveryOutcome queues a delivery's outcome (see SetDeliveryOutcome).
func (d *Deferred) DeliveryOutcome(id, repositoryID int64, outcome string, runIDs []int64) {
	if runIDs == nil {
		runIDs = []int64{}
	}
	d.b.Queue(setDeliveryOutcomeSQL, id, outcome, runIDs, repositoryID)
}

// Flush sends what was queued, in tx, and reports the first failure.
func (d *Deferred) Flush(ctx context.Context, tx pgx.Tx) error {
	if d.b.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, &d.b).Close(); err != nil {
		return fmt.Errorf("deferred writes: %w", err)
	}
	d.b = pgx.Batch{}
	return nil
}
