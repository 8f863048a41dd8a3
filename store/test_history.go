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
const TestHistoryResults = 500

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

// testHistorySQL reads a test's latest $2 results grouped by run.
const testHistorySQL = `SELECT run_id, count(*), bool_or(outcome = 'pass'), bool_or(outcome IN ('fail', 'error')),
		sum(duration_ms), COALESCE(sum(duration_ms) FILTER (WHERE outcome IN ('fail', 'error')), 0)
	FROM (SELECT run_id, outcome, duration_ms FROM test_results WHERE test_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2) t
	GROUP BY run_id ORDER BY run_id DESC`

// LoadTestHistory reads a test's history: its latest results through
// test_results_test_recent_idx (index-only), grouped by run, with their runs.
func LoadTestHistory(ctx context.Context, q Querier, testID int64, limit int) (TestHistory, error) {
	var h TestHistory
	// Two queries rather than a join: with a join the planner hashes the
	// whole runs table for the thousand runs it needs.
	rows, err := q.Query(ctx, testHistorySQL, testID, TestHistoryResults)
	if err != nil {
		return h, fmt.Errorf("history of test %d: %w", testID, err)
	}
	var runs []TestRun
	var ids []int64
	for rows.Next() {
		var t TestRun
		var ms, lost int64
		if err := rows.Scan(&t.RunID, &t.Attempts, &t.Passed, &t.Failed, &ms, &lost); err != nil {
			rows.Close()
			return h, fmt.Errorf("history of test %d: %w", testID, err)
		}
		t.Duration, t.Lost = time.Duration(ms)*time.Millisecond, time.Duration(lost)*time.Millisecond
		runs = append(runs, t)
		ids = append(ids, t.RunID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return h, fmt.Errorf("history of test %d: %w", testID, err)
	}
	if len(runs) == 0 {
		return h, nil
	}
	rows, err = q.Query(ctx, `SELECT id, sha, branch, COALESCE(pr_number, 0), created_at FROM runs WHERE id = ANY($1)`, ids)
	if err != nil {
		return h, fmt.Errorf("runs of test %d: %w", testID, err)
	}
	type runInfo struct {
		sha, branch string
		pr          int
		at          time.Time
	}
	info := make(map[int64]runInfo, len(ids))
	for rows.Next() {
		var id int64
		var ri runInfo
		if err := rows.Scan(&id, &ri.sha, &ri.branch, &ri.pr, &ri.at); err != nil {
			rows.Close()
			return h, fmt.Errorf("runs of test %d: %w", testID, err)
		}
		info[id] = ri
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return h, fmt.Errorf("runs of test %d: %w", testID, err)
	}
	prs := map[int]bool{}
	for _, t := range runs {
		ri, ok := info[t.RunID]
		if !ok {
			continue // deleted meanwhile (retention)
		}
		t.SHA, t.Branch, t.PRNumber, t.CreatedAt = ri.sha, ri.branch, ri.pr, ri.at
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

// WeekRate is how many runs of a test in one week had a failing attempt.
type WeekRate struct {
	Start  time.Time // the week's first instant: now minus a multiple of 7 days
	Runs   int
	Failed int
}

// weeklyRatesSQL counts a test's runs and failed runs per week between $2 and $3.
const weeklyRatesSQL = `SELECT floor(extract(epoch FROM $3::timestamptz - t.first) / 604800)::int AS ago, count(*), count(*) FILTER (WHERE t.failed)
	FROM (SELECT run_id, min(created_at) AS first, bool_or(outcome IN ('fail', 'error')) AS failed FROM test_results
		WHERE test_id = $1 AND created_at >= $2 AND created_at <= $3 GROUP BY run_id) t
	GROUP BY 1`

// TestWeeklyRates returns a test's runs and failed runs per week over the
// weeks before now, oldest first, a week without runs included with zero
// runs. A run falls in the week its first result of the test was recorded
// in (results are recorded as the run goes, minutes after it starts); the
// results are read through test_results_test_recent_idx (index-only), only
// those of the window.
func TestWeeklyRates(ctx context.Context, q Querier, testID int64, now time.Time, weeks int) ([]WeekRate, error) {
	since := now.Add(-time.Duration(weeks) * 7 * 24 * time.Hour)
	rows, err := q.Query(ctx, weeklyRatesSQL, testID, since, now)
	if err != nil {
		return nil, fmt.Errorf("weekly rates of test %d: %w", testID, err)
	}
	defer rows.Close()
	out := make([]WeekRate, weeks)
	for i := range out {
		out[i].Start = now.Add(-time.Duration(weeks-i) * 7 * 24 * time.Hour)
	}
	for rows.Next() {
		var ago, runs, failed int
		if err := rows.Scan(&ago, &runs, &failed); err != nil {
			return nil, fmt.Errorf("weekly rates of test %d: %w", testID, err)
		}
		if i := weeks - 1 - ago; i >= 0 && i < weeks {
			out[i].Runs, out[i].Failed = runs, failed
		}
	}
	return out, rows.Err()
}
