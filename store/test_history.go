package store

import (
	"context"
	"fmt"
	"time"
)

// TestRun is one run of a test for the test page: its attempts in that
// run summed up, with the run's commit and branch.
type TestRun struct {
	RunID     int64
	SHA       string
	Branch    string
	PRNumber  int
	CreatedAt time.Time
	Attempts  int
	Passed    bool          // some attempt passed
	Failed    bool          // some attempt failed or errored
	Duration  time.Duration // all attempts together
	Lost      time.Duration // the failing attempts
}

// TestHistoryResults is how many of a test's latest results the test page
// reads: its strip and its counts cover this window.
const TestHistoryResults = 1000

// TestHistory is a test's latest runs (newest first) and what its failures
// cost over its latest TestHistoryResults results.
type TestHistory struct {
	Runs         []TestRun // the latest runs, at most the limit asked
	Window       int       // runs in the window
	WindowFrom   time.Time // the oldest run in the window
	FailedRuns   int       // runs in the window with a failing attempt
	FlakyRuns    int       // runs in the window that failed, then passed on retry
	PRsAffected  int       // pull requests among the failed runs
	RetryLost    time.Duration
	FirstFlaky   time.Time // when the test first became flaky; zero if never
	FirstFlakyIn int64     // the run of the first flip, when no state change was recorded
}

// LoadTestHistory reads a test's history: its latest results through
// test_results_test_cover_idx, grouped by run, joined to the runs.
func LoadTestHistory(ctx context.Context, q Querier, testID int64, limit int) (TestHistory, error) {
	var h TestHistory
	rows, err := q.Query(ctx, `SELECT r.id, r.sha, r.branch, COALESCE(r.pr_number, 0), r.created_at, x.attempts, x.passed, x.failed, x.ms, x.lost
		FROM (SELECT run_id, count(*) AS attempts, bool_or(outcome = 'pass') AS passed, bool_or(outcome IN ('fail', 'error')) AS failed,
				sum(duration_ms) AS ms, COALESCE(sum(duration_ms) FILTER (WHERE outcome IN ('fail', 'error')), 0) AS lost
			FROM (SELECT run_id, outcome, duration_ms FROM test_results WHERE test_id = $1 ORDER BY id DESC LIMIT $2) t
			GROUP BY run_id) x
		JOIN runs r ON r.id = x.run_id
		ORDER BY r.id DESC`, testID, TestHistoryResults)
	if err != nil {
		return h, fmt.Errorf("history of test %d: %w", testID, err)
	}
	prs := map[int]bool{}
	for rows.Next() {
		var t TestRun
		var ms, lost int64
		if err := rows.Scan(&t.RunID, &t.SHA, &t.Branch, &t.PRNumber, &t.CreatedAt, &t.Attempts, &t.Passed, &t.Failed, &ms, &lost); err != nil {
			rows.Close()
			return h, fmt.Errorf("history of test %d: %w", testID, err)
		}
		t.Duration, t.Lost = time.Duration(ms)*time.Millisecond, time.Duration(lost)*time.Millisecond
		h.Window++
		h.WindowFrom = t.CreatedAt
		if t.Failed {
			h.FailedRuns++
			if t.PRNumber > 0 {
				prs[t.PRNumber] = true
			}
		}
		if t.Failed && t.Passed {
			h.FlakyRuns++
			h.RetryLost += t.Lost
			h.FirstFlakyIn = t.RunID
		}
		if len(h.Runs) < limit {
			h.Runs = append(h.Runs, t)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return h, fmt.Errorf("history of test %d: %w", testID, err)
	}
	h.PRsAffected = len(prs)
	var first *time.Time
	if err := q.QueryRow(ctx, `SELECT min(created_at) FROM test_events WHERE test_id = $1 AND to_state = 'flaky'`, testID).Scan(&first); err != nil {
		return h, fmt.Errorf("first flaky of test %d: %w", testID, err)
	}
	if first != nil {
		h.FirstFlaky = *first
	}
	return h, nil
}
