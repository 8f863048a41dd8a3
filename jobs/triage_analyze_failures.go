package jobs

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// storeFailures upserts the clusters of the run's failures and rewrites its
// failures with their cluster, test and flaky/quarantined flags.
func (w *TriageAnalyzeWorker) storeFailures(ctx context.Context, tx pgx.Tx, run store.Run, found []stepFailure,
	tests []*store.RunTest, flipped map[int64]bool, count bool, now time.Time) ([]triage.SeenCluster, error) {
	byIdentity := make(map[string]*store.Test, len(tests))
	for _, t := range tests {
		byIdentity[triage.TestID(t.Package, t.Name)] = &t.Test
	}
	var hits []store.ClusterHit
	index := map[string]int{}
	for _, sf := range found {
		f := sf.f
		if i, ok := index[f.Fingerprint]; ok {
			hits[i].Occurrences++
			continue
		}
		index[f.Fingerprint] = len(hits)
		hits = append(hits, store.ClusterHit{Fingerprint: f.Fingerprint, Category: f.Category,
			Title: f.Title, Occurrences: 1}) // raw, for people; the normalised form is in the fingerprint
	}
	ids, err := store.UpsertClusters(ctx, tx, run.RepositoryID, hits, count, now)
	if err != nil {
		return nil, err
	}
	news := make([]store.NewFailure, 0, len(found))
	seen := map[int64]*triage.SeenCluster{}
	var order []int64
	for _, sf := range found {
		nf := store.NewFailure{StepID: sf.stepID, ClusterID: ids[sf.f.Fingerprint], Failure: sf.f}
		if t := byIdentity[sf.f.TestID]; t != nil && sf.f.TestID != "" {
			nf.TestID = t.ID
			st := t.Flaky.State
			nf.Quarantined = st == triage.TestQuarantined
			nf.Flaky = st == triage.TestFlaky || nf.Quarantined || flipped[t.ID]
		}
		news = append(news, nf)
		c := seen[nf.ClusterID]
		if c == nil {
			c = &triage.SeenCluster{ID: nf.ClusterID, Failure: sf.f, Flaky: true, Confidence: sf.f.Confidence}
			seen[nf.ClusterID] = c
			order = append(order, nf.ClusterID)
		}
		c.Flaky = c.Flaky && nf.Flaky
		c.Confidence = max(c.Confidence, sf.f.Confidence)
	}
	refs, err := store.ClusterRefs(ctx, tx, order)
	if err != nil {
		return nil, err
	}
	for id, c := range seen {
		c.Muted = refs[id].Muted
	}
	if _, err := store.ReplaceRunFailures(ctx, tx, run.ID, news); err != nil {
		return nil, err
	}
	if err := store.SetClusterRepresentatives(ctx, tx, run.ID); err != nil {
		return nil, err
	}
	out := make([]triage.SeenCluster, 0, len(order))
	for _, id := range order {
		out = append(out, *seen[id])
	}
	return out, nil
}
