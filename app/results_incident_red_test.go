package app

import (
	"testing"

	"github.com/sentinel-ci/sentinel/triage"
)

// A default branch failing three runs in a row opens a red-branch incident,
// unless a cluster incident already explains the streak: one problem, one issue.
func TestRedBranchIncidentOnlyWhenNoClusterExplainsIt(t *testing.T) {
	t.Parallel()
	w := newIncidentWorld(t, triage.IncidentPolicy{})
	w.run("Test01")
	w.run("Test01")
	opened := w.run("Test01")
	if len(opened) != 1 || w.incident(opened[0]).Kind != "cluster" {
		t.Fatalf("same failure three times: incidents %v, want only the cluster's", opened)
	}

	w2 := newIncidentWorld(t, triage.IncidentPolicy{})
	w2.run("Test01")
	w2.run("Test02")
	opened = w2.run("Test03")
	if len(opened) != 1 || w2.incident(opened[0]).Kind != "red_branch" {
		t.Fatalf("three different failures in a row: incidents %v, want one red-branch incident", opened)
	}
}
