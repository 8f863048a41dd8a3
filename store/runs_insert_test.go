package store_test

import (
	"context"
	"testing"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

func TestInsertRunsAnswersEachRun(t *testing.T) {
	db := storetest.NewDB(t)
	repo := seedRepo(t, db)
	ctx := context.Background()
	existing, _, err := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repo, SHA: "old", Trigger: "push"})
	if err != nil {
		t.Fatal(err)
	}
	ids, created, err := store.InsertRuns(ctx, db, []store.NewRun{
		{RepositoryID: repo, SHA: "a", Branch: "main", Trigger: "push"},
		{RepositoryID: repo, SHA: "old", Trigger: "push"},                    // exists
		{RepositoryID: repo, SHA: "a", Branch: "other", Trigger: "push"},     // same identity as the first
		{RepositoryID: repo, SHA: "a", Trigger: "pull_request", PRNumber: 3}, // another identity
	})
	if err != nil {
		t.Fatal(err)
	}
	if !created[0] || created[1] || created[2] || !created[3] {
		t.Errorf("created %v, want [true false false true]", created)
	}
	if ids[1] != existing || ids[2] != ids[0] || ids[3] == ids[0] || ids[0] == 0 {
		t.Errorf("ids %v (existing %d)", ids, existing)
	}
	if r, _ := store.GetRun(ctx, db, ids[3]); r.PRNumber != 3 || r.State != store.RunQueued || r.Attempt != 1 {
		t.Errorf("pull request run: %+v", r)
	}
}

func TestSupersedeRunsBatchKeepsLanesApart(t *testing.T) {
	db := storetest.NewDB(t)
	repo := seedRepo(t, db)
	ctx := context.Background()
	run := func(sha, branch string, pr int) int64 {
		id, _, err := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repo, SHA: sha, Branch: branch, PRNumber: pr, Trigger: map[bool]store.Trigger{true: store.TriggerPullRequest, false: store.TriggerPush}[pr != 0]})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	oldMain, oldDev, oldPR := run("1", "main", 0), run("2", "dev", 0), run("3", "feature", 5)
	prOnMain := run("4", "main", 6) // a pull request from main: its own lane
	newPR := run("5", "feature-renamed", 5)
	loser, newMain := run("6", "main", 0), run("7", "main", 0) // created together; newMain is the later delivery
	got, err := store.SupersedeRunsBatch(ctx, db, []store.Supersession{
		{RepositoryID: repo, Branch: "main", NewRunID: newMain},
		{RepositoryID: repo, Branch: "feature-renamed", PRNumber: 5, NewRunID: newPR},
	}, []int64{newPR, loser, newMain})
	if err != nil {
		t.Fatal(err)
	}
	by := map[int64]int64{}
	for _, s := range got {
		by[s.RunID] = s.By
	}
	want := map[int64]int64{oldMain: newMain, loser: newMain, oldPR: newPR}
	if len(by) != len(want) {
		t.Errorf("superseded %v, want %v", by, want)
	}
	for id, w := range want {
		if by[id] != w {
			t.Errorf("run %d superseded by %d, want %d", id, by[id], w)
		}
	}
	for _, id := range []int64{oldDev, prOnMain, newMain, newPR} {
		if r, _ := store.GetRun(ctx, db, id); r.State != store.RunQueued {
			t.Errorf("run %d (%s #%d) is %s; it is in another lane", id, r.Branch, r.PRNumber, r.State)
		}
	}
}
