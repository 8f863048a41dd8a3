package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
	"github.com/sentinel-ci/sentinel/triage"
)

func newTest(t *testing.T, db *store.DB, repoID int64, name string) int64 {
	t.Helper()
	var id int64
	if err := db.QueryRow(context.Background(), `INSERT INTO tests (repository_id, package, name) VALUES ($1, 'pkg', $2) RETURNING id`,
		repoID, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// A write-back of flaky state never undoes a quarantine set meanwhile.
func TestSaveTestsLeavesConcurrentChangesAlone(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	repoID := seedRepo(t, db)
	a, b := newTest(t, db, repoID, "TestA"), newTest(t, db, repoID, "TestB")
	loaded, err := store.LoadTests(ctx, db, []int64{a, b})
	if err != nil || len(loaded) != 2 {
		t.Fatalf("load: %v %v", loaded, err)
	}
	if err := store.SetQuarantine(ctx, db, a, store.Quarantine{Owner: "alice", Source: "dashboard", Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{a, b} {
		tt := loaded[id]
		tt.Flaky.State, tt.Score, tt.EvidenceRuns = triage.TestFlaky, 0.95, []int64{3, 2}
		tt.Flaky.Window = tt.Flaky.Window.Push(true, 50)
	}
	if err := store.SaveTests(ctx, db, []*store.Test{loaded[a], loaded[b]}, map[int64]bool{a: true, b: true}); err != nil {
		t.Fatal(err)
	}
	ga, _ := store.GetTest(ctx, db, a)
	gb, _ := store.GetTest(ctx, db, b)
	if ga.State() != "quarantined" || ga.QuarantineOwner != "alice" {
		t.Fatalf("quarantine undone: %s %q", ga.State(), ga.QuarantineOwner)
	}
	if gb.State() != "flaky" || gb.Score != 0.95 || gb.Flaky.Window.N != 1 || !cmp.Equal(gb.EvidenceRuns, []int64{3, 2}) {
		t.Fatalf("saved test: %+v", gb)
	}
	evs, err := store.TestEvents(ctx, db, a, 10)
	if err != nil || len(evs) != 1 || evs[0].To != "quarantined" || evs[0].Actor != "test" {
		t.Fatalf("events: %+v %v", evs, err)
	}
}

func TestQuarantineExpiryAndRelease(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	repoID := seedRepo(t, db)
	expired, later, manual := newTest(t, db, repoID, "TestOld"), newTest(t, db, repoID, "TestLater"), newTest(t, db, repoID, "TestManual")
	now := time.Now()
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	for id, until := range map[int64]*time.Time{expired: &past, later: &future, manual: nil} {
		if err := store.SetQuarantine(ctx, db, id, store.Quarantine{Owner: "bob", Until: until, Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := store.ExpireQuarantines(ctx, db, now)
	if err != nil || !cmp.Equal(ids, []int64{expired}) {
		t.Fatalf("expired %v %v", ids, err)
	}
	err = db.InTx(ctx, func(tx pgx.Tx) error { return store.ReleaseQuarantine(ctx, tx, manual, "api:token") })
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]triage.TestState{expired: "flaky", later: "quarantined", manual: "flaky"} {
		if got, _ := store.GetTest(ctx, db, id); got.State() != want {
			t.Errorf("test %d: %s, want %s", id, got.State(), want)
		}
	}
	if err := store.SetQuarantine(ctx, db, 999999, store.Quarantine{Owner: "x"}); err == nil {
		t.Fatal("quarantining a missing test succeeded")
	}
}

func TestRepositoryPolicyAndRunAnalysis(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	repoID := seedRepo(t, db)
	p, err := store.GetRepositoryPolicy(ctx, db, repoID)
	if err != nil || p.DefaultBranch != "main" || len(p.Quarantine) != 0 || p.IncidentsAfter != 0 {
		t.Fatalf("default policy: %+v %v", p, err)
	}
	if err := store.SetRepositoryPolicy(ctx, db, repoID, []string{"pkg.TestA"}, 4, 12*time.Hour); err != nil {
		t.Fatal(err)
	}
	p, err = store.GetRepositoryPolicy(ctx, db, repoID)
	if err != nil || !cmp.Equal(p.Quarantine, []string{"pkg.TestA"}) || p.IncidentsAfter != 4 || p.IncidentsWithin != 12*time.Hour {
		t.Fatalf("policy: %+v %v", p, err)
	}
	runID, _, err := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repoID, SHA: "abc1234", Trigger: "api"})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		first, err := store.RecordRunAnalysis(ctx, db, store.RunAnalysis{RunID: runID, MassFailure: true, Tests: 10})
		if err != nil || first != want {
			t.Fatalf("analysis %d: first=%v %v", i, first, err)
		}
	}
	hits := []store.ClusterHit{{Fingerprint: "f1", Category: "test", Title: "boom", Occurrences: 2}}
	for _, count := range []bool{true, false} {
		if _, err := store.UpsertClusters(ctx, db, repoID, hits, count, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	var occ, runs int
	if err := db.QueryRow(ctx, `SELECT occurrences, run_count FROM clusters`).Scan(&occ, &runs); err != nil || occ != 2 || runs != 1 {
		t.Fatalf("cluster counted twice: %d occurrences over %d runs %v", occ, runs, err)
	}
}

func TestPushEvidenceRun(t *testing.T) {
	t.Parallel()
	runs := []int64{}
	for i := int64(1); i <= 12; i++ {
		runs = store.PushEvidenceRun(runs, i)
	}
	runs = store.PushEvidenceRun(runs, 12)
	if diff := cmp.Diff([]int64{12, 11, 10, 9, 8, 7, 6, 5, 4, 3}, runs); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}
