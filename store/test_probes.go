package store

import (
	"context"
	"fmt"
	"time"

	"github.com/sentinel-ci/sentinel/triage"
)

// ProbeState is how far a test's confirmation re-runs got.
type ProbeState string

const (
	ProbeQueued  ProbeState = "queued"
	ProbeRunning ProbeState = "running"
	ProbeDone    ProbeState = "done"    // the re-runs ran; Verdict says what they proved, if anything
	ProbeSkipped ProbeState = "skipped" // never ran; Message says why (the budget, a fork, the pipeline changed)
)

// TestProbe is the confirmation re-runs of one test that failed in one run.
type TestProbe struct {
	ID            int64
	RepositoryID  int64
	TestID        int64
	Package, Name string // the test's, joined
	RunID         int64
	SHA           string
	StepPosition  int
	StepName      string
	State         ProbeState
	Wanted        int
	Runs          int // re-runs that reported the test
	Failures      int
	Verdict       triage.TestState // flaky, broken, or "" (none)
	Message       string
	Seconds       float64
	CreatedAt     time.Time
	FinishedAt    *time.Time
}

// Took is the time the probe's re-runs took.
func (p TestProbe) Took() time.Duration { return time.Duration(p.Seconds * float64(time.Second)) }

// Finished reports whether the probe is over (done or skipped).
func (p TestProbe) Finished() bool { return p.State == ProbeDone || p.State == ProbeSkipped }

// NewProbe is a probe to record: queued, or skipped with a message.
type NewProbe struct {
	RepositoryID, TestID, RunID int64
	SHA                         string
	StepPosition                int
	StepName                    string
	Wanted                      int
	Skipped                     string // non-empty: recorded as skipped, with this message
}

// InsertProbes records probes; one already recorded for the same test and
// run is left as it is. It returns how many were queued.
func InsertProbes(ctx context.Context, q Querier, ps []NewProbe) (int, error) {
	queued := 0
	for _, p := range ps {
		state := ProbeQueued
		var finished *time.Time
		if p.Skipped != "" {
			state = ProbeSkipped
			now := time.Now()
			finished = &now
		}
		tag, err := q.Exec(ctx, `INSERT INTO test_probes (repository_id, test_id, run_id, sha, step_position, step_name,
				state, wanted, message, finished_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (test_id, run_id) DO NOTHING`,
			p.RepositoryID, p.TestID, p.RunID, p.SHA, p.StepPosition, p.StepName, state, p.Wanted, p.Skipped, finished)
		if err != nil {
			return queued, fmt.Errorf("record probe of test %d in run %d: %w", p.TestID, p.RunID, err)
		}
		if tag.RowsAffected() == 1 && state == ProbeQueued {
			queued++
		}
	}
	return queued, nil
}

const probeColumns = `p.id, p.repository_id, p.test_id, t.package, t.name, p.run_id, p.sha, p.step_position, p.step_name,
	p.state, p.wanted, p.runs, p.failures, p.verdict, p.message, p.seconds, p.created_at, p.finished_at`

func queryProbes(ctx context.Context, q Querier, where string, args ...any) ([]TestProbe, error) {
	rows, err := q.Query(ctx, `SELECT `+probeColumns+` FROM test_probes p JOIN tests t ON t.id = p.test_id WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TestProbe
	for rows.Next() {
		var p TestProbe
		if err := rows.Scan(&p.ID, &p.RepositoryID, &p.TestID, &p.Package, &p.Name, &p.RunID, &p.SHA, &p.StepPosition,
			&p.StepName, &p.State, &p.Wanted, &p.Runs, &p.Failures, &p.Verdict, &p.Message, &p.Seconds,
			&p.CreatedAt, &p.FinishedAt); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RunProbes returns the probes of the tests that failed in a run, in the
// order they were queued.
func RunProbes(ctx context.Context, q Querier, runID int64) ([]TestProbe, error) {
	ps, err := queryProbes(ctx, q, `p.run_id = $1 ORDER BY p.id`, runID)
	if err != nil {
		return nil, fmt.Errorf("probes of run %d: %w", runID, err)
	}
	return ps, nil
}

// TestProbes returns a test's latest probes, newest first.
func TestProbes(ctx context.Context, q Querier, testID int64, limit int) ([]TestProbe, error) {
	ps, err := queryProbes(ctx, q, `p.test_id = $1 ORDER BY p.id DESC LIMIT $2`, testID, max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("probes of test %d: %w", testID, err)
	}
	return ps, nil
}

// ProbeSecondsSince is the time a repository's probes and bisections
// spent re-running tests since the given moment: what its daily budget
// counts.
func ProbeSecondsSince(ctx context.Context, q Querier, repositoryID int64, since time.Time) (float64, error) {
	var s float64
	err := q.QueryRow(ctx, `SELECT
			(SELECT COALESCE(sum(seconds), 0) FROM test_probes WHERE repository_id = $1 AND created_at >= $2) +
			(SELECT COALESCE(sum(seconds), 0) FROM test_bisects WHERE repository_id = $1 AND created_at >= $2)`,
		repositoryID, since).Scan(&s)
	if err != nil {
		return 0, fmt.Errorf("probe time of repository %d: %w", repositoryID, err)
	}
	return s, nil
}

// StartProbe marks a probe running and clears what an earlier, lost
// attempt counted (the re-runs start over; the time it spent stays
// counted against the budget). It reports false for a probe already over.
func StartProbe(ctx context.Context, q Querier, id int64) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE test_probes SET state = 'running', runs = 0, failures = 0
		WHERE id = $1 AND state IN ('queued', 'running')`, id)
	if err != nil {
		return false, fmt.Errorf("start probe %d: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// AddProbeRun counts one re-run of a running probe: whether it reported
// the test, whether the test failed, and the time it took.
func AddProbeRun(ctx context.Context, q Querier, id int64, reported, failed bool, took time.Duration) error {
	_, err := q.Exec(ctx, `UPDATE test_probes SET runs = runs + $2::int, failures = failures + $3::int, seconds = seconds + $4
		WHERE id = $1 AND state = 'running'`, id, b2i(reported), b2i(reported && failed), took.Seconds())
	if err != nil {
		return fmt.Errorf("count a re-run of probe %d: %w", id, err)
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FinishProbe ends a probe with its verdict (none: "") and the message for
// people; skipped says it never ran a re-run.
func FinishProbe(ctx context.Context, q Querier, id int64, skipped bool, verdict triage.TestState, message string) error {
	state := ProbeDone
	if skipped {
		state = ProbeSkipped
	}
	_, err := q.Exec(ctx, `UPDATE test_probes SET state = $2, verdict = $3, message = $4, finished_at = now()
		WHERE id = $1 AND state IN ('queued', 'running')`, id, state, string(verdict), message)
	if err != nil {
		return fmt.Errorf("finish probe %d: %w", id, err)
	}
	return nil
}

// ProbesRunning reports whether a run has a probe or a bisection running:
// its runtime resources (named by the run's id) are then in use, and the
// reaper leaves them alone.
func ProbesRunning(ctx context.Context, q Querier, runID int64) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM test_probes WHERE run_id = $1 AND state = 'running')
		OR EXISTS (SELECT 1 FROM test_bisects WHERE run_id = $1 AND state = 'running')`, runID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("probes of run %d: %w", runID, err)
	}
	return ok, nil
}

// ProbesUnfinished reports whether a run has a probe queued or running. A
// bisection waits for none to be left, since both run under the run's id;
// a run's probes are all queued by its first analysis, so none comes after.
func ProbesUnfinished(ctx context.Context, q Querier, runID int64) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM test_probes WHERE run_id = $1 AND state IN ('queued', 'running'))`, runID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("probes of run %d: %w", runID, err)
	}
	return ok, nil
}

// FailedTestSteps maps each test that failed in a run to the step (its
// position and name) of its last failing result: where a probe re-runs it.
func FailedTestSteps(ctx context.Context, q Querier, runID int64) (map[int64]StepRef, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT ON (r.test_id) r.test_id, s.position, s.name
		FROM test_results r JOIN steps s ON s.id = r.step_id
		WHERE r.run_id = $1 AND r.outcome IN ('fail', 'error')
		ORDER BY r.test_id, r.id DESC`, runID)
	if err != nil {
		return nil, fmt.Errorf("steps of the failed tests of run %d: %w", runID, err)
	}
	defer rows.Close()
	out := map[int64]StepRef{}
	for rows.Next() {
		var id int64
		var s StepRef
		if err := rows.Scan(&id, &s.Position, &s.Name); err != nil {
			return nil, err
		}
		out[id] = s
	}
	return out, rows.Err()
}

// StepRef names a step of a pipeline by position and name.
type StepRef struct {
	Position int
	Name     string
}
