package store

import (
	"context"
	"fmt"
)

// RunOutcome sums up a test's results in one run: Passed and Failed are
// both true when a retry changed the outcome (flaky in that run).
type RunOutcome struct {
	RunID  int64
	Passed bool
	Failed bool
}

// FlakyFilter selects tests; zero fields do not filter. State "" lists
// every test that is not healthy or has a score.
type FlakyFilter struct {
	RepositoryID int64
	State        string
	Limit        int // default 100, at most 500
	Recent       int // outcomes per test, default 20
}

// ListFlakyTests returns the tests that are not healthy or have a score
// (or those in f.State), by score, highest first, each with its recent
// per-run outcomes.
func ListFlakyTests(ctx context.Context, q Querier, f FlakyFilter) ([]Test, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	if f.Recent <= 0 {
		f.Recent = 20
	}
	rows, err := q.Query(ctx, `SELECT `+testColumns+` FROM tests t JOIN repositories r ON r.id = t.repository_id
		WHERE ($1 = 0 OR t.repository_id = $1)
			AND CASE WHEN $2 = '' THEN (t.state <> 'healthy' OR t.score > 0) ELSE t.state = $2 END
		ORDER BY t.score DESC, t.id DESC LIMIT $3`, f.RepositoryID, f.State, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list flaky tests: %w", err)
	}
	var out []Test
	index := map[int64]int{}
	var ids []int64
	for rows.Next() {
		t, err := scanTest(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list flaky tests: %w", err)
		}
		index[t.ID] = len(out)
		ids = append(ids, t.ID)
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return out, err
	}
	// The newest results of each test through test_results_test_idx; a few
	// results per run (retries) collapse into one outcome per run.
	rows, err = q.Query(ctx, `SELECT x.test_id, r.run_id, bool_or(r.outcome = 'pass'), bool_or(r.outcome IN ('fail', 'error'))
		FROM unnest($1::bigint[]) AS x(test_id)
		CROSS JOIN LATERAL (SELECT run_id, outcome FROM test_results WHERE test_id = x.test_id ORDER BY id DESC LIMIT $2) r
		GROUP BY x.test_id, r.run_id ORDER BY x.test_id, r.run_id DESC`, ids, f.Recent*2)
	if err != nil {
		return nil, fmt.Errorf("flaky test outcomes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var o RunOutcome
		if err := rows.Scan(&id, &o.RunID, &o.Passed, &o.Failed); err != nil {
			return nil, fmt.Errorf("flaky test outcomes: %w", err)
		}
		t := &out[index[id]]
		if len(t.Recent) < f.Recent {
			t.Recent = append(t.Recent, o)
		}
	}
	return out, rows.Err()
}
