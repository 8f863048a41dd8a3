package store

import (
	"context"
	"fmt"
	"time"

	"github.com/sentinel-ci/sentinel/triage"
)

// Step is one attempt of one step of a run.
type Step struct {
	ID           int64
	RunID        int64
	Position     int
	Name         string
	Attempt      int
	Image        string
	Command      string
	State        triage.StepState
	ExitCode     *int
	OOMKilled    bool
	Error        string
	LogBytes     int64
	LogTruncated bool
	StartedAt    *time.Time
	FinishedAt   *time.Time
	// StoppedPackages counts the packages of the step's test results whose
	// test binary a panic or a timeout ended; their later tests never ran.
	StoppedPackages int
}

// NewStep is what creating a step row needs. Attempt 0 means the next free
// attempt at that position: a rescued run and retry_failed re-runs add rows
// beside the earlier ones instead of overwriting them.
type NewStep struct {
	RunID    int64
	Position int
	Name     string
	Attempt  int
	Image    string
	Command  string
	State    triage.StepState // pending (default) or running
}

// InsertStep creates a step row and returns its id and attempt.
func InsertStep(ctx context.Context, q Querier, n NewStep) (id int64, attempt int, err error) {
	if n.State == "" {
		n.State = triage.StepPending
	}
	err = q.QueryRow(ctx, `
		INSERT INTO steps (run_id, position, name, attempt, image, command, state, started_at)
		VALUES ($1, $2, $3,
			CASE WHEN $4 > 0 THEN $4 ELSE
				(SELECT COALESCE(MAX(attempt), 0) + 1 FROM steps WHERE run_id = $1 AND position = $2) END,
			$5, $6, $7, CASE WHEN $7 = 'running' THEN now() END)
		RETURNING id, attempt`,
		n.RunID, n.Position, n.Name, n.Attempt, n.Image, n.Command, n.State).Scan(&id, &attempt)
	if err != nil {
		return 0, 0, fmt.Errorf("insert step %q of run %d: %w", n.Name, n.RunID, err)
	}
	return id, attempt, nil
}

// StartStep moves a pending step to running and stamps started_at.
func StartStep(ctx context.Context, q Querier, stepID int64, image, command string) error {
	tag, err := q.Exec(ctx, `UPDATE steps SET state = 'running', started_at = now(),
		image = CASE WHEN $2 <> '' THEN $2 ELSE image END, command = CASE WHEN $3 <> '' THEN $3 ELSE command END
		WHERE id = $1 AND state = 'pending'`, stepID, image, command)
	if err != nil {
		return fmt.Errorf("start step %d: %w", stepID, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("start step %d: %w", stepID, ErrNotFound)
	}
	return nil
}

// StepEnd is how a step ended.
type StepEnd struct {
	State        triage.StepState
	ExitCode     *int
	OOMKilled    bool
	Error        string
	LogBytes     int64
	LogTruncated bool
	// StoppedPackages: see Step.
	StoppedPackages int
}

// FinishStep records a running step's end. It changes nothing for a step
// already in a final state (a rescue may have marked it errored).
func FinishStep(ctx context.Context, q Querier, stepID int64, e StepEnd) error {
	_, err := q.Exec(ctx, `UPDATE steps SET state = $2, exit_code = $3, oom_killed = $4, error = $5,
			log_bytes = $6, log_truncated = $7, stopped_packages = $8, finished_at = now(),
			started_at = COALESCE(started_at, now())
		WHERE id = $1 AND state IN ('pending', 'running')`,
		stepID, e.State, e.ExitCode, e.OOMKilled, e.Error, e.LogBytes, e.LogTruncated, e.StoppedPackages)
	if err != nil {
		return fmt.Errorf("finish step %d: %w", stepID, err)
	}
	return nil
}

// SetStepStoppedPackages records the packages a panic or a timeout ended
// in a finished step, for steps whose results only triage reads (a plain go
// test log).
func SetStepStoppedPackages(ctx context.Context, q Querier, stepID int64, n int) error {
	if _, err := q.Exec(ctx, `UPDATE steps SET stopped_packages = $2 WHERE id = $1`, stepID, n); err != nil {
		return fmt.Errorf("set stopped packages of step %d: %w", stepID, err)
	}
	return nil
}

// AbandonSteps ends every pending or running step of a run: running ones in
// state running, pending ones as skipped (or errored when running is
// errored, so a rescued attempt shows what was lost). It returns how many
// steps it changed.
func AbandonSteps(ctx context.Context, q Querier, runID int64, running triage.StepState, reason string) (int64, error) {
	tag, err := q.Exec(ctx, `UPDATE steps SET
			state = CASE WHEN state = 'running' OR $2 = 'errored' THEN $2 ELSE 'skipped' END,
			error = $3, finished_at = now()
		WHERE run_id = $1 AND state IN ('pending', 'running')`, runID, running, reason)
	if err != nil {
		return 0, fmt.Errorf("abandon steps of run %d: %w", runID, err)
	}
	return tag.RowsAffected(), nil
}

// ListSteps returns a run's steps in order of position and attempt.
func ListSteps(ctx context.Context, q Querier, runID int64) ([]Step, error) {
	rows, err := q.Query(ctx, `SELECT id, run_id, position, name, attempt, image, command, state, exit_code,
			oom_killed, error, log_bytes, log_truncated, started_at, finished_at, stopped_packages
		FROM steps WHERE run_id = $1 ORDER BY position, attempt, id`, runID)
	if err != nil {
		return nil, fmt.Errorf("steps of run %d: %w", runID, err)
	}
	defer rows.Close()
	var out []Step
	for rows.Next() {
		var s Step
		if err := rows.Scan(&s.ID, &s.RunID, &s.Position, &s.Name, &s.Attempt, &s.Image, &s.Command, &s.State,
			&s.ExitCode, &s.OOMKilled, &s.Error, &s.LogBytes, &s.LogTruncated, &s.StartedAt, &s.FinishedAt, &s.StoppedPackages); err != nil {
			return nil, fmt.Errorf("steps of run %d: %w", runID, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// GetStep returns one step.
func GetStep(ctx context.Context, q Querier, stepID int64) (Step, error) {
	var s Step
	err := q.QueryRow(ctx, `SELECT id, run_id, position, name, attempt, image, command, state, exit_code,
			oom_killed, error, log_bytes, log_truncated, started_at, finished_at, stopped_packages
		FROM steps WHERE id = $1`, stepID).Scan(&s.ID, &s.RunID, &s.Position, &s.Name, &s.Attempt, &s.Image,
		&s.Command, &s.State, &s.ExitCode, &s.OOMKilled, &s.Error, &s.LogBytes, &s.LogTruncated, &s.StartedAt, &s.FinishedAt,
		&s.StoppedPackages)
	if err != nil {
		return Step{}, fmt.Errorf("step %d: %w", stepID, notFound(err))
	}
	return s, nil
}
