package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
	"github.com/sentinel-ci/sentinel/triage"
)

// A bisection's life in its row: recorded once per test and bad commit,
// started with its range, its runs appended in order and counted against
// the repository's re-run budget (and the reaper's "in use"), finished with
// its verdict; the search resumes from what the row holds.
func TestBisectRecord(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	repoID := seedRepo(t, db)
	testID := newTest(t, db, repoID, "TestParse")
	runID, _, err := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repoID, SHA: "c3", Branch: "main", Trigger: store.TriggerPush, Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	n := store.NewBisect{RepositoryID: repoID, TestID: testID, RunID: runID, StepName: "test", GoodSHA: "c0", BadSHA: "c3"}
	id, err := store.InsertBisect(ctx, db, n)
	if err != nil || id == 0 {
		t.Fatalf("insert: %d %v", id, err)
	}
	if again, err := store.InsertBisect(ctx, db, n); err != nil || again != 0 {
		t.Errorf("the same test and bad commit again: %d %v, want nothing queued", again, err)
	}
	if ok, err := store.StartBisect(ctx, db, id, []string{"c1", "c2", "c3"}); !ok || err != nil {
		t.Fatalf("start: %v %v", ok, err)
	}
	if busy, err := store.ProbesRunning(ctx, db, runID); !busy || err != nil {
		t.Errorf("a running bisection leaves its run's runtime unused: %v %v", busy, err)
	}
	for _, r := range []store.BisectRun{{SHA: "c2", Outcome: triage.BisectSkip}, {SHA: "c1", Outcome: triage.BisectGood}} {
		if err := store.AddBisectRun(ctx, db, id, r.SHA, r.Outcome, 2*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if used, err := store.ProbeSecondsSince(ctx, db, repoID, time.Now().Add(-time.Hour)); err != nil || used != 4 {
		t.Errorf("budget used %v (%v), want the bisection's 4 seconds", used, err)
	}
	b, err := store.GetBisect(ctx, db, id)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.BisectRun{{SHA: "c2", Outcome: triage.BisectSkip}, {SHA: "c1", Outcome: triage.BisectGood}}
	if !cmp.Equal(b.Runs(), want) || b.Name != "TestParse" || b.State != store.ProbeRunning {
		t.Fatalf("bisection %+v", b)
	}
	if v := b.Bisection().Verdict(); v.Found || v.LastGood != "c1" || v.FirstBad != "c3" {
		t.Errorf("verdict from the row: %+v, want between c1 and c3 (c2 skipped)", v)
	}
	r := store.BisectResult{FirstBad: "c3", LastGood: "c1", Message: "between c1 and c3"}
	if err := store.FinishBisect(ctx, db, id, false, r); err != nil {
		t.Fatal(err)
	}
	bs, err := store.TestBisects(ctx, db, testID, 5)
	if err != nil || len(bs) != 1 || !bs[0].Finished() || bs[0].FirstBadSHA != "c3" || bs[0].FinishedAt == nil {
		t.Errorf("finished: %+v %v", bs, err)
	}
	if err := store.AddBisectRun(ctx, db, id, "c9", triage.BisectBad, time.Second); err != nil {
		t.Fatal(err)
	}
	if b, _ := store.GetBisect(ctx, db, id); len(b.Tested) != 2 {
		t.Errorf("a finished bisection took another run: %v", b.Tested)
	}
}
