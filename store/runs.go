package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sentinel-ci/sentinel/triage"
)

// RunState is where a run stands. The values are stored in runs.state and
// shown in the API; they never change.
type RunState string

// Run states. A run ends in exactly one of the final ones.
const (
	RunAwaitingApproval RunState = "awaiting_approval"
	RunQueued           RunState = "queued"
	RunRunning          RunState = "running"
	RunSucceeded        RunState = "succeeded"
	RunFailed           RunState = "failed"
	RunTimedOut         RunState = "timed_out"
	RunCancelled        RunState = "cancelled"
	RunErrored          RunState = "errored"
)

// RunStates lists every run state, the unfinished ones first.
var RunStates = []RunState{RunAwaitingApproval, RunQueued, RunRunning, RunSucceeded, RunFailed, RunTimedOut, RunCancelled, RunErrored}

// Trigger is what made a run. The values are stored in runs.trigger (part
// of a run's identity) and shown in the API; they never change.
type Trigger string

// Run triggers.
const (
	TriggerPush        Trigger = "push"         // a push delivery
	TriggerPullRequest Trigger = "pull_request" // a pull_request delivery
	TriggerAPI         Trigger = "api"          // POST /api/runs
	TriggerExternal    Trigger = "external"     // results uploaded from another CI system (POST /api/results)
	TriggerDemo        Trigger = "demo"         // sentinel demo
)

// Triggers lists every trigger.
var Triggers = []Trigger{TriggerPush, TriggerPullRequest, TriggerAPI, TriggerExternal, TriggerDemo}

// IsFinalRunState reports whether a run in state s is over.
func IsFinalRunState(s RunState) bool {
	switch s {
	case RunSucceeded, RunFailed, RunTimedOut, RunCancelled, RunErrored:
		return true
	}
	return false
}

// Run is one execution of a repository's pipeline at a commit.
type Run struct {
	ID             int64
	RepositoryID   int64
	Repository     string // owner/name, joined for display
	InstallationID int64  // joined from the repository; 0 when not installed
	SHA            string
	Ref            string
	Branch         string
	PRNumber       int // 0 when not a pull request
	HeadRepo       string
	CloneURL       string
	CommitMessage  string
	Author         string
	Trigger        Trigger
	Attempt        int
	ExternalID     string
	State          RunState
	Conclusion     string
	Category       triage.Category
	Error          string
	SupersededBy   int64
	CheckRunID     int64
	JobID          int64
	DeliveryID     string
	Fork           bool        // code from a fork: every attempt awaits approval
	Limits         []StepLimit // what each step was given; nil before the steps
	Warnings       []string    // what went wrong without failing the run
	CreatedAt      time.Time
	StartedAt      *time.Time
	FinishedAt     *time.Time
}

// Duration is how long the run has taken so far (or took).
func (r Run) Duration(now time.Time) time.Duration {
	if r.StartedAt == nil {
		return 0
	}
	end := now
	if r.FinishedAt != nil {
		end = *r.FinishedAt
	}
	return end.Sub(*r.StartedAt)
}

const runColumns = `r.id, r.repository_id, p.full_name, COALESCE(p.installation_id, 0), r.sha, r.ref, r.branch,
	COALESCE(r.pr_number, 0), r.head_repo, r.clone_url, r.commit_message, r.author, r.trigger, r.attempt,
	r.external_id, r.state, r.conclusion, r.category, r.error, COALESCE(r.superseded_by, 0),
	COALESCE(r.check_run_id, 0), COALESCE(r.job_id, 0), r.delivery_id, r.fork, r.limits, r.warnings,
	r.created_at, r.started_at, r.finished_at`

func scanRun(row interface{ Scan(...any) error }) (Run, error) {
	var r Run
	err := row.Scan(&r.ID, &r.RepositoryID, &r.Repository, &r.InstallationID, &r.SHA, &r.Ref, &r.Branch,
		&r.PRNumber, &r.HeadRepo, &r.CloneURL, &r.CommitMessage, &r.Author, &r.Trigger, &r.Attempt,
		&r.ExternalID, &r.State, &r.Conclusion, &r.Category, &r.Error, &r.SupersededBy,
		&r.CheckRunID, &r.JobID, &r.DeliveryID, &r.Fork, &r.Limits, &r.Warnings,
		&r.CreatedAt, &r.StartedAt, &r.FinishedAt)
	return r, err
}

// queryRuns reads runs; tail follows the FROM clause and uses the aliases
// r (runs) and p (repositories).
func queryRuns(ctx context.Context, q Querier, tail string, args ...any) ([]Run, error) {
	rows, err := q.Query(ctx, `SELECT `+runColumns+` FROM runs r JOIN repositories p ON p.id = r.repository_id `+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// GetRun returns one run.
func GetRun(ctx context.Context, q Querier, id int64) (Run, error) {
	r, err := scanRun(q.QueryRow(ctx, `SELECT `+runColumns+` FROM runs r JOIN repositories p ON p.id = r.repository_id WHERE r.id = $1`, id))
	if err != nil {
		return Run{}, fmt.Errorf("run %d: %w", id, notFound(err))
	}
	return r, nil
}

// RunFilter selects runs for lists; zero fields do not filter. Before is a
// keyset cursor: only runs with a smaller id are returned.
type RunFilter struct {
	RepositoryID int64
	Repository   string
	Branch       string
	PRNumber     int
	State        RunState
	Trigger      Trigger
	Before       int64
	Limit        int
}

// ListRuns returns runs newest first.
func ListRuns(ctx context.Context, q Querier, f RunFilter) ([]Run, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	out, err := queryRuns(ctx, q, `WHERE ($1 = 0 OR r.repository_id = $1) AND ($2 = '' OR p.full_name = $2)
			AND ($3 = '' OR r.branch = $3) AND ($4 = 0 OR r.pr_number = $4)
			AND ($5 = '' OR r.state = $5) AND ($6 = '' OR r.trigger = $6)
			AND ($7 = 0 OR r.id < $7)
		ORDER BY r.id DESC LIMIT $8`,
		f.RepositoryID, f.Repository, f.Branch, f.PRNumber, f.State, f.Trigger, f.Before, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list %w", err)
	}
	return out, nil
}

// LatestRunOfCommit returns the id of the newest push or pull request run
// of a commit (ErrNotFound when there is none), the run a re-run button or
// a re-request from GitHub is about.
func LatestRunOfCommit(ctx context.Context, q Querier, repositoryID int64, sha string) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM runs WHERE repository_id = $1 AND sha = $2 AND trigger IN ('push', 'pull_request')
		ORDER BY id DESC LIMIT 1`, repositoryID, sha).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("previous run of %s: %w", sha, notFound(err))
	}
	return id, nil
}

// LatestConcludedRun returns the newest run of a commit, in any repository,
// whose conclusion is recorded (after triage and reporting).
func LatestConcludedRun(ctx context.Context, q Querier, sha string) (Run, error) {
	r, err := scanRun(q.QueryRow(ctx, `SELECT `+runColumns+` FROM runs r JOIN repositories p ON p.id = r.repository_id
		WHERE r.sha = $1 AND r.conclusion <> '' ORDER BY r.id DESC LIMIT 1`, sha))
	if err != nil {
		return Run{}, fmt.Errorf("concluded run of %s: %w", sha, notFound(err))
	}
	return r, nil
}

// NextAttempt is the attempt number a re-run of this commit and trigger gets.
func NextAttempt(ctx context.Context, q Querier, repositoryID int64, sha string, trigger Trigger, prNumber int) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COALESCE(MAX(attempt), 0) + 1 FROM runs
		WHERE repository_id = $1 AND sha = $2 AND trigger = $3 AND COALESCE(pr_number, 0) = $4`,
		repositoryID, sha, trigger, prNumber).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("next attempt: %w", err)
	}
	return n, nil
}

// TransitionRun moves a run from one of the states in from to state to and
// reports whether it did (false: the run was not in any of from). Entering
// running stamps started_at; entering a final state stamps finished_at.
func TransitionRun(ctx context.Context, q Querier, runID int64, from []RunState, to RunState, category triage.Category, errMsg string) (bool, error) {
	froms := make([]string, len(from))
	for i, s := range from {
		froms[i] = string(s)
	}
	tag, err := q.Exec(ctx, `
		UPDATE runs SET state = $3,
			category = CASE WHEN $4 <> '' THEN $4 ELSE category END,
			error = CASE WHEN $5 <> '' THEN $5 ELSE error END,
			started_at = CASE WHEN $3 = 'running' THEN now() ELSE started_at END,
			finished_at = CASE WHEN $6 THEN now() ELSE finished_at END,
			updated_at = now()
		WHERE id = $1 AND state = ANY($2)`,
		runID, froms, to, category, errMsg, IsFinalRunState(to))
	if err != nil {
		return false, fmt.Errorf("run %d %s -> %s: %w", runID, strings.Join(froms, "|"), to, err)
	}
	return tag.RowsAffected() == 1, nil
}

// SetRunConclusion records what the check run concluded after triage.
func SetRunConclusion(ctx context.Context, q Querier, runID int64, conclusion string) error {
	_, err := q.Exec(ctx, `UPDATE runs SET conclusion = $2, updated_at = now() WHERE id = $1`, runID, conclusion)
	if err != nil {
		return fmt.Errorf("run %d conclusion: %w", runID, err)
	}
	return nil
}

// SetCheckRunID stores the GitHub check run of a run.
func SetCheckRunID(ctx context.Context, q Querier, runID, checkRunID int64) error {
	_, err := q.Exec(ctx, `UPDATE runs SET check_run_id = $2, updated_at = now() WHERE id = $1`, runID, checkRunID)
	if err != nil {
		return fmt.Errorf("run %d check run: %w", runID, err)
	}
	return nil
}

// SetCheckRunConcluded stores a run's check run together with what it
// concluded: one write where the check run was created completed.
func SetCheckRunConcluded(ctx context.Context, q Querier, runID, checkRunID int64, conclusion string) error {
	_, err := q.Exec(ctx, `UPDATE runs SET check_run_id = $2, conclusion = $3, updated_at = now() WHERE id = $1`, runID, checkRunID, conclusion)
	if err != nil {
		return fmt.Errorf("run %d check run: %w", runID, err)
	}
	return nil
}

// SetRunJob records the River job that executes the run, for cancellation.
func SetRunJob(ctx context.Context, q Querier, runID, jobID int64) error {
	_, err := q.Exec(ctx, setRunJobSQL, runID, jobID)
	if err != nil {
		return fmt.Errorf("run %d job: %w", runID, err)
	}
	return nil
}

const setRunJobSQL = `UPDATE runs SET job_id = $2, updated_at = now() WHERE id = $1`

// SetRunGoModules records the Go modules the runner found in a run's
// checkout (module path → directory); nothing is recorded for none.
func SetRunGoModules(ctx context.Context, q Querier, runID int64, modules map[string]string) error {
	if len(modules) == 0 {
		return nil
	}
	b, err := json.Marshal(modules)
	if err != nil {
		return fmt.Errorf("run %d go modules: %w", runID, err)
	}
	if _, err := q.Exec(ctx, `UPDATE runs SET go_modules = $2 WHERE id = $1`, runID, string(b)); err != nil {
		return fmt.Errorf("run %d go modules: %w", runID, err)
	}
	return nil
}

// RunGoModules is what SetRunGoModules recorded for a run, nil if nothing.
func RunGoModules(ctx context.Context, q Querier, runID int64) (map[string]string, error) {
	var modules map[string]string
	if err := q.QueryRow(ctx, `SELECT go_modules FROM runs WHERE id = $1`, runID).Scan(&modules); err != nil {
		return nil, fmt.Errorf("run %d go modules: %w", runID, err)
	}
	return modules, nil
}
