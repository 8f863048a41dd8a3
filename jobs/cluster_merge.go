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

// mergeClusters makes cluster drop part of cluster keep (same repository),
// for a person's merge and for templates that widened alike. When both have
// an unresolved incident, the older one stays and the other is resolved as
// its duplicate; its GitHub issue is then closed as a duplicate with a link
// to the kept one (IncidentSyncWorker). It returns the incidents to sync.
func mergeClusters(ctx context.Context, tx pgx.Tx, keep, drop store.ClusterRef, actor, reason string, now time.Time) ([]int64, error) {
	if keep.ID == drop.ID || keep.RepositoryID != drop.RepositoryID {
		return nil, fmt.Errorf("merge cluster %d into %d: not two clusters of one repository: %w", drop.ID, keep.ID, store.ErrInvalidTransition)
	}
	ki, err := openIncidentOf(ctx, tx, keep.ID)
	if err != nil {
		return nil, err
	}
	di, err := openIncidentOf(ctx, tx, drop.ID)
	if err != nil {
		return nil, err
	}
	details := map[string]any{"merged": drop.ID, "fingerprint": drop.Fingerprint, "reason": reason}
	var sync []int64
	if ki != nil && di != nil {
		kept, dup := ki, di
		if di.OpenedAt.Before(ki.OpenedAt) || (di.OpenedAt.Equal(ki.OpenedAt) && di.ID < ki.ID) {
			kept, dup = di, ki
		}
		if err := store.SetIncidentDuplicate(ctx, tx, dup.ID, kept.ID); err != nil {
			return nil, err
		}
		why := fmt.Sprintf("duplicate of incident %d: cluster %d was merged into cluster %d", kept.ID, drop.ID, keep.ID)
		if err := store.SetIncidentStatus(ctx, tx, dup.ID, dup.Status, triage.IncidentResolved, dup.CleanRuns, why, actor, 0, now); err != nil {
			return nil, err
		}
		if err := store.AddIncidentEvent(ctx, tx, kept.ID, store.IncidentEventStatus,
			fmt.Sprintf("incident %d was merged into this one (cluster %d into %d)", dup.ID, drop.ID, keep.ID), 0, nil); err != nil {
			return nil, err
		}
		details["incident_kept"], details["incident_closed"] = kept.ID, dup.ID
		sync = append(sync, dup.ID)
	}
	if err := store.MergeClusterRows(ctx, tx, keep.ID, drop.ID); err != nil {
		return nil, err
	}
	return sync, store.Audit(ctx, tx, actor, "cluster.merge", "cluster", keep.ID, details)
}

// openIncidentOf returns the cluster's unresolved incident, nil when none.
func openIncidentOf(ctx context.Context, tx pgx.Tx, clusterID int64) (*store.Incident, error) {
	id, err := store.OpenIncidentOfCluster(ctx, tx, clusterID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	in, err := store.GetIncident(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	return &in, nil
}
