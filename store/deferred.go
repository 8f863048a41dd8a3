package store

import (
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Deferred collects writes whose results nobody waits for (audit rows,
// deliveries with their outcomes, a replayed delivery's new outcome) and
// queues them, at the end of a transaction, as at most three set-based
// statements, however many deliveries the transaction holds.
type Deferred struct {
	audit struct {
		actors, actions, subjectTypes, details []string
		subjectIDs                             []int64
	}
	deliveries struct {
		deliveryIDs, events, actions, headers, outcomes, runIDs []string
		installs, repoIDs                                       []int64
		payloads                                                [][]byte
	}
	outcome struct {
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

// Delivery queues inserting a delivery with what the intake did with it:
// its payload as received, its outcome, repository and runs. The unique
// X-GitHub-Delivery id fails the statement, and so the transaction, if
// another transaction recorded the delivery meanwhile.
func (d *Deferred) Delivery(rec Delivery) {
	h, _ := json.Marshal(rec.Headers) // a map of strings always encodes
	l := &d.deliveries
	l.deliveryIDs, l.events, l.actions = append(l.deliveryIDs, rec.DeliveryID), append(l.events, rec.Event), append(l.actions, rec.Action)
	l.headers, l.outcomes, l.runIDs = append(l.headers, string(h)), append(l.outcomes, rec.Outcome), append(l.runIDs, int64ArrayLiteral(rec.RunIDs))
	l.installs, l.repoIDs, l.payloads = append(l.installs, rec.InstallationID), append(l.repoIDs, rec.RepositoryID), append(l.payloads, rec.Payload)
}

// DeliveryOutcome queues what the intake did with a delivery recorded
// before (a replay).
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
	if l := d.deliveries; len(l.deliveryIDs) > 0 {
		b.Queue(`
			INSERT INTO deliveries (delivery_id, event, action, installation_id, repository_id, headers, payload, outcome, run_ids)
			SELECT d, e, a, NULLIF(i, 0), NULLIF(r, 0), h::jsonb, p, o, ids::bigint[]
			FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::bytea[], $8::text[], $9::text[])
				WITH ORDINALITY AS u(d, e, a, i, r, h, p, o, ids, ord)
			ORDER BY ord`, l.deliveryIDs, l.events, l.actions, l.installs, l.repoIDs, l.headers, l.payloads, l.outcomes, l.runIDs)
	}
	if o := d.outcome; len(o.ids) > 0 {
		b.Queue(`
			UPDATE deliveries SET outcome = u.outcome, run_ids = u.run_ids::bigint[], repository_id = NULLIF(u.repository_id, 0)
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) AS u(id, outcome, run_ids, repository_id)
			WHERE deliveries.id = u.id`, o.ids, o.outcomes, o.runIDs, o.repoIDs)
	}
	*d = Deferred{}
}
