package store

import (
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Deferred collects writes whose results nobody waits for (audit rows, runs'
// job ids, deliveries' outcomes) and queues them, at the end of a
// transaction, as at most three set-based statements, however many
// deliveries the transaction holds.
type Deferred struct {
	audit struct {
		actors, actions, subjectTypes, details []string
		subjectIDs                             []int64
	}
	jobRuns, jobIDs []int64
	outcome         struct {
		ids, repoIDs     []int64
		outcomes, runIDs []string
	}
}

// Audit queues an audit entry (see Audit).
func (d *Deferred) Audit(actor, action, subjectType string, subjectID int64, details map[string]any) error {
	b, err := auditDetails(details)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	a := &d.audit
	a.actors, a.actions, a.subjectTypes = append(a.actors, actor), append(a.actions, action), append(a.subjectTypes, subjectType)
	a.subjectIDs, a.details = append(a.subjectIDs, subjectID), append(a.details, string(b))
	return nil
}

// SetRunJob queues recording the River job of a run (see SetRunJob).
func (d *Deferred) SetRunJob(runID, jobID int64) {
	d.jobRuns, d.jobIDs = append(d.jobRuns, runID), append(d.jobIDs, jobID)
}

// DeliveryOutcome queues what the intake did with a delivery.
func (d *Deferred) DeliveryOutcome(id, repositoryID int64, outcome string, runIDs []int64) {
	o := &d.outcome
	o.ids, o.repoIDs, o.outcomes, o.runIDs = append(o.ids, id), append(o.repoIDs, repositoryID), append(o.outcomes, outcome), append(o.runIDs, int64ArrayLiteral(runIDs))
}

// Queue moves what was queued onto b, for a caller that sends more with it.
func (d *Deferred) Queue(b *pgx.Batch) {
	if a := d.audit; len(a.actors) > 0 {
		b.Queue(`
			INSERT INTO audit_log (actor, action, subject_type, subject_id, details)
			SELECT actor, action, subject_type, NULLIF(subject_id, 0), details::jsonb
			FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[]) WITH ORDINALITY
				AS u(actor, action, subject_type, subject_id, details, ord)
			ORDER BY ord`, a.actors, a.actions, a.subjectTypes, a.subjectIDs, a.details)
	}
	if len(d.jobRuns) > 0 {
		b.Queue(`
			UPDATE runs SET job_id = u.job_id, updated_at = now()
			FROM unnest($1::bigint[], $2::bigint[]) AS u(run_id, job_id)
			WHERE runs.id = u.run_id`, d.jobRuns, d.jobIDs)
	}
	if o := d.outcome; len(o.ids) > 0 {
		b.Queue(`
			UPDATE deliveries SET outcome = u.outcome, run_ids = u.run_ids::bigint[], repository_id = NULLIF(u.repository_id, 0)
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) AS u(id, outcome, run_ids, repository_id)
			WHERE deliveries.id = u.id`, o.ids, o.outcomes, o.runIDs, o.repoIDs)
	}
	*d = Deferred{}
}
