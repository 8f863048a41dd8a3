package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// RepoRef names the repository a delivery is about: by GitHub id, or by
// full name when the id is 0.
type RepoRef struct {
	GitHubID int64
	FullName string
}

// Known is what the store holds already about the installations and
// repositories a batch of deliveries names.
type Known struct {
	installations map[int64]*Installation
	byGitHubID    map[int64]*Repository
	byName        map[string]*Repository
}

// Installation returns the stored installation id, nil when unknown.
func (k Known) Installation(id int64) *Installation { return k.installations[id] }

// Repository returns the stored repository ref names, nil when unknown.
func (k Known) Repository(ref RepoRef) *Repository {
	if ref.GitHubID != 0 {
		return k.byGitHubID[ref.GitHubID]
	}
	return k.byName[ref.FullName]
}

// InsertDeliveries inserts a batch of deliveries, skipping those whose
// X-GitHub-Delivery id was seen before (ids[i] == 0 marks a duplicate,
// including a repeat within the batch), and in the same round trip reads
// the installations and repositories they name, so that the intake writes
// those only when they changed. Round trips, not rows, bound the intake's
// rate, so the whole batch costs one.
func InsertDeliveries(ctx context.Context, tx pgx.Tx, ds []Delivery, repos []RepoRef) (ids []int64, k Known, err error) {
	n := len(ds)
	deliveryIDs, events, actions := make([]string, n), make([]string, n), make([]string, n)
	installs, headers, payloads := make([]int64, n), make([]string, n), make([][]byte, n)
	for i, d := range ds {
		h, err := json.Marshal(d.Headers)
		if err != nil {
			return nil, k, err
		}
		deliveryIDs[i], events[i], actions[i] = d.DeliveryID, d.Event, d.Action
		installs[i], headers[i], payloads[i] = d.InstallationID, string(h), d.Payload
	}
	var repoIDs []int64
	var repoNames []string
	for _, r := range repos {
		if r.GitHubID != 0 {
			repoIDs = append(repoIDs, r.GitHubID)
		} else if r.FullName != "" {
			repoNames = append(repoNames, r.FullName)
		}
	}
	b := &pgx.Batch{}
	b.Queue(`
		INSERT INTO deliveries (delivery_id, event, action, installation_id, headers, payload)
		SELECT d, e, a, NULLIF(i, 0), h::jsonb, p
		FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bytea[]) WITH ORDINALITY AS u(d, e, a, i, h, p, ord)
		ORDER BY ord
		ON CONFLICT (delivery_id) DO NOTHING
		RETURNING delivery_id, id`, deliveryIDs, events, actions, installs, headers, payloads)
	b.Queue(`SELECT `+installationColumns+` FROM installations WHERE id = ANY($1)`, installs)
	b.Queue(`SELECT `+repositoryColumns+` FROM repositories WHERE github_id = ANY($1) OR full_name = ANY($2)`,
		repoIDs, repoNames)
	br := tx.SendBatch(ctx, b)
	defer br.Close()

	inserted := map[string]int64{}
	rows, _ := br.Query()
	for rows.Next() {
		var did string
		var id int64
		if err := rows.Scan(&did, &id); err != nil {
			return nil, k, fmt.Errorf("insert deliveries: %w", err)
		}
		inserted[did] = id
	}
	if err := rows.Err(); err != nil {
		return nil, k, fmt.Errorf("insert deliveries: %w", err)
	}
	ids = make([]int64, n)
	for i, did := range deliveryIDs {
		ids[i] = inserted[did]
		delete(inserted, did) // a repeat within the batch is a duplicate
	}

	k = Known{installations: map[int64]*Installation{}, byGitHubID: map[int64]*Repository{}, byName: map[string]*Repository{}}
	rows, _ = br.Query()
	for rows.Next() {
		in, err := scanInstallation(rows)
		if err != nil {
			return nil, k, fmt.Errorf("read installations: %w", err)
		}
		k.installations[in.ID] = &in
	}
	if err := rows.Err(); err != nil {
		return nil, k, fmt.Errorf("read installations: %w", err)
	}
	rows, _ = br.Query()
	for rows.Next() {
		r, err := scanRepository(rows)
		if err != nil {
			return nil, k, fmt.Errorf("read repositories: %w", err)
		}
		if r.GitHubID != 0 {
			k.byGitHubID[r.GitHubID] = &r
		}
		k.byName[r.FullName] = &r
	}
	if err := rows.Err(); err != nil {
		return nil, k, fmt.Errorf("read repositories: %w", err)
	}
	return ids, k, br.Close()
}

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
	o.ids, o.repoIDs, o.outcomes, o.runIDs = append(o.ids, id), append(o.repoIDs, repositoryID), append(o.outcomes, outcome), append(o.runIDs, bigintArray(runIDs))
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

// bigintArray is ids in PostgreSQL's array literal form, so that a list of
// variable-length arrays can travel as one text[] parameter.
func bigintArray(ids []int64) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, id := range ids {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.FormatInt(id, 10))
	}
	sb.WriteByte('}')
	return sb.String()
}
