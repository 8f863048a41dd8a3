package app

import (
	"strings"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// finishBisect records a finished bisection of the test in the run whose
// failure opened the incident, naming first as its first bad commit.
func (w *incidentWorld) finishBisect(in store.Incident, test, first, lastGood string) {
	w.t.Helper()
	var testID int64
	if err := w.db.QueryRow(w.ctx, `SELECT id FROM tests WHERE repository_id = $1 AND name = $2`, w.repoID, test).Scan(&testID); err != nil {
		w.t.Fatal(err)
	}
	id, err := store.InsertBisect(w.ctx, w.db, store.NewBisect{RepositoryID: w.repoID, TestID: testID, RunID: in.LastRunID,
		StepName: "test", GoodSHA: "good", BadSHA: "bad"})
	if err != nil || id == 0 {
		w.t.Fatalf("bisection: %d %v", id, err)
	}
	if ok, err := store.StartBisect(w.ctx, w.db, id, []string{lastGood, first, "bad"}); !ok || err != nil {
		w.t.Fatalf("start bisection: %v %v", ok, err)
	}
	for sha, o := range map[string]triage.BisectOutcome{first: triage.BisectBad, lastGood: triage.BisectGood} {
		if err := store.AddBisectRun(w.ctx, w.db, id, sha, o, time.Second); err != nil {
			w.t.Fatal(err)
		}
	}
	if err := store.FinishBisect(w.ctx, w.db, id, false, store.BisectResult{Found: true, FirstBad: first, LastGood: lastGood,
		Author: "Ada", PullRequest: 12, Message: "first bad commit " + first + " by Ada in #12"}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *incidentWorld) bisectedEvents(id int64) int {
	w.t.Helper()
	events, err := store.IncidentEvents(w.ctx, w.db, id, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	n := 0
	for _, e := range events {
		if e.Kind == store.IncidentEventBisected {
			n++
		}
	}
	return n
}

// A bisection finished after the incident's issue was filed is told once:
// a comment, the incident's commits, one timeline entry; one finished
// before the issue is filed is in the issue's body instead.
func TestIncidentTellsBisectionOnce(t *testing.T) {
	p := triage.IncidentPolicy{After: 1}
	w := newIncidentWorld(t, p)
	ids := w.run("Test03")
	if len(ids) != 1 {
		t.Fatalf("incidents %v, want one", ids)
	}
	in := w.incident(ids[0])
	w.finishBisect(in, "Test03", "c2", "c1")
	w.syncOnce(in.ID)
	w.syncOnce(in.ID)
	issues := w.fake.Issues("octo/calc")
	if len(issues) != 1 {
		t.Fatalf("issues %+v", issues)
	}
	told := 0
	for _, c := range issues[0].Comments {
		if strings.Contains(c.Body, "**Bisected** `octo/calc::Test03`: the first bad commit is `c2`, by Ada, in #12") {
			told++
		}
	}
	if told != 1 || w.bisectedEvents(in.ID) != 1 {
		t.Errorf("told %d times, %d timeline entries, want once: %+v", told, w.bisectedEvents(in.ID), issues[0].Comments)
	}
	if in = w.incident(in.ID); in.FirstBadSHA != "c2" || in.LastGoodSHA != "c1" {
		t.Errorf("incident commits %s..%s, want c1..c2", in.LastGoodSHA, in.FirstBadSHA)
	}

	w = newIncidentWorld(t, p)
	ids = w.runNoSync("Test03")
	in = w.incident(ids[0])
	w.finishBisect(in, "Test03", "c2", "c1")
	w.syncOnce(in.ID)
	issues = w.fake.Issues("octo/calc")
	if len(issues) != 1 || len(issues[0].Comments) != 0 || w.bisectedEvents(in.ID) != 1 ||
		!strings.Contains(issues[0].Body, "- First bad commit: `c2`") ||
		!strings.Contains(issues[0].Body, "**bisected** octo/calc::Test03 bisected: first bad commit c2 by Ada in #12") {
		t.Errorf("issue filed after the bisection: %+v", issues)
	}
}
