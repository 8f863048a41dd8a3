package store_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// TestTestResultReadsAreIndexOnly: the test page and the flaky page read a
// test's latest results, or those of a time window, through the one index
// keyed by test (test_results_test_recent_idx), index-only, with a history
// large enough that the planner would rather scan anything else if it could.
// Recording a run writes that index once per result; the two it replaced
// (by id and by time) are gone.
func TestTestResultReadsAreIndexOnly(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	repo, err := store.UpsertRepository(ctx, db, store.Repository{FullName: "octo/plans", CloneURL: "file:///x"})
	if err != nil {
		t.Fatal(err)
	}
	// 400 runs of 300 tests over 19 weeks, one result in 50 failing.
	_, err = db.Exec(ctx, `
		WITH t AS (INSERT INTO tests (repository_id, package, name)
			SELECT $1, 'example.com/p', 'Test' || g FROM generate_series(1, 300) g RETURNING id),
		r AS (INSERT INTO runs (repository_id, sha, branch, trigger, external_id, state)
			SELECT $1, 'sha' || g, 'main', 'external', 'x' || g, 'succeeded' FROM generate_series(1, 400) g RETURNING id)
		INSERT INTO test_results (run_id, test_id, outcome, created_at)
		SELECT r.id, t.id, CASE WHEN (r.id + t.id) % 50 = 0 THEN 'fail' ELSE 'pass' END,
			now() - (400 - r.id % 400) * interval '8 hours'
		FROM r CROSS JOIN t`, repo)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `VACUUM ANALYZE test_results`); err != nil {
		t.Fatal(err)
	}
	var testID int64
	if err := db.QueryRow(ctx, `SELECT min(id) FROM tests WHERE repository_id = $1`, repo).Scan(&testID); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	args := map[string][]any{
		"test page history":          {testID, 100},
		"test page weekly trend":     {testID, now.Add(-12 * 7 * 24 * time.Hour), now},
		"flaky page recent outcomes": {[]int64{testID, testID + 1, testID + 2}, 50},
		"flaky page impact":          {[]int64{testID, testID + 1, testID + 2}, 50},
	}
	for _, q := range store.TestResultReads {
		var plan []string
		err := db.InTx(ctx, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, "EXPLAIN "+q.SQL, args[q.Name]...)
			if err != nil {
				return err
			}
			plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, "Index Only Scan using test_results_test_recent_idx on test_results") ||
			strings.Contains(text, "Seq Scan on test_results") {
			t.Errorf("%s does not read test_results index-only through test_results_test_recent_idx:\n%s", q.Name, text)
		}
		// The latest results come in the index's order: sorting them
		// would read the test's whole history first.
		if sortedByTime.MatchString(text) {
			t.Errorf("%s sorts a test's results instead of reading them in index order:\n%s", q.Name, text)
		}
	}
	var idx []string
	rows, err := db.Query(ctx, `SELECT indexname FROM pg_indexes WHERE tablename = 'test_results' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	if idx, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	want := "test_results_failing_idx test_results_pkey test_results_run_test_idx test_results_test_recent_idx"
	if got := strings.Join(idx, " "); got != want {
		t.Errorf("indexes on test_results: %s, want %s", got, want)
	}
}

var sortedByTime = regexp.MustCompile(`Sort Key: (test_results\.)?(id|created_at)\b`)
