package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Delivery is one webhook delivery as GitHub sent it.
type Delivery struct {
	ID             int64
	DeliveryID     string // X-GitHub-Delivery
	Event          string
	Action         string
	InstallationID int64
	RepositoryID   int64
	Headers        map[string]string
	Payload        []byte
	Outcome        string
	RunIDs         []int64
	ReceivedAt     time.Time
}

// MarkDeliveryReplayed stamps a delivery that `sentinel replay` processed again.
func MarkDeliveryReplayed(ctx context.Context, q Querier, id int64) error {
	_, err := q.Exec(ctx, `UPDATE deliveries SET replayed_at = now() WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delivery %d replayed: %w", id, err)
	}
	return nil
}

// GetDelivery returns a stored delivery by its X-GitHub-Delivery id.
func GetDelivery(ctx context.Context, q Querier, deliveryID string) (Delivery, error) {
	var d Delivery
	var headers []byte
	err := q.QueryRow(ctx, `
		SELECT id, delivery_id, event, action, COALESCE(installation_id, 0), COALESCE(repository_id, 0),
			headers, payload, outcome, run_ids, received_at
		FROM deliveries WHERE delivery_id = $1`, deliveryID).Scan(
		&d.ID, &d.DeliveryID, &d.Event, &d.Action, &d.InstallationID, &d.RepositoryID,
		&headers, &d.Payload, &d.Outcome, &d.RunIDs, &d.ReceivedAt)
	if err != nil {
		return Delivery{}, fmt.Errorf("delivery %s: %w", deliveryID, notFound(err))
	}
	if err := json.Unmarshal(headers, &d.Headers); err != nil {
		return Delivery{}, fmt.Errorf("delivery %s headers: %w", deliveryID, err)
	}
	return d, nil
}

// RepoRef names the repository a delivery is about: by GitHub id, or by
// full name when the id is 0.
type RepoRef struct {
	GitHubID int64
	FullName string
}

// sqlIntakePlans sets how the intake's transaction plans its statements.
// Each is a prepared statement whose plan PostgreSQL may cache per
// connection:
//   - Sequential scans off: every statement of the intake reads a few rows
//     by key, and on a fresh install under its first load a generic plan
//     cached while deliveries held a few hundred rows scanned the whole
//     table on every batch, up to 30 ms at 60,000 rows, until autovacuum
//     analysed it a minute later. With them off, each plan cached uses its
//     index whatever the table's size then
//     (TestIntakePlansUseIndexesWhileTablesGrow).
//   - Generic plans forced: under the default, PostgreSQL rated the
//     supersession's generic plan dearer than the custom ones it tried
//     first and planned it anew on every batch, 0.64 ms each under load,
//     more than it took to run (TestIntakePlansOncePerConnection). The
//     generic plans are index look-ups by key
//     (TestSupersedePlanIsALookUpPerLane), as good for any batch.
const sqlIntakePlans = `SELECT set_config('enable_seqscan', 'off', true), set_config('plan_cache_mode', 'force_generic_plan', true)`

// sqlSeenDeliveries reads which of the ids were recorded before.
const sqlSeenDeliveries = `SELECT delivery_id FROM deliveries WHERE delivery_id = ANY($1)`

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

// LookupDeliveries reads, in one round trip, which of the X-GitHub-Delivery
// ids were recorded before and what the store holds about the
// installations and repositories a batch of deliveries names, so that the
// intake writes those only when they changed and each delivery row once,
// at the end of its transaction, with its outcome (Deferred.Delivery).
// Round trips, not rows, bound the intake's rate, so the whole batch costs
// one.
//
// It opens the intake's transaction, and first sets how the rest of it is
// planned (sqlIntakePlans).
func LookupDeliveries(ctx context.Context, tx pgx.Tx, deliveryIDs []string, installs []int64, repos []RepoRef) (seen map[string]bool, k Known, err error) {
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
	b.Queue(sqlIntakePlans)
	b.Queue(sqlSeenDeliveries, deliveryIDs)
	b.Queue(`SELECT `+installationColumns+` FROM installations WHERE id = ANY($1)`, installs)
	b.Queue(`SELECT `+repositoryColumns+` FROM repositories WHERE github_id = ANY($1) OR full_name = ANY($2)`,
		repoIDs, repoNames)
	br := tx.SendBatch(ctx, b)
	defer br.Close()

	if _, err := br.Exec(); err != nil {
		return nil, k, fmt.Errorf("intake transaction: %w", err)
	}
	seen = map[string]bool{}
	rows, _ := br.Query()
	for rows.Next() {
		var did string
		if err := rows.Scan(&did); err != nil {
			return nil, k, fmt.Errorf("read deliveries: %w", err)
		}
		seen[did] = true
	}
	if err := rows.Err(); err != nil {
		return nil, k, fmt.Errorf("read deliveries: %w", err)
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
	return seen, k, br.Close()
}
