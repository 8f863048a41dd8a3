package jobs

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// CancelWaiting cancels, in tx and in one statement, those of the River
// jobs ids that have not started, the way River's JobCancel does (state
// cancelled, finalized now), and returns the ids that are running. Those need river.Client.JobCancelTx, which signals
// the worker holding them; River has no call that cancels many jobs, and
// one round trip per superseded run would cap the webhook intake's rate.
// Finished jobs are left alone.
func CancelWaiting(ctx context.Context, tx pgx.Tx, ids []int64) (running []int64, err error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `
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
		SELECT id FROM j WHERE state = 'running'`, ids)
	if err != nil {
		return nil, fmt.Errorf("cancel jobs: %w", err)
	}
	running, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("cancel jobs: %w", err)
	}
	return running, nil
}
