package store_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
	"github.com/sentinel-ci/sentinel/triage"
)

// Test results have no per-row foreign keys (migration 0052): their parents
// are checked once per statement. These tests hold the guarantees the
// foreign keys gave.

var oneResult = []triage.TestCase{{Package: "m/p", Name: "TestA", Outcome: triage.OutcomeFail, Message: "boom"}}

// TestRecordTestResultsRefusesMissingParents: results naming a step or a run
// that does not exist, or a step of another run, are refused whole with an
// error that names the missing parent, and nothing is stored.
func TestRecordTestResultsRefusesMissingParents(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	repoID, runID := newRunForSteps(t, db)
	ctx := context.Background()
	otherRun, _, err := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repoID, SHA: strings.Repeat("b", 40), Trigger: "api"})
	if err != nil {
		t.Fatal(err)
	}
	otherStep, _, err := store.InsertStep(ctx, db, store.NewStep{RunID: otherRun, Name: "test", State: triage.StepRunning})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		run, step   int64
		wantMessage string
	}{
		{"missing step", runID, otherStep + 1000, "test results name step " + itoa(otherStep+1000) + ", which does not exist"},
		{"missing run", runID + 1000, 0, "test results name run " + itoa(runID+1000) + ", which does not exist"},
		{"step of another run", runID, otherStep, "test results name step " + itoa(otherStep) + ", which is a step of another run"},
	} {
		err := db.InTx(ctx, func(tx pgx.Tx) error {
			return store.RecordTestResults(ctx, tx, repoID, tc.run, tc.step, 1, oneResult)
		})
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23503" || !strings.Contains(err.Error(), tc.wantMessage) {
			t.Errorf("%s: error = %v, want foreign_key_violation %q", tc.name, err, tc.wantMessage)
		}
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM test_results`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d results stored after refused writes (%v)", n, err)
	}
}

// TestDeletingParentsDeletesTheirResults: deleting a step, a run, a test or
// a whole repository leaves no result behind that names it.
func TestDeletingParentsDeletesTheirResults(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	repoID, runID := newRunForSteps(t, db)
	ctx := context.Background()
	var steps []int64
	for _, name := range []string{"build", "test", "lint"} {
		id, _, err := store.InsertStep(ctx, db, store.NewStep{RunID: runID, Name: name, State: triage.StepRunning})
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, id)
	}
	cases := []triage.TestCase{
		{Package: "m/p", Name: "TestA", Outcome: triage.OutcomePass},
		{Package: "m/p", Name: "TestB", Outcome: triage.OutcomeFail},
		{Package: "m/q", Name: "TestC", Outcome: triage.OutcomePass},
	}
	for _, step := range append(steps, 0) {
		if err := db.InTx(ctx, func(tx pgx.Tx) error {
			return store.RecordTestResults(ctx, tx, repoID, runID, step, 1, cases)
		}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(where string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM test_results WHERE `+where, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`run_id = $1`, runID); n != 12 {
		t.Fatalf("%d results recorded, want 12", n)
	}
	orphans := `NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = run_id)
		OR step_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM steps s WHERE s.id = step_id)
		OR NOT EXISTS (SELECT 1 FROM tests t WHERE t.id = test_id)`

	if _, err := db.Exec(ctx, `DELETE FROM steps WHERE id = $1`, steps[0]); err != nil {
		t.Fatal(err)
	}
	if n, left := count(orphans), count(`run_id = $1`, runID); n != 0 || left != 9 {
		t.Errorf("after deleting a step: %d orphans, %d results left (want 0, 9)", n, left)
	}
	if _, err := db.Exec(ctx, `DELETE FROM tests WHERE name = 'TestB'`); err != nil {
		t.Fatal(err)
	}
	if n, left := count(orphans), count(`run_id = $1`, runID); n != 0 || left != 6 {
		t.Errorf("after deleting a test: %d orphans, %d results left (want 0, 6)", n, left)
	}
	if _, err := db.Exec(ctx, `DELETE FROM runs WHERE id = $1`, runID); err != nil {
		t.Fatal(err)
	}
	if n := count(`true`); n != 0 {
		t.Errorf("after deleting the run: %d results left", n)
	}

	// A repository's deletion cascades to its runs and tests, and so to
	// their results.
	other, _, err := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repoID, SHA: strings.Repeat("c", 40), Trigger: "api"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.InTx(ctx, func(tx pgx.Tx) error {
		return store.RecordTestResults(ctx, tx, repoID, other, 0, 1, cases)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `DELETE FROM repositories WHERE id = $1`, repoID); err != nil {
		t.Fatal(err)
	}
	if n := count(`true`); n != 0 {
		t.Errorf("after deleting the repository: %d results left", n)
	}
}

// TestDeletingARunWhileItsResultsAreWritten: a run deleted while another
// transaction writes its results waits for that transaction (the parents
// are locked as a foreign key locks them), then deletes the results too.
func TestDeletingARunWhileItsResultsAreWritten(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t)
	ctx := context.Background()
	db, err := store.Open(ctx, url, 4, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	repoID, runID := newRunForSteps(t, db)
	writer, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close(ctx)
	tx, err := writer.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.RecordTestResults(ctx, tx, repoID, runID, 0, 1, oneResult); err != nil {
		t.Fatal(err)
	}
	deleteWhileWriting(t, db, tx, `DELETE FROM runs WHERE id = $1`, runID)
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM test_results WHERE run_id = $1`, runID).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d results of the deleted run are left (%v)", n, err)
	}
}

// TestDeletingATestWhileItsResultsAreWritten: a test deleted while another
// transaction writes its results waits for that transaction (a delete of
// tests takes test_results in SHARE mode, migration 0059), then deletes
// the results too; the writer took no lock on the test's row.
func TestDeletingATestWhileItsResultsAreWritten(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t)
	ctx := context.Background()
	db, err := store.Open(ctx, url, 4, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	repoID, runID := newRunForSteps(t, db)
	// The test exists before: a first attempt's result creates it.
	if err := db.InTx(ctx, func(tx pgx.Tx) error {
		return store.RecordTestResults(ctx, tx, repoID, runID, 0, 1, oneResult)
	}); err != nil {
		t.Fatal(err)
	}
	writer, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close(ctx)
	tx, err := writer.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.RecordTestResults(ctx, tx, repoID, runID, 0, 2, oneResult); err != nil {
		t.Fatal(err)
	}
	var testID int64
	if err := tx.QueryRow(ctx, `SELECT test_id FROM test_results WHERE run_id = $1 AND attempt = 2`, runID).Scan(&testID); err != nil {
		t.Fatal(err)
	}
	// Unlocked: another session may lock the test's row for update at once.
	if err := db.InTx(ctx, func(other pgx.Tx) error {
		_, err := other.Exec(ctx, `SELECT 1 FROM tests WHERE id = $1 FOR UPDATE NOWAIT`, testID)
		return err
	}); err != nil {
		t.Errorf("the writer holds a lock on its test's row: %v", err)
	}
	deleteWhileWriting(t, db, tx, `DELETE FROM tests WHERE id = $1`, testID)
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM test_results WHERE test_id = $1`, testID).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d results of the deleted test are left (%v)", n, err)
	}
}

// deleteWhileWriting runs the delete of id in another session while the
// writer's transaction is open, and commits the writer once the delete
// waits on its lock (or, were nothing locked, has had time to finish
// first); it returns when the delete is done.
func deleteWhileWriting(t *testing.T, db *store.DB, writer pgx.Tx, sql string, id int64) {
	t.Helper()
	ctx := context.Background()
	deleted := make(chan error, 1)
	go func() {
		_, err := db.Exec(ctx, sql, id)
		deleted <- err
	}()
	waitForLockWait(t, db)
	if err := writer.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}
}

// waitForLockWait returns once a session of the test's database waits on a
// lock, or after 3 s.
func waitForLockWait(t *testing.T, db *store.DB) {
	t.Helper()
	for range 300 {
		var waiting bool
		if err := db.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
