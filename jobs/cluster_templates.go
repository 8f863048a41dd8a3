package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// loadTemplates returns the repository's template miner as stored (empty
// when it has none). The caller holds store.LockRepositoryAnalysis, so the
// history a miner learns from is the order in which the repository's runs
// were first analysed, the same on every machine and after every restart.
func loadTemplates(ctx context.Context, tx pgx.Tx, repositoryID int64) (*triage.TemplateMiner, error) {
	m := triage.NewTemplateMiner(triage.MinerOptions{})
	data, err := store.RepositoryTemplates(ctx, tx, repositoryID)
	if err != nil || data == nil {
		return m, err
	}
	if err := m.UnmarshalBinary(data); err != nil {
		return nil, fmt.Errorf("templates of repository %d: %w", repositoryID, err)
	}
	return m, nil
}

// saveTemplates stores the miner when it learned a template or widened one.
func saveTemplates(ctx context.Context, tx pgx.Tx, repositoryID int64, m *triage.TemplateMiner, changesAtLoad uint64) error {
	if m.Changes() == changesAtLoad {
		return nil
	}
	data, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	return store.SaveRepositoryTemplates(ctx, tx, repositoryID, data, m.Len())
}

// templateFingerprints gives the run's failures their fingerprints over
// the repository's templates, so occurrences whose variable parts differ
// meet in one cluster. The first analysis of a run teaches the miner its
// messages; a later one only matches. A failure whose own fingerprint is a
// cluster a person split off keeps it. It returns whether a template
// widened, after which the repository's stored failures are fingerprinted
// again (refingerprint).
func templateFingerprints(ctx context.Context, tx pgx.Tx, repositoryID int64, found []stepFailure, learn bool) (*triage.TemplateMiner, bool, error) {
	m, err := loadTemplates(ctx, tx, repositoryID)
	if err != nil {
		return nil, false, err
	}
	changes := m.Changes()
	if learn {
		for _, sf := range found {
			m.Add(sf.f.Category, sf.f.NormalizedMessage)
		}
	}
	exact := make([]string, len(found))
	for i, sf := range found {
		exact[i] = sf.f.Fingerprint
	}
	refs, err := store.ResolveFingerprints(ctx, tx, repositoryID, exact)
	if err != nil {
		return nil, false, err
	}
	for i := range found {
		f := &found[i].f
		if r, ok := refs[f.Fingerprint]; ok && r.Pinned {
			continue
		}
		f.Fingerprint = m.FailureFingerprint(*f)
	}
	if err := saveTemplates(ctx, tx, repositoryID, m, changes); err != nil {
		return nil, false, err
	}
	return m, m.Widenings() > 0, nil
}

// refingerprint fingerprints the repository's stored failures again over
// the miner's templates, where their normalised message was recorded, so
// old and new occurrences of one cause meet. Clusters keep their identity:
// a cluster whose fingerprint changed takes the new one and keeps the old
// as an alias; two clusters that now share a fingerprint become one, the
// older kept (mergeClusters, which also keeps the older incident). Rows
// without a recorded message, and clusters a person split off, stay as
// they are. It returns the incidents whose GitHub issue must follow.
func refingerprint(ctx context.Context, tx pgx.Tx, repositoryID int64, m *triage.TemplateMiner, now time.Time) (int, []int64, error) {
	texts, err := store.RepositoryFailureTexts(ctx, tx, repositoryID)
	if err != nil {
		return 0, nil, err
	}
	var sync []int64
	changed := 0
	for _, t := range texts {
		exact := triage.Fingerprint(t.Category, t.Normalized, t.Identity)
		fp := m.Fingerprint(t.Category, t.Normalized, t.Identity)
		if fp == t.Fingerprint {
			continue
		}
		refs, err := store.ResolveFingerprints(ctx, tx, repositoryID, []string{exact, fp, t.Fingerprint})
		if err != nil {
			return 0, nil, err
		}
		if r, ok := refs[exact]; ok && r.Pinned {
			fp = exact
			if fp == t.Fingerprint {
				continue
			}
		}
		cur, ok := refs[t.Fingerprint]
		if !ok {
			continue // its cluster is gone
		}
		target, ok := refs[fp]
		switch {
		case !ok && cur.Fingerprint == t.Fingerprint && !cur.Pinned:
			err = store.Rekey(ctx, tx, cur, fp)
		case !ok:
			err = store.AliasFingerprint(ctx, tx, repositoryID, fp, cur.ID)
		case target.ID == cur.ID:
		case cur.Pinned || target.Pinned:
			continue // a person decided these stay apart
		default:
			keep, drop := target, cur
			if cur.ID < target.ID {
				keep, drop = cur, target
			}
			var ids []int64
			ids, err = mergeClusters(ctx, tx, keep, drop, "worker", "their messages now share a template", now)
			if err == nil && drop.Fingerprint != fp && keep.Fingerprint != fp {
				err = store.AliasFingerprint(ctx, tx, repositoryID, fp, keep.ID)
			}
			sync = append(sync, ids...)
		}
		if err != nil {
			return 0, nil, err
		}
		if err := store.SetFailureTextFingerprint(ctx, tx, repositoryID, t, fp); err != nil {
			return 0, nil, err
		}
		changed++
	}
	return changed, sync, nil
}
