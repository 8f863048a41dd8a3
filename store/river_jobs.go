package store

import (
	"context"
	"fmt"
	"strconv"
)

// River owns its tables (river_job, river_queue) and changes them through
// its client. Sentinel reads them for the dashboard, metrics and health,
// and writes them where River has no call that does the job: cancelling
// the waiting jobs of runs by run id (SupersedeRunsBatch, for many at once,
// and CancelWaitingExecute), through river_job_waiting_run_idx.

// QueueDepth counts the River jobs of one queue by state, each count
// bounded (see Depth).
type QueueDepth struct {
	Queue     string
	Available Depth
	Scheduled Depth
	Retryable Depth
	Running   Depth
	Discarded Depth
}

// Depth is a count of jobs that stops at MaxQueueDepth+1: past a thousand
// jobs waiting, the exact number tells a person nothing more, and counting
// it costs the dashboard a read of every waiting job.
type Depth int

// MaxQueueDepth is the largest depth QueueDepths counts exactly.
const MaxQueueDepth = 1000

// String shows a depth past MaxQueueDepth as "1000+".
func (d Depth) String() string {
	if d > MaxQueueDepth {
		return strconv.Itoa(MaxQueueDepth) + "+"
	}
	return strconv.Itoa(int(d))
}

// QueueDepths counts River's unfinished and discarded jobs per queue, in
// time bounded whatever the backlog: the queues holding jobs of each state
// are found by skipping through River's (state, queue, ...) index one queue
// at a time, and each count stops after MaxQueueDepth+1 index entries.
func QueueDepths(ctx context.Context, q Querier) ([]QueueDepth, error) {
	rows, err := q.Query(ctx, sqlQueueDepths, MaxQueueDepth+1)
	if err != nil {
		return nil, fmt.Errorf("queue depths: %w", err)
	}
	defer rows.Close()
	var out []QueueDepth
	for rows.Next() {
		var queue, state string
		var n Depth
		if err := rows.Scan(&queue, &state, &n); err != nil {
			return nil, fmt.Errorf("queue depths: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Queue != queue {
			out = append(out, QueueDepth{Queue: queue})
		}
		d := &out[len(out)-1]
		switch state {
		case "available":
			d.Available = n
		case "scheduled":
			d.Scheduled = n
		case "retryable":
			d.Retryable = n
		case "running":
			d.Running = n
		case "discarded":
			d.Discarded = n
		}
	}
	return out, rows.Err()
}

const sqlQueueDepths = `WITH RECURSIVE queues AS (
		SELECT s.state, (SELECT min(queue) FROM river_job j WHERE j.state = s.state) AS queue
		FROM unnest('{available,scheduled,retryable,running,discarded}'::river_job_state[]) s (state)
		UNION ALL
		SELECT p.state, (SELECT min(queue) FROM river_job j WHERE j.state = p.state AND j.queue > p.queue)
		FROM queues p WHERE p.queue IS NOT NULL
	)
	SELECT p.queue, p.state::text,
		(SELECT count(*) FROM (SELECT FROM river_job j WHERE j.state = p.state AND j.queue = p.queue LIMIT $1) x)
	FROM queues p WHERE p.queue IS NOT NULL
	ORDER BY p.queue`

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

// CancelWaitingExecute cancels the run.execute job of a run that has not
// started (the intake does not record it in runs.job_id), as River's
// JobCancel does: state cancelled, finalized now. A job already taken by a
// worker is left to it; the worker finds the run no longer queued.
func CancelWaitingExecute(ctx context.Context, q Querier, runID int64) error {
	_, err := q.Exec(ctx, `UPDATE river_job SET state = 'cancelled', finalized_at = now()
		WHERE args->>'run_id' = $1::bigint::text AND kind = 'run.execute'
			AND state IN ('available', 'scheduled', 'pending', 'retryable')`, runID)
	if err != nil {
		return fmt.Errorf("cancel the job of run %d: %w", runID, err)
	}
	return nil
}
