package app

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/triage"
)

// Merging two clusters that each have an open incident with a GitHub
// issue keeps the older incident and its issue; the other issue is closed
// as a duplicate with a comment linking the kept one, and later
// occurrences of either cause count in the kept incident.
func TestClusterMergeClosesDuplicateIssue(t *testing.T) {
	t.Parallel()
	w := newIncidentWorld(t, triage.IncidentPolicy{RedStreak: 50})
	w.run("Test01")
	w.run("Test01")
	older := w.run("Test01")
	w.run("Test01", "Test02")
	w.run("Test01", "Test02")
	newer := w.run("Test01", "Test02")
	if len(older) != 1 || len(newer) == 0 || newer[len(newer)-1] == older[0] {
		t.Fatalf("incidents opened: %v then %v", older, newer)
	}
	kept, dup := w.incident(older[0]), w.incident(newer[len(newer)-1])
	a := &jobs.Actions{DB: w.db, River: w.rc}
	// Merge the older incident's cluster into the newer one's: the older
	// incident is kept all the same.
	if err := a.MergeClusters(w.ctx, dup.ClusterID, kept.ClusterID, "dashboard:ann"); err != nil {
		t.Fatal(err)
	}
	w.syncOnce(dup.ID)
	w.syncOnce(dup.ID) // a second sync changes nothing
	issues := w.fake.Issues("octo/calc")
	if len(issues) != 2 {
		t.Fatalf("%d issues, want 2", len(issues))
	}
	var keptIssue, dupIssue = issues[0], issues[1]
	if keptIssue.Number != kept.IssueNumber {
		keptIssue, dupIssue = issues[1], issues[0]
	}
	if keptIssue.State != "open" {
		t.Errorf("kept issue #%d is %s", keptIssue.Number, keptIssue.State)
	}
	if dupIssue.State != "closed" || dupIssue.StateReason != "duplicate" {
		t.Errorf("duplicate issue #%d is %s/%s, want closed/duplicate", dupIssue.Number, dupIssue.State, dupIssue.StateReason)
	}
	if n := len(dupIssue.Comments); n != 1 || !strings.Contains(dupIssue.Comments[0].Body, fmt.Sprintf("Duplicate of #%d", keptIssue.Number)) ||
		!strings.Contains(dupIssue.Comments[0].Body, fmt.Sprintf("/incidents/%d", kept.ID)) {
		t.Errorf("duplicate issue comments: %+v", dupIssue.Comments)
	}
	if in := w.incident(dup.ID); in.Status != triage.IncidentResolved || in.DuplicateOf != kept.ID {
		t.Errorf("duplicate incident %s, duplicate of %d", in.Status, in.DuplicateOf)
	}
	before := w.incident(kept.ID).Occurrences
	w.run("Test01", "Test02")
	if in := w.incident(kept.ID); in.Occurrences != before+1 || in.ClusterID != dup.ClusterID {
		t.Errorf("kept incident: occurrences %d (before %d), cluster %d want %d", in.Occurrences, before, in.ClusterID, dup.ClusterID)
	}
	if st := w.incident(dup.ID).Status; st != triage.IncidentResolved {
		t.Errorf("duplicate incident came back: %s", st)
	}
}

// A cluster whose incident was resolved, merged into one with an open
// incident, brings no second candidate for reopening: the next occurrence
// counts in the open incident.
func TestClusterMergeOfResolvedIncident(t *testing.T) {
	t.Parallel()
	w := newIncidentWorld(t, triage.IncidentPolicy{RedStreak: 50})
	for range 3 {
		w.run("Test01")
	}
	w.run("Test02")
	w.run("Test02")
	opened := w.run("Test02") // the third clean run of Test01 resolves its incident
	var resolved, open int64
	for _, id := range opened {
		if w.incident(id).Status == triage.IncidentResolved {
			resolved = id
		} else {
			open = id
		}
	}
	if resolved == 0 || open == 0 {
		t.Fatalf("incidents after the runs: %v", opened)
	}
	a := &jobs.Actions{DB: w.db, River: w.rc}
	if err := a.MergeClusters(w.ctx, w.incident(open).ClusterID, w.incident(resolved).ClusterID, "api:token"); err != nil {
		t.Fatal(err)
	}
	before := w.incident(open).Occurrences
	w.run("Test01")
	if in := w.incident(resolved); in.Status != triage.IncidentResolved {
		t.Errorf("the merged cluster's resolved incident reopened beside the open one")
	}
	if in := w.incident(open); in.Status != triage.IncidentOpen || in.Occurrences != before+1 {
		t.Errorf("open incident %s with %d occurrences, want open with %d", in.Status, in.Occurrences, before+1)
	}
}
