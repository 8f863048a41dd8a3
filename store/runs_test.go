package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

func seedRepo(t *testing.T, db *store.DB) int64 {
	t.Helper()
	ctx := context.Background()
	if err := store.UpsertInstallation(ctx, db, store.Installation{ID: 7, AccountLogin: "octo"}); err != nil {
		t.Fatal(err)
	}
	id, err := store.UpsertRepository(ctx, db, store.Repository{GitHubID: 99, InstallationID: 7, FullName: "octo/app", CloneURL: "https://example.invalid/octo/app.git"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestInsertRunOnceUnderConcurrency(t *testing.T) {
	db := storetest.NewDB(t)
	repo := seedRepo(t, db)
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([]int64, 50)
	created := make([]bool, 50)
	errs := make([]error, 50)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], created[i], errs[i] = store.InsertRun(ctx, db, store.NewRun{RepositoryID: repo, SHA: "abc", Branch: "main", Trigger: "push"})
		}()
	}
	wg.Wait()
	n := 0
	for i := range ids {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if ids[i] != ids[0] {
			t.Errorf("insert %d returned run %d, want %d", i, ids[i], ids[0])
		}
		if created[i] {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d inserts report creating the run, want 1", n)
	}
	// A new attempt of the same commit is a different run.
	attempt, err := store.NextAttempt(ctx, db, repo, "abc", "push", 0)
	if err != nil || attempt != 2 {
		t.Fatalf("next attempt = %d, %v; want 2", attempt, err)
	}
	id2, created2, err := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repo, SHA: "abc", Branch: "main", Trigger: "push", Attempt: attempt})
	if err != nil || !created2 || id2 == ids[0] {
		t.Errorf("attempt 2: id %d created %v err %v", id2, created2, err)
	}
}

func TestSupersedeAndTransitions(t *testing.T) {
	db := storetest.NewDB(t)
	repo := seedRepo(t, db)
	ctx := context.Background()
	old, _, _ := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repo, SHA: "a1", Branch: "feature", Trigger: "push"})
	other, _, _ := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repo, SHA: "b1", Branch: "main", Trigger: "push"})
	pr, _, _ := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repo, SHA: "a1", Branch: "feature", PRNumber: 3, Trigger: "pull_request"})
	newer, _, _ := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repo, SHA: "a2", Branch: "feature", Trigger: "push"})

	sup, err := store.SupersedeRunsBatch(ctx, db, []store.Supersession{{RepositoryID: repo, Branch: "feature", NewRunID: newer}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sup) != 1 || sup[0].RunID != old {
		t.Fatalf("superseded = %+v, want only run %d (not the PR run, not main)", sup, old)
	}
	r, err := store.GetRun(ctx, db, old)
	if err != nil || r.State != store.RunCancelled || r.SupersededBy != newer || r.FinishedAt == nil {
		t.Errorf("old run after supersede: %+v %v", r, err)
	}
	for _, id := range []int64{other, pr, newer} {
		if r, _ := store.GetRun(ctx, db, id); r.State != store.RunQueued {
			t.Errorf("run %d state %s, want queued", id, r.State)
		}
	}

	ok, err := store.TransitionRun(ctx, db, newer, []store.RunState{store.RunQueued}, store.RunRunning, "", "")
	if err != nil || !ok {
		t.Fatalf("queued -> running: %v %v", ok, err)
	}
	ok, _ = store.TransitionRun(ctx, db, newer, []store.RunState{store.RunQueued}, store.RunRunning, "", "")
	if ok {
		t.Error("a second queued -> running must not apply")
	}
	store.TransitionRun(ctx, db, newer, []store.RunState{store.RunRunning}, store.RunFailed, "test", "")
	r, _ = store.GetRun(ctx, db, newer)
	if r.State != store.RunFailed || r.Category != "test" || r.StartedAt == nil || r.FinishedAt == nil || r.Repository != "octo/app" || r.InstallationID != 7 {
		t.Errorf("final run: %+v", r)
	}

	runs, err := store.ListRuns(ctx, db, store.RunFilter{Branch: "feature", Limit: 2})
	if err != nil || len(runs) != 2 || runs[0].ID != newer {
		t.Fatalf("list: %d runs, %v", len(runs), err)
	}
	page2, _ := store.ListRuns(ctx, db, store.RunFilter{Branch: "feature", Before: runs[1].ID})
	if len(page2) != 1 || page2[0].ID != old {
		t.Errorf("keyset page 2 = %+v", page2)
	}
	if _, err := store.GetRun(ctx, db, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing run: %v, want ErrNotFound", err)
	}
}
