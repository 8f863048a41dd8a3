package jobs

import (
	"fmt"

	"github.com/jackc/pgx/v5"
)

// QueueCancelWaiting queues on b the cancelling of those of the River jobs
// ids that have not started, the way River's JobCancel does (state
// cancelled, finalized now), and, once b's results are read, sets *running
// to the ids that are running. Those need river.Client.JobCancelTx, which
// signals the worker holding them. River has no call that cancels many jobs,
// and the webhook intake cancels one per superseded run: one round trip
// each would cap its rate, so this rides in the intake's last batch.
// Finished jobs are left alone.
func QueueCancelWaiting(b *pgx.Batch, ids []int64, running *[]int64) {
	if len(ids) == 0 {
		return
	}
	b.Queue(`
		WITH j AS (
			SELECT id, state FROM river_job WHERE id = ANY($1) FOR UPDATE
		), cancelled AS (
			-- River also stamps metadata.cancel_attempted_at, which only its
			-- rescuer of running jobs reads; leaving the metadata alone spares
			-- an update of its GIN index.
			UPDATE river_job SET state = 'cancelled', finalized_at = now()
			FROM j WHERE river_job.id = j.id AND j.state IN ('available', 'scheduled', 'retryable', 'pending')
			RETURNING river_job.id
		)
		SELECT id FROM j WHERE state = 'running'`, ids).Query(func(rows pgx.Rows) error {
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("cancel jobs: %w", err)
		}
		*running = ids
		return nil
	})
}
