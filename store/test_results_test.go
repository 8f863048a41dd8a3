package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// TestTestsPassedOnRetry: a run is flaky when a test in it failed and then
// passed on a retry (a later attempt in the run) or a re-run (a later run of
// the same commit), and only then: not for a retried step, a test that
// failed and never passed, a pass before the failure, or the same test
// failing in another commit's run.
func TestTestsPassedOnRetry(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	repo, err := store.UpsertRepository(ctx, db, store.Repository{FullName: "octo/flaky", CloneURL: "file:///x"})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]int64{}
	for _, name := range []string{"TestA", "TestB", "TestC"} {
		var id int64
		if err := db.QueryRow(ctx, `INSERT INTO tests (repository_id, package, name) VALUES ($1, 'example.com/p', $2) RETURNING id`, repo, name).Scan(&id); err != nil {
			t.Fatal(err)
		}
		tests[name] = id
	}
	run := func(sha byte, attempt int, state string) int64 {
		t.Helper()
		var id int64
		if err := db.QueryRow(ctx, `INSERT INTO runs (repository_id, sha, ref, branch, trigger, attempt, state) VALUES ($1, $2, 'refs/heads/main', 'main', 'push', $3, $4) RETURNING id`,
			repo, strings.Repeat(string(sha), 40), attempt, state).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	result := func(run int64, test string, attempt int, outcome string) {
		t.Helper()
		if _, err := db.Exec(ctx, `INSERT INTO test_results (run_id, test_id, attempt, outcome) VALUES ($1, $2, $3, $4)`, run, tests[test], attempt, outcome); err != nil {
			t.Fatal(err)
		}
	}

	retried := run('a', 1, "succeeded") // TestA failed, passed on its retry; TestB passed at once
	result(retried, "TestA", 1, "fail")
	result(retried, "TestA", 2, "pass")
	result(retried, "TestB", 1, "pass")

	mixed := run('b', 1, "failed") // TestB errored then passed; TestC failed twice
	result(mixed, "TestB", 1, "error")
	result(mixed, "TestB", 2, "pass")
	result(mixed, "TestC", 1, "fail")
	result(mixed, "TestC", 2, "fail")

	quarantined := run('c', 1, "succeeded") // TestC failed and never passed: the run succeeded without it
	result(quarantined, "TestA", 1, "pass")
	result(quarantined, "TestC", 1, "fail")

	stepRetried := run('d', 1, "succeeded") // the step needed another attempt; no test failed
	if _, err := db.Exec(ctx, `INSERT INTO steps (run_id, position, name, attempt, state) VALUES ($1, 0, 'test', 1, 'errored'), ($1, 0, 'test', 2, 'succeeded')`, stepRetried); err != nil {
		t.Fatal(err)
	}
	result(stepRetried, "TestA", 2, "pass")

	passedThenFailed := run('e', 1, "failed")
	result(passedThenFailed, "TestA", 1, "pass")
	result(passedThenFailed, "TestA", 2, "fail")

	first := run('f', 1, "failed") // TestA failed; the re-run of the commit passed it
	result(first, "TestA", 1, "fail")
	rerun := run('f', 2, "succeeded")
	result(rerun, "TestA", 1, "pass")
	otherCommit := run('0', 2, "succeeded") // attempt 2 of a commit whose attempt 1 nobody ran here
	result(otherCommit, "TestA", 1, "pass")

	got, err := store.TestsPassedOnRetry(ctx, db, []int64{retried, mixed, quarantined, stepRetried, passedThenFailed, first, rerun, otherCommit})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64][]string{retried: {"TestA"}, mixed: {"TestB"}, rerun: {"TestA"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runs with a test that failed, then passed on a retry or re-run (-want +got):\n%s", diff)
	}
	if got, err := store.TestsPassedOnRetry(ctx, db, nil); err != nil || len(got) != 0 {
		t.Errorf("no runs: %v, %v", got, err)
	}
}
