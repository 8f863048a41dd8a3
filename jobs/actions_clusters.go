package jobs

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// Cluster control: a person corrects how failures were grouped. Each action
// takes the repository's analysis lock, so it never interleaves with an
// analysis that is fingerprinting the same repository's failures.

// MergeClusters makes cluster from part of cluster into: its failures,
// fingerprints (later occurrences go to into), incidents and counts. When
// both have an unresolved incident, the older stays and the other's GitHub
// issue is closed as its duplicate.
func (a *Actions) MergeClusters(ctx context.Context, into, from int64, actor string) error {
	return a.DB.InTx(ctx, func(tx pgx.Tx) error {
		keep, drop, err := lockClusterPair(ctx, tx, into, from)
		if err != nil {
			return err
		}
		sync, err := mergeClusters(ctx, tx, keep, drop, actor, "merged by a person", a.now())
		if err != nil {
			return err
		}
		for _, id := range sync {
			if err := EnqueueIncidentSync(ctx, a.River, tx, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// lockClusterPair locks two clusters of one repository, and the
// repository's analyses, in a fixed order.
func lockClusterPair(ctx context.Context, tx pgx.Tx, into, from int64) (store.ClusterRef, store.ClusterRef, error) {
	var keep, drop store.ClusterRef
	if into == from {
		return keep, drop, fmt.Errorf("a cluster cannot be merged into itself: %w", store.ErrInvalidTransition)
	}
	first, err := lockClusterForControl(ctx, tx, min(into, from))
	if err != nil {
		return keep, drop, err
	}
	second, err := store.LockCluster(ctx, tx, max(into, from))
	if err != nil {
		return keep, drop, err
	}
	keep, drop = first, second
	if into != first.ID {
		keep, drop = second, first
	}
	if keep.RepositoryID != drop.RepositoryID {
		return keep, drop, fmt.Errorf("clusters %d and %d belong to different repositories: %w", into, from, store.ErrInvalidTransition)
	}
	return keep, drop, nil
}

// lockClusterForControl takes the analysis lock of a cluster's repository,
// then locks the cluster: in the analysis's order, so the two never wait
// on each other in a circle.
func lockClusterForControl(ctx context.Context, tx pgx.Tx, id int64) (store.ClusterRef, error) {
	refs, err := store.ClusterRefs(ctx, tx, []int64{id})
	if err != nil {
		return store.ClusterRef{}, err
	}
	c, ok := refs[id]
	if !ok {
		return c, fmt.Errorf("cluster %d: %w", id, store.ErrNotFound)
	}
	if err := store.LockRepositoryAnalysis(ctx, tx, c.RepositoryID); err != nil {
		return c, err
	}
	return store.LockCluster(ctx, tx, id)
}

// SplitCluster moves a mis-grouped failure, and every failure of the
// cluster with the same message, out into a cluster of its own, keyed by
// the message's own fingerprint and pinned: later occurrences of that
// message go there, whatever template it fits. It returns the new
// cluster. A failure whose own fingerprint is the cluster's cannot leave it
// (split the others off instead).
func (a *Actions) SplitCluster(ctx context.Context, clusterID, failureID int64, actor string) (int64, error) {
	var id int64
	err := a.DB.InTx(ctx, func(tx pgx.Tx) error {
		c, err := lockClusterForControl(ctx, tx, clusterID)
		if err != nil {
			return err
		}
		f, err := store.GetFailure(ctx, tx, failureID)
		if err != nil {
			return err
		}
		if f.ClusterID != c.ID {
			return fmt.Errorf("failure %d is not in cluster %d: %w", failureID, clusterID, store.ErrInvalidTransition)
		}
		own := f.Fingerprint
		if f.HasText {
			own = triage.Fingerprint(f.Category, f.NormalizedMessage, f.Identity)
		}
		if own == c.Fingerprint {
			return fmt.Errorf("failure %d is what cluster %d is keyed by; split the others off instead: %w", failureID, clusterID, store.ErrInvalidTransition)
		}
		if id, err = store.SplitFailures(ctx, tx, c, f, own, a.now()); err != nil {
			return err
		}
		return store.Audit(ctx, tx, actor, "cluster.split", "cluster", c.ID, map[string]any{"failure": failureID, "into": id, "fingerprint": own})
	})
	return id, err
}

// RenameCluster gives a cluster the title people see; "" restores the title
// of its failures.
func (a *Actions) RenameCluster(ctx context.Context, clusterID int64, title, actor string) error {
	title = strings.TrimSpace(title)
	return a.DB.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := lockClusterForControl(ctx, tx, clusterID); err != nil {
			return err
		}
		if err := store.SetClusterTitle(ctx, tx, clusterID, title); err != nil {
			return err
		}
		return store.Audit(ctx, tx, actor, "cluster.rename", "cluster", clusterID, map[string]any{"title": title})
	})
}

// MuteCluster mutes a cluster (it opens no incident; one it has stays as it
// is) or unmutes it. Muting a muted cluster is refused.
func (a *Actions) MuteCluster(ctx context.Context, clusterID int64, muted bool, actor string) error {
	return a.DB.InTx(ctx, func(tx pgx.Tx) error {
		c, err := lockClusterForControl(ctx, tx, clusterID)
		if err != nil {
			return err
		}
		if c.Muted == muted {
			return fmt.Errorf("cluster %d is already %s: %w", clusterID, map[bool]string{true: "muted", false: "not muted"}[muted], store.ErrInvalidTransition)
		}
		if err := store.SetClusterMuted(ctx, tx, clusterID, muted); err != nil {
			return err
		}
		action := "cluster.unmute"
		if muted {
			action = "cluster.mute"
		}
		return store.Audit(ctx, tx, actor, action, "cluster", clusterID, nil)
	})
}
