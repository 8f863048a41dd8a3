package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Process is one start of a `serve` or `worker` process. Its ID is also its
// River client id, so river_job.attempted_by names the process holding a
// running job.
type Process struct {
	ID          string
	Command     string
	Hostname    string
	PID         int
	WorkDir     string
	StartedAt   time.Time
	HeartbeatAt time.Time
	Stopped     bool
}

// RegisterProcess records a process at its start; its first heartbeat is now.
func RegisterProcess(ctx context.Context, q Querier, p Process) error {
	_, err := q.Exec(ctx, `INSERT INTO processes (id, command, hostname, pid, work_dir) VALUES ($1, $2, $3, $4, $5)`,
		p.ID, p.Command, p.Hostname, p.PID, p.WorkDir)
	if err != nil {
		return fmt.Errorf("register process %s: %w", p.ID, err)
	}
	return nil
}

// ErrProcessRescued is what a heartbeat returns to a process that others
// already declared lost and whose jobs they rescued: it must stop working.
var ErrProcessRescued = errors.New("this process was declared lost and its jobs were rescued")

// HeartbeatProcess stamps the process alive.
func HeartbeatProcess(ctx context.Context, q Querier, id string) error {
	var rescued bool
	err := q.QueryRow(ctx, `UPDATE processes SET heartbeat_at = now() WHERE id = $1 RETURNING rescued_at IS NOT NULL`, id).Scan(&rescued)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return ErrProcessRescued // pruned after being rescued
	case err != nil:
		return fmt.Errorf("heartbeat of process %s: %w", id, err)
	case rescued:
		return ErrProcessRescued
	}
	return nil
}

// StopProcess records a clean stop: River has stopped, the process holds no
// job, and nobody needs to wait for its heartbeat to go stale.
func StopProcess(ctx context.Context, q Querier, id string) error {
	if _, err := q.Exec(ctx, `UPDATE processes SET stopped_at = now() WHERE id = $1`, id); err != nil {
		return fmt.Errorf("stop process %s: %w", id, err)
	}
	return nil
}

const processColumns = `id, command, hostname, pid, work_dir, started_at, heartbeat_at, stopped_at IS NOT NULL`

func queryProcesses(ctx context.Context, q Querier, sql string, args ...any) ([]Process, error) {
	rows, err := q.Query(ctx, `SELECT `+processColumns+` FROM processes `+sql, args...)
	if err != nil {
		return nil, fmt.Errorf("processes: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Process, error) {
		var p Process
		err := row.Scan(&p.ID, &p.Command, &p.Hostname, &p.PID, &p.WorkDir, &p.StartedAt, &p.HeartbeatAt, &p.Stopped)
		return p, err
	})
}

// LostProcesses returns the processes not yet rescued that stopped, or
// whose last heartbeat is older than staleAfter (by the database's clock, so
// hosts' clocks need not agree).
func LostProcesses(ctx context.Context, q Querier, staleAfter time.Duration) ([]Process, error) {
	return queryProcesses(ctx, q, `WHERE rescued_at IS NULL
		AND (stopped_at IS NOT NULL OR heartbeat_at < now() - make_interval(secs => $1))
		ORDER BY heartbeat_at`, staleAfter.Seconds())
}

// UnrescuedProcessesOn returns the processes not yet rescued that ran on
// hostname with workDir, other than self: a restarted process's earlier
// starts are among them.
func UnrescuedProcessesOn(ctx context.Context, q Querier, hostname, workDir, self string) ([]Process, error) {
	return queryProcesses(ctx, q, `WHERE rescued_at IS NULL AND hostname = $1 AND work_dir = $2 AND id <> $3
		ORDER BY started_at`, hostname, workDir, self)
}

// JobsHeldBy returns the ids of the River jobs running under the process.
func JobsHeldBy(ctx context.Context, q Querier, processID string) ([]int64, error) {
	rows, err := q.Query(ctx, `SELECT id FROM river_job
		WHERE state = 'running' AND attempted_by[array_length(attempted_by, 1)] = $1 ORDER BY id`, processID)
	if err != nil {
		return nil, fmt.Errorf("jobs held by %s: %w", processID, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// MarkProcessRescued records that the process holds no running job any
// more; false while it still does (a rescue was skipped or failed).
func MarkProcessRescued(ctx context.Context, q Querier, processID string) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE processes SET rescued_at = now() WHERE id = $1 AND rescued_at IS NULL
		AND NOT EXISTS (SELECT 1 FROM river_job WHERE state = 'running' AND attempted_by[array_length(attempted_by, 1)] = $1)`, processID)
	if err != nil {
		return false, fmt.Errorf("mark process %s rescued: %w", processID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// PruneProcesses deletes the rows of processes rescued before cutoff.
func PruneProcesses(ctx context.Context, q Querier, before time.Time) (int64, error) {
	tag, err := q.Exec(ctx, `DELETE FROM processes WHERE rescued_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("prune processes: %w", err)
	}
	return tag.RowsAffected(), nil
}

// HeldJob is a running River job of a lost process, locked for its rescue.
type HeldJob struct {
	ID          int64
	Kind        string
	Attempt     int
	MaxAttempts int
	Args        []byte
	// WorkerLost counts the earlier attempts of the job that a lost process
	// ended (their errors start with "worker lost").
	WorkerLost int
}

// LockHeldJob locks job id if it is still running under processID, skipping
// it when another process is rescuing it: the caller's transaction is the
// one rescue of this attempt.
func LockHeldJob(ctx context.Context, tx pgx.Tx, id int64, processID string) (HeldJob, bool, error) {
	var j HeldJob
	err := tx.QueryRow(ctx, `SELECT id, kind, attempt, max_attempts, args,
			(SELECT count(*) FROM unnest(errors) e WHERE e->>'error' LIKE 'worker lost%')
		FROM river_job WHERE id = $1 AND state = 'running' AND attempted_by[array_length(attempted_by, 1)] = $2
		FOR UPDATE SKIP LOCKED`, id, processID).Scan(&j.ID, &j.Kind, &j.Attempt, &j.MaxAttempts, &j.Args, &j.WorkerLost)
	if errors.Is(err, pgx.ErrNoRows) {
		return HeldJob{}, false, nil
	}
	if err != nil {
		return HeldJob{}, false, fmt.Errorf("lock job %d: %w", id, err)
	}
	return j, true, nil
}

// JobRelease is what becomes of a rescued job.
type JobRelease string

const (
	ReleaseRetry   JobRelease = "available" // run again now, as a new attempt
	ReleaseDiscard JobRelease = "discarded" // over, failed
	ReleaseCancel  JobRelease = "cancelled" // over, nothing left to do
)

// ReleaseHeldJob ends a locked job's lost attempt the way River's own
// rescuer of stuck jobs does: the attempt's error appended, then available
// again or finalized.
func ReleaseHeldJob(ctx context.Context, tx pgx.Tx, j HeldJob, to JobRelease, reason string) error {
	_, err := tx.Exec(ctx, `UPDATE river_job SET state = $2::river_job_state,
			errors = array_append(errors, jsonb_build_object('at', now(), 'attempt', $3::int, 'error', $4::text, 'trace', '')),
			scheduled_at = CASE WHEN $2 = 'available' THEN now() ELSE scheduled_at END,
			finalized_at = CASE WHEN $2 = 'available' THEN NULL ELSE now() END
		WHERE id = $1`, j.ID, string(to), j.Attempt, reason)
	if err != nil {
		return fmt.Errorf("release job %d: %w", j.ID, err)
	}
	return nil
}

// EndStepsOfFinishedRuns ends the steps still pending or running in runs
// that are over and whose job is not running: their worker was lost (a run
// superseded or rescued while its worker was gone), and nobody else would
// end them. A running step becomes cancelled in a cancelled run and errored
// otherwise; a pending one is skipped. It returns the steps ended.
func EndStepsOfFinishedRuns(ctx context.Context, q Querier) (int64, error) {
	tag, err := q.Exec(ctx, `UPDATE steps s SET
			state = CASE WHEN s.state = 'pending' THEN 'skipped' WHEN r.state = 'cancelled' THEN 'cancelled' ELSE 'errored' END,
			error = 'worker lost; the run ended ' || r.state || ' while this step was ' || s.state,
			finished_at = now()
		FROM runs r
		WHERE s.state IN ('pending', 'running') AND r.id = s.run_id
			AND r.state NOT IN ('awaiting_approval', 'queued', 'running')
			AND NOT EXISTS (SELECT 1 FROM river_job j WHERE j.id = r.job_id AND j.state = 'running')`)
	if err != nil {
		return 0, fmt.Errorf("end steps of finished runs: %w", err)
	}
	return tag.RowsAffected(), nil
}

// AttemptCurrent reports whether the River job is still running attempt
// of run runID, locking the run's row and then the job's: false once a
// rescue ended that attempt (its process was judged lost), and the attempt
// must then leave the run to the next one.
//
// The run's row is locked first because the intake, superseding the run,
// updates that row and then cancels the running job (JobCancelTx locks the
// job's row): locking in the other order, as this did, deadlocked with it
// under a stream of pushes, and each deadlock held an intake batch for
// PostgreSQL's deadlock_timeout (1 s) before one side was aborted — the
// multi-second stalls of issue 23. FOR NO KEY UPDATE, as the UPDATE that
// follows takes it: it does not block inserts of the run's steps.
func AttemptCurrent(ctx context.Context, tx pgx.Tx, runID, jobID int64, attempt int) (bool, error) {
	if _, err := tx.Exec(ctx, `SELECT FROM runs WHERE id = $1 FOR NO KEY UPDATE`, runID); err != nil {
		return false, fmt.Errorf("lock run %d: %w", runID, err)
	}
	var current bool
	err := tx.QueryRow(ctx, `SELECT state = 'running' AND attempt = $2 FROM river_job WHERE id = $1 FOR UPDATE`, jobID, attempt).Scan(&current)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("attempt of job %d: %w", jobID, err)
	}
	return current, nil
}
