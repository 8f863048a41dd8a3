package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
)

// ClusterRefingerprintWorker fingerprints each repository's stored
// failures again over its learned templates (refingerprint), one
// repository per transaction, so that occurrences stored before a template
// widened meet the new ones even when no analysis has widened it since
// (a miner decoded from an older encoding, failures stored by an older
// Sentinel). It changes nothing when fingerprints are current, so running
// it twice is harmless.
type ClusterRefingerprintWorker struct {
	river.WorkerDefaults[ClusterRefingerprintArgs]
	DB  *store.DB
	Log *slog.Logger
	Now func() time.Time
}

func (w *ClusterRefingerprintWorker) Timeout(*river.Job[ClusterRefingerprintArgs]) time.Duration {
	return 30 * time.Minute
}

func (w *ClusterRefingerprintWorker) Work(ctx context.Context, job *river.Job[ClusterRefingerprintArgs]) error {
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return fmt.Errorf("river client: %w", err)
	}
	changed, err := w.Refingerprint(ctx, client)
	if err == nil && changed > 0 && w.Log != nil {
		w.Log.Info("failures fingerprinted again", "messages", changed)
	}
	return err
}

// Refingerprint does one pass over every repository with templates and
// returns how many distinct messages moved to a new fingerprint.
func (w *ClusterRefingerprintWorker) Refingerprint(ctx context.Context, rc *river.Client[pgx.Tx]) (int, error) {
	repos, err := store.RepositoriesWithTemplates(ctx, w.DB)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	total := 0
	for _, repo := range repos {
		err := w.DB.InTx(ctx, func(tx pgx.Tx) error {
			if err := store.LockRepositoryAnalysis(ctx, tx, repo); err != nil {
				return err
			}
			m, err := loadTemplates(ctx, tx, repo)
			if err != nil {
				return err
			}
			n, sync, err := refingerprint(ctx, tx, repo, m, now)
			if err != nil {
				return err
			}
			total += n
			for _, id := range sync {
				if err := EnqueueIncidentSync(ctx, rc, tx, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("refingerprint repository %d: %w", repo, err)
		}
	}
	return total, nil
}
