package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/triage"
)

// TestBisect is the search for the commit that broke one test (test_bisects).
// It shares ProbeState with the confirmation re-runs: queued, running, done
// (the verdict is in), skipped (never ran; Message says why).
type TestBisect struct {
	ID            int64
	RepositoryID  int64
	TestID        int64
	Package, Name string // the test's, joined
	RunID         int64
	StepPosition  int
	StepName      string
	GoodSHA       string
	BadSHA        string
	State         ProbeState
	Commits       []string // after GoodSHA up to BadSHA, oldest first
	Tested        []string // in the order run
	Outcomes      []triage.BisectOutcome
	Found         bool
	FirstBadSHA   string
	LastGoodSHA   string
	Author        string
	PullRequest   int
	Message       string
	Seconds       float64
	CreatedAt     time.Time
	FinishedAt    *time.Time
}

// Finished reports whether the bisection is over.
func (b TestBisect) Finished() bool { return b.State == ProbeDone || b.State == ProbeSkipped }

// Bisection is the search as triage runs it: the range and what the runs
// so far said.
func (b TestBisect) Bisection() triage.Bisection {
	s := triage.Bisection{Good: b.GoodSHA, Commits: b.Commits, Outcomes: map[string]triage.BisectOutcome{}}
	for i, c := range b.Tested {
		if i < len(b.Outcomes) {
			s.Outcomes[c] = b.Outcomes[i]
		}
	}
	return s
}

// NewBisect is a bisection to record: queued, or skipped with a message.
type NewBisect struct {
	RepositoryID, TestID, RunID int64
	StepPosition                int
	StepName                    string
	GoodSHA, BadSHA             string
	Skipped                     string
}

// InsertBisect records a bisection; one of the same test and bad commit is
// left as it is. queued is the new row's id when it was queued, 0 otherwise.
func InsertBisect(ctx context.Context, q Querier, n NewBisect) (queued int64, err error) {
	state := ProbeQueued
	var finished *time.Time
	if n.Skipped != "" {
		state = ProbeSkipped
		now := time.Now()
		finished = &now
	}
	err = q.QueryRow(ctx, `INSERT INTO test_bisects (repository_id, test_id, run_id, step_position, step_name, good_sha, bad_sha,
			state, message, finished_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (test_id, bad_sha) DO NOTHING RETURNING id`,
		n.RepositoryID, n.TestID, n.RunID, n.StepPosition, n.StepName, n.GoodSHA, n.BadSHA, state, n.Skipped, finished).Scan(&queued)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("record bisection of test %d: %w", n.TestID, err)
	}
	if state != ProbeQueued {
		return 0, nil
	}
	return queued, nil
}

const bisectColumns = `b.id, b.repository_id, b.test_id, t.package, t.name, b.run_id, b.step_position, b.step_name,
	b.good_sha, b.bad_sha, b.state, b.commits, b.tested, b.outcomes, b.found, b.first_bad_sha, b.last_good_sha,
	b.author, b.pull_request, b.message, b.seconds, b.created_at, b.finished_at`

func queryBisects(ctx context.Context, q Querier, where string, args ...any) ([]TestBisect, error) {
	rows, err := q.Query(ctx, `SELECT `+bisectColumns+` FROM test_bisects b JOIN tests t ON t.id = b.test_id WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TestBisect
	for rows.Next() {
		var b TestBisect
		var outcomes []string
		if err := rows.Scan(&b.ID, &b.RepositoryID, &b.TestID, &b.Package, &b.Name, &b.RunID, &b.StepPosition, &b.StepName,
			&b.GoodSHA, &b.BadSHA, &b.State, &b.Commits, &b.Tested, &outcomes, &b.Found, &b.FirstBadSHA, &b.LastGoodSHA,
			&b.Author, &b.PullRequest, &b.Message, &b.Seconds, &b.CreatedAt, &b.FinishedAt); err != nil {
			return nil, err
		}
		for _, o := range outcomes {
			b.Outcomes = append(b.Outcomes, triage.BisectOutcome(o))
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// GetBisect returns one bisection.
func GetBisect(ctx context.Context, q Querier, id int64) (TestBisect, error) {
	bs, err := queryBisects(ctx, q, `b.id = $1`, id)
	if err != nil {
		return TestBisect{}, fmt.Errorf("bisection %d: %w", id, err)
	}
	if len(bs) == 0 {
		return TestBisect{}, ErrNotFound
	}
	return bs[0], nil
}

// RunBisects returns the bisections of the tests that turned broken in a
// run, in the order they were queued.
func RunBisects(ctx context.Context, q Querier, runID int64) ([]TestBisect, error) {
	bs, err := queryBisects(ctx, q, `b.run_id = $1 ORDER BY b.id`, runID)
	if err != nil {
		return nil, fmt.Errorf("bisections of run %d: %w", runID, err)
	}
	return bs, nil
}

// TestBisects returns a test's latest bisections, newest first.
func TestBisects(ctx context.Context, q Querier, testID int64, limit int) ([]TestBisect, error) {
	bs, err := queryBisects(ctx, q, `b.test_id = $1 ORDER BY b.id DESC LIMIT $2`, testID, max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("bisections of test %d: %w", testID, err)
	}
	return bs, nil
}

// ClusterBisect returns the latest finished bisection with a verdict of a
// test that failed in the cluster at the bisection's bad commit: what an
// incident of the cluster says about the commit that broke it. ok is false
// when there is none.
func ClusterBisect(ctx context.Context, q Querier, clusterID int64) (b TestBisect, ok bool, err error) {
	bs, err := queryBisects(ctx, q, `b.state = 'done' AND b.first_bad_sha <> '' AND EXISTS (
			SELECT 1 FROM failures f WHERE f.cluster_id = $1 AND f.test_id = b.test_id AND f.run_id = b.run_id)
		ORDER BY b.id DESC LIMIT 1`, clusterID)
	if err != nil || len(bs) == 0 {
		return TestBisect{}, false, err
	}
	return bs[0], true, nil
}

// StartBisect marks a bisection running with its range, keeping what an
// earlier, lost attempt tested (those runs need not be repeated). It
// reports false for one already over.
func StartBisect(ctx context.Context, q Querier, id int64, commits []string) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE test_bisects SET state = 'running', commits = $2
		WHERE id = $1 AND state IN ('queued', 'running')`, id, commits)
	if err != nil {
		return false, fmt.Errorf("start bisection %d: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// AddBisectRun records one run of the test at a commit and the time it took.
func AddBisectRun(ctx context.Context, q Querier, id int64, sha string, o triage.BisectOutcome, took time.Duration) error {
	_, err := q.Exec(ctx, `UPDATE test_bisects SET tested = tested || $2::text, outcomes = outcomes || $3::text,
			seconds = seconds + $4
		WHERE id = $1 AND state = 'running'`, id, sha, string(o), took.Seconds())
	if err != nil {
		return fmt.Errorf("record a run of bisection %d: %w", id, err)
	}
	return nil
}

// BisectResult is a bisection's end: its verdict (Found, FirstBad,
// LastGood), who wrote the first bad commit and its pull request, and the
// message for people.
type BisectResult struct {
	Found       bool
	FirstBad    string
	LastGood    string
	Author      string
	PullRequest int
	Message     string
}

// FinishBisect ends a bisection; skipped says it never ran (r.Message says why).
func FinishBisect(ctx context.Context, q Querier, id int64, skipped bool, r BisectResult) error {
	state := ProbeDone
	if skipped {
		state = ProbeSkipped
	}
	_, err := q.Exec(ctx, `UPDATE test_bisects SET state = $2, found = $3, first_bad_sha = $4, last_good_sha = $5,
			author = $6, pull_request = $7, message = $8, finished_at = now()
		WHERE id = $1 AND state IN ('queued', 'running')`,
		id, state, r.Found, r.FirstBad, r.LastGood, r.Author, r.PullRequest, r.Message)
	if err != nil {
		return fmt.Errorf("finish bisection %d: %w", id, err)
	}
	return nil
}

// OpenIncidentsOfTest returns the unresolved incidents of the clusters the
// test's failure in the run belongs to: those a bisection of it informs.
func OpenIncidentsOfTest(ctx context.Context, q Querier, testID, runID int64) ([]int64, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT i.id FROM incidents i JOIN failures f ON f.cluster_id = i.cluster_id
		WHERE f.run_id = $2 AND f.test_id = $1 AND i.status <> 'resolved' ORDER BY i.id`, testID, runID)
	if err != nil {
		return nil, fmt.Errorf("incidents of test %d: %w", testID, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// SetIncidentCommits replaces an incident's first bad and last good
// commits, with what a bisection found.
func SetIncidentCommits(ctx context.Context, q Querier, id int64, firstBad, lastGood string) error {
	_, err := q.Exec(ctx, `UPDATE incidents SET first_bad_sha = $2, last_good_sha = $3, updated_at = now() WHERE id = $1`,
		id, firstBad, lastGood)
	if err != nil {
		return fmt.Errorf("commits of incident %d: %w", id, err)
	}
	return nil
}

// BisectRun is one commit a bisection tested and what the test did there.
type BisectRun struct {
	SHA     string
	Outcome triage.BisectOutcome
}

// Runs are the commits tested, in the order run.
func (b TestBisect) Runs() []BisectRun {
	out := make([]BisectRun, 0, len(b.Tested))
	for i, sha := range b.Tested {
		if i < len(b.Outcomes) {
			out = append(out, BisectRun{SHA: sha, Outcome: b.Outcomes[i]})
		}
	}
	return out
}

// Took is the time the bisection's runs took.
func (b TestBisect) Took() time.Duration { return time.Duration(b.Seconds * float64(time.Second)) }
