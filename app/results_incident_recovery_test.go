package app

import (
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/app/githubapp/githubtest"
	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// A sync whose issue creation lost GitHub's answer finds the issue by its
// marker on the next attempt, and a lost comment is not posted twice.
func TestIncidentSyncRecoversFromLostAnswers(t *testing.T) {
	t.Parallel()
	w := newIncidentWorld(t, triage.IncidentPolicy{RedStreak: 50})
	w.fake.FailNext(githubtest.Fault{Kind: githubtest.LostAnswer, Method: "POST", PathPrefix: "/repos/octo/calc/issues"})
	w.run("Test05")
	w.run("Test05")
	var id int64
	err := w.db.QueryRow(w.ctx, `SELECT id FROM incidents`).Scan(&id)
	if err == nil {
		t.Fatalf("incident before the threshold: %d", id)
	}
	// The third run opens the incident; its first sync loses the answer.
	w.runs++
	opened := w.runNoSync("Test05")
	if len(opened) != 1 {
		t.Fatalf("opened %v", opened)
	}
	id = opened[0]
	if err := w.sync.Sync(w.ctx, id); err == nil {
		t.Fatal("sync with a lost answer reported success")
	}
	w.syncOnce(id)
	w.syncOnce(id)
	if is := w.fake.Issues("octo/calc"); len(is) != 1 {
		t.Fatalf("issues after a lost answer: %d", len(is))
	}
	in := w.incident(id)
	if in.IssueNumber != w.fake.Issues("octo/calc")[0].Number {
		t.Fatalf("stored issue %d", in.IssueNumber)
	}
	// A lost occurrence comment.
	w.run("Test05")
	w.now = w.now.Add(2 * time.Hour)
	w.fake.FailNext(githubtest.Fault{Kind: githubtest.LostAnswer, Method: "POST", PathPrefix: "/repos/octo/calc/issues/"})
	if err := w.sync.Sync(w.ctx, id); err == nil {
		t.Fatal("sync with a lost comment answer reported success")
	}
	w.syncOnce(id)
	if n := len(w.fake.Issues("octo/calc")[0].Comments); n != 1 {
		t.Fatalf("comments after a lost answer: %d", n)
	}
}

func TestIncidentSweep(t *testing.T) {
	t.Parallel()
	w := newIncidentWorld(t, triage.IncidentPolicy{RedStreak: 50})
	for i := 0; i < 3; i++ {
		w.run("Test07")
	}
	test, err := store.FindTest(w.ctx, w.db, w.repoID, "octo/calc", "Test01")
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	if err := store.SetQuarantine(w.ctx, w.db, test.ID, store.Quarantine{Owner: "alice", Source: "api", Until: &past, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	sweep := &jobs.IncidentSweepWorker{DB: w.db, Now: func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }}
	res, err := sweep.Sweep(w.ctx, w.rc)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Expired) != 1 || len(res.Resolved) != 1 || len(res.Synced) != 1 {
		t.Fatalf("sweep: %+v", res)
	}
	if st, _ := store.GetTest(w.ctx, w.db, test.ID); st.State() != "flaky" {
		t.Fatalf("expired quarantine: %s", st.State())
	}
	in := w.incident(res.Resolved[0])
	if in.Status != "resolved" {
		t.Fatalf("stale incident: %s", in.Status)
	}
	w.syncOnce(in.ID)
	if is := w.fake.Issues("octo/calc")[0]; is.State != "closed" {
		t.Fatalf("issue of a stale incident: %s", is.State)
	}
	// Nothing left to do.
	res, err = sweep.Sweep(w.ctx, w.rc)
	if err != nil || len(res.Expired)+len(res.Resolved)+len(res.Synced) != 0 {
		t.Fatalf("second sweep: %+v %v", res, err)
	}
}
