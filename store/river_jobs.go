package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// River owns its tables (river_job, river_queue) and changes them through
// its client. Sentinel reads them for the dashboard, metrics and health,
// and writes them in one place, QueueCancelWaiting, where River has no
// call that does the job.

// QueueDepth counts the River jobs of one queue by state.
type QueueDepth struct {
	Queue     string
	Available int
	Scheduled int
	Retryable int
	Running   int
	Discarded int
}

// QueueDepths counts River's unfinished and discarded jobs per queue.
func QueueDepths(ctx context.Context, q Querier) ([]QueueDepth, error) {
	rows, err := q.Query(ctx, `SELECT queue,
			count(*) FILTER (WHERE state = 'available'), count(*) FILTER (WHERE state = 'scheduled'),
			count(*) FILTER (WHERE state = 'retryable'), count(*) FILTER (WHERE state = 'running'),
			count(*) FILTER (WHERE state = 'discarded')
		FROM river_job WHERE state IN ('available', 'scheduled', 'retryable', 'running', 'discarded')
		GROUP BY queue ORDER BY queue`)
	if err != nil {
		return nil, fmt.Errorf("queue depths: %w", err)
	}
	defer rows.Close()
	var out []QueueDepth
	for rows.Next() {
		var d QueueDepth
		if err := rows.Scan(&d.Queue, &d.Available, &d.Scheduled, &d.Retryable, &d.Running, &d.Discarded); err != nil {
			return nil, fmt.Errorf("queue depths: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// JobCount is the number of River jobs of one queue in one state.
type JobCount struct {
	Queue string
	State string
	Count int64
}

// CountJobs counts every River job by queue and state, finished ones
// included, for the metrics.
func CountJobs(ctx context.Context, q Querier) ([]JobCount, error) {
	rows, err := q.Query(ctx, `SELECT queue, state::text, count(*) FROM river_job GROUP BY queue, state`)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	var out []JobCount
	for rows.Next() {
		var c JobCount
		if err := rows.Scan(&c.Queue, &c.State, &c.Count); err != nil {
			return nil, fmt.Errorf("count jobs: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CountQueues counts River's queues; it fails when River's tables are
// missing or unreachable, which is what the readiness check wants to know.
func CountQueues(ctx context.Context, q Querier) (int, error) {
	var n int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM river_queue`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count queues: %w", err)
	}
	return n, nil
}

// AbandonedRun is a run still marked running whose River job is over: its
// worker was lost and River will not run the job again.
type AbandonedRun struct {
	RunID    int64
	JobState string // discarded, cancelled or completed
}

// AbandonedRuns returns the runs left running by a job that is over.
func AbandonedRuns(ctx context.Context, q Querier) ([]AbandonedRun, error) {
	rows, err := q.Query(ctx, `SELECT r.id, j.state FROM runs r JOIN river_job j ON j.id = r.job_id
		WHERE r.state = 'running' AND j.state IN ('discarded', 'cancelled', 'completed')`)
	if err != nil {
		return nil, fmt.Errorf("abandoned runs: %w", err)
	}
	defer rows.Close()
	var out []AbandonedRun
	for rows.Next() {
		var a AbandonedRun
		if err := rows.Scan(&a.RunID, &a.JobState); err != nil {
			return nil, fmt.Errorf("abandoned runs: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("abandoned runs: %w", err)
	}
	return out, nil
}

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
