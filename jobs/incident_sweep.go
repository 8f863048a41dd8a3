package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// IncidentSweepWorker applies the transitions that time alone causes:
// quarantines past their expiry end, incidents nobody has seen for
// Policy.StaleAfter are resolved, and incidents whose GitHub issue lags
// behind (a sync that was lost or gave up) get a new incident.sync.
type IncidentSweepWorker struct {
	river.WorkerDefaults[IncidentSweepArgs]
	DB     *store.DB
	Policy triage.IncidentPolicy
	Log    *slog.Logger
	Now    func() time.Time
}

// SweepResult says what a sweep changed.
type SweepResult struct {
	Expired  []int64 // tests whose quarantine ended
	Resolved []int64 // stale incidents resolved
	Synced   []int64 // incidents queued for sync
}

func (w *IncidentSweepWorker) Work(ctx context.Context, job *river.Job[IncidentSweepArgs]) error {
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return fmt.Errorf("river client: %w", err)
	}
	res, err := w.Sweep(ctx, client)
	if err != nil {
		return err
	}
	if w.Log != nil && len(res.Expired)+len(res.Resolved)+len(res.Synced) > 0 {
		w.Log.Info("incident sweep", "quarantines_expired", len(res.Expired), "incidents_resolved", len(res.Resolved), "syncs", len(res.Synced))
	}
	return nil
}

// maxSweepSyncs bounds the syncs one sweep queues.
const maxSweepSyncs = 200

// Sweep does one sweep in one transaction.
func (w *IncidentSweepWorker) Sweep(ctx context.Context, rc *river.Client[pgx.Tx]) (SweepResult, error) {
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	p := w.Policy.WithDefaults()
	var res SweepResult
	err := w.DB.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		if res.Expired, err = store.ExpireQuarantines(ctx, tx, now); err != nil {
			return err
		}
		stale, err := store.ListStaleIncidents(ctx, tx, now.Add(-p.StaleAfter))
		if err != nil {
			return err
		}
		for _, in := range stale {
			reason := fmt.Sprintf("resolved: not seen for %s", p.StaleAfter)
			if err := store.SetIncidentStatus(ctx, tx, in.ID, in.Status, triage.IncidentResolved, in.CleanRuns, reason, "sweep", 0, now); err != nil {
				return err
			}
			res.Resolved = append(res.Resolved, in.ID)
		}
		lagging, err := store.ListUnsyncedIncidents(ctx, tx, now.Add(-p.CommentEvery), maxSweepSyncs)
		if err != nil {
			return err
		}
		ids := append([]int64(nil), res.Resolved...)
		for _, in := range lagging {
			ids = append(ids, in.ID)
		}
		seen := map[int64]bool{}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			if err := EnqueueIncidentSync(ctx, rc, tx, id); err != nil {
				return err
			}
			res.Synced = append(res.Synced, id)
		}
		return nil
	})
	return res, err
}
