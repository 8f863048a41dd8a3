package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
)

// RetentionPruneArgs deletes bulky data past its retention (periodic).
type RetentionPruneArgs struct{}

func (RetentionPruneArgs) Kind() string { return "retention.prune" }

func (RetentionPruneArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueTriage, UniqueOpts: river.UniqueOpts{ByState: notCompleted}}
}

// RetentionWorker drops step logs and recorded GitHub calls of old runs.
// Runs, failures, clusters and test results stay: flaky scores and the
// dashboard's history are computed from them.
type RetentionWorker struct {
	river.WorkerDefaults[RetentionPruneArgs]
	DB    *store.DB
	Log   *slog.Logger
	Logs  time.Duration // step logs older than this are deleted
	Calls time.Duration // recorded outbound calls older than this are deleted
	Batch int
}

func (w *RetentionWorker) Work(ctx context.Context, job *river.Job[RetentionPruneArgs]) error {
	logs, err := w.deleteInBatches(ctx, store.DeleteOldLogChunks, w.Logs)
	if err != nil {
		return fmt.Errorf("prune log chunks: %w", err)
	}
	calls, err := w.deleteInBatches(ctx, store.DeleteOldOutboundCalls, w.Calls)
	if err != nil {
		return fmt.Errorf("prune outbound calls: %w", err)
	}
	w.Log.Info("retention pruned", "log_chunks", logs, "outbound_calls", calls)
	return nil
}

// deleteInBatches keeps each transaction short so pruning a large backlog
// never holds locks that the intake or runners wait on.
func (w *RetentionWorker) deleteInBatches(ctx context.Context, deleteOld func(context.Context, store.Querier, time.Duration, int) (int64, error), age time.Duration) (int64, error) {
	batch := w.Batch
	if batch <= 0 {
		batch = 5000
	}
	var total int64
	for {
		n, err := deleteOld(ctx, w.DB, age, batch)
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}
