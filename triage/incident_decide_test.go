package triage

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// mainRun is a failed run of the default branch.
func mainRun() RunFacts {
	return RunFacts{ID: 42, RepositoryID: 7, SHA: "0123456789abcdef0123456789abcdef01234567", Branch: "main",
		DefaultBranch: "main", Category: CategoryTest}
}

func branchRun(branch string) RunFacts {
	r := mainRun()
	r.Branch = branch
	return r
}

func erroredRun(branch string) RunFacts {
	r := branchRun(branch)
	r.Errored, r.Category, r.Error = true, CategoryInfrastructure, "docker: Cannot connect to the Docker daemon\nat unix:///var/run/docker.sock"
	return r
}

func seenCluster(id int64) SeenCluster {
	return SeenCluster{ID: id, Confidence: 0.9, Failure: Failure{Category: CategoryTest, Confidence: 0.9,
		Title: fmt.Sprintf("TestAdd%d: expected 3, got 4", id), Fingerprint: fmt.Sprintf("fp-%d", id)}}
}

func clusters(ids ...int64) []SeenCluster {
	var out []SeenCluster
	for _, id := range ids {
		out = append(out, seenCluster(id))
	}
	return out
}

func runs(kv ...int64) map[int64]int {
	m := map[int64]int{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = int(kv[i+1])
	}
	return m
}

func incident(id int64, kind IncidentKind, clusterID int64, status IncidentStatus, clean int) ExistingIncident {
	return ExistingIncident{ID: id, Kind: kind, ClusterID: clusterID, Status: status, CleanRuns: clean}
}

// decisionSummary is a decision in a form a table can state.
type decisionSummary struct {
	Updates    []string // "id from→to clean=n" + " occurrence" + " save" + " sync"
	Open       []string // "kind" or "cluster id"
	Suppressed []int64
}

func summarize(d IncidentDecision) decisionSummary {
	var s decisionSummary
	for _, u := range d.Updates {
		line := fmt.Sprintf("%d %s→%s clean=%d", u.ID, u.From, u.Next.Status, u.Next.CleanRuns)
		if u.Occurrence {
			line += " occurrence"
		}
		if u.SaveCleanRuns {
			line += " save"
		}
		if u.Sync {
			line += " sync"
		}
		s.Updates = append(s.Updates, line)
	}
	for _, o := range d.Open {
		if o.Kind == IncidentKindCluster {
			s.Open = append(s.Open, fmt.Sprintf("cluster %d", o.ClusterID))
		} else {
			s.Open = append(s.Open, string(o.Kind))
		}
	}
	s.Suppressed = d.Suppressed
	return s
}

var decideIncidentsTests = []struct {
	name string
	in   IncidentInput
	want decisionSummary
}{
	// Scope.
	{"a cancelled run bears on nothing",
		IncidentInput{Run: func() RunFacts { r := mainRun(); r.Cancelled = true; return r }(), Clusters: clusters(1),
			Facts: IncidentFacts{ClusterRuns: runs(1, 3), RedStreak: 3}},
		decisionSummary{}},
	{"another branch opens no cluster incident",
		IncidentInput{Run: branchRun("feature"), Clusters: clusters(1), Facts: IncidentFacts{ClusterRuns: runs(1, 3), RedStreak: 3}},
		decisionSummary{}},
	{"a run of no branch opens nothing",
		IncidentInput{Run: func() RunFacts { r := branchRun(""); r.DefaultBranch = ""; return r }(), Clusters: clusters(1),
			Facts: IncidentFacts{ClusterRuns: runs(1, 3), RedStreak: 3}},
		decisionSummary{}},
	{"another branch leaves the default branch's incidents alone",
		IncidentInput{Run: branchRun("feature"), Clusters: clusters(1),
			Incidents: []ExistingIncident{incident(10, IncidentKindCluster, 1, IncidentOpen, 0)}},
		decisionSummary{}},

	// Cluster thresholds within the window.
	{"two runs within the window: not yet",
		IncidentInput{Run: mainRun(), Clusters: clusters(1), Facts: IncidentFacts{ClusterRuns: runs(1, 2), RedStreak: 1}},
		decisionSummary{}},
	{"the third run within the window opens",
		IncidentInput{Run: mainRun(), Clusters: clusters(1), Facts: IncidentFacts{ClusterRuns: runs(1, 3), RedStreak: 1}},
		decisionSummary{Open: []string{"cluster 1"}}},
	{"each cluster is counted on its own",
		IncidentInput{Run: mainRun(), Clusters: clusters(1, 2, 3), Facts: IncidentFacts{ClusterRuns: runs(1, 1, 2, 4), RedStreak: 1}},
		decisionSummary{Open: []string{"cluster 2"}}},
	{"a flaky cluster opens nothing and fails nothing",
		IncidentInput{Run: mainRun(), Clusters: []SeenCluster{{ID: 1, Flaky: true, Failure: seenCluster(1).Failure}},
			Facts: IncidentFacts{ClusterRuns: runs(1, 9), RedStreak: 3}},
		decisionSummary{}},

	// The daily budget.
	{"budget exhausted: the cluster is suppressed",
		IncidentInput{Run: mainRun(), Clusters: clusters(1), Facts: IncidentFacts{OpenedToday: 5, ClusterRuns: runs(1, 3), RedStreak: 3}},
		decisionSummary{Suppressed: []int64{1}}},
	{"budget for one of two, in the run's order",
		IncidentInput{Run: mainRun(), Clusters: clusters(5, 3), Facts: IncidentFacts{OpenedToday: 4, ClusterRuns: runs(3, 3, 5, 3)}},
		decisionSummary{Open: []string{"cluster 5"}, Suppressed: []int64{3}}},
	{"an infrastructure incident takes its share of the budget first",
		IncidentInput{Run: func() RunFacts { r := mainRun(); r.Category = CategoryInfrastructure; return r }(), Clusters: clusters(1, 2),
			Facts: IncidentFacts{OpenedToday: 3, ClusterRuns: runs(1, 3, 2, 3), InfraRuns: 10, InfraErrored: 5}},
		decisionSummary{Open: []string{string(IncidentKindInfrastructure), "cluster 1"}, Suppressed: []int64{2}}},

	// Existing incidents.
	{"an open incident sees an occurrence and explains the streak",
		IncidentInput{Run: mainRun(), Clusters: clusters(1), Incidents: []ExistingIncident{incident(10, IncidentKindCluster, 1, IncidentOpen, 0)},
			Facts: IncidentFacts{ClusterRuns: runs(1, 9), RedStreak: 5}},
		decisionSummary{Updates: []string{"10 open→open clean=0 occurrence sync"}}},
	{"a clean run mitigates",
		IncidentInput{Run: mainRun(), Incidents: []ExistingIncident{incident(10, IncidentKindCluster, 1, IncidentOpen, 0)}},
		decisionSummary{Updates: []string{"10 open→mitigating clean=1 sync"}}},
	{"another clean run is counted",
		IncidentInput{Run: mainRun(), Incidents: []ExistingIncident{incident(10, IncidentKindCluster, 1, IncidentMitigating, 1)}},
		decisionSummary{Updates: []string{"10 mitigating→mitigating clean=2 save"}}},
	{"the third clean run resolves",
		IncidentInput{Run: mainRun(), Incidents: []ExistingIncident{incident(10, IncidentKindCluster, 1, IncidentMitigating, 2)}},
		decisionSummary{Updates: []string{"10 mitigating→resolved clean=3 sync"}}},
	{"a failure elsewhere is a clean run for this incident",
		IncidentInput{Run: mainRun(), Clusters: clusters(2), Incidents: []ExistingIncident{incident(10, IncidentKindCluster, 1, IncidentOpen, 0)},
			Facts: IncidentFacts{ClusterRuns: runs(2, 1), RedStreak: 1}},
		decisionSummary{Updates: []string{"10 open→mitigating clean=1 sync"}}},
	{"a resolved incident regresses instead of a new one opening",
		IncidentInput{Run: mainRun(), Clusters: clusters(1), Incidents: []ExistingIncident{incident(10, IncidentKindCluster, 1, IncidentResolved, 3)},
			Facts: IncidentFacts{ClusterRuns: runs(1, 3), RedStreak: 3}},
		decisionSummary{Updates: []string{"10 resolved→open clean=0 occurrence sync"}}},
	{"a resolved incident of another cluster stays resolved",
		IncidentInput{Run: mainRun(), Clusters: clusters(1), Incidents: []ExistingIncident{incident(10, IncidentKindCluster, 2, IncidentResolved, 3)},
			Facts: IncidentFacts{ClusterRuns: runs(1, 1)}},
		decisionSummary{}},
	{"a resolved red-branch incident stays resolved",
		IncidentInput{Run: mainRun(), Clusters: clusters(1), Incidents: []ExistingIncident{incident(12, IncidentKindRedBranch, 0, IncidentResolved, 3)},
			Facts: IncidentFacts{ClusterRuns: runs(1, 1), RedStreak: 1}},
		decisionSummary{}},

	// Widespread failures.
	{"more than five clusters due at once: one widespread incident",
		IncidentInput{Run: mainRun(), Clusters: clusters(1, 2, 3, 4, 5, 6),
			Facts: IncidentFacts{ClusterRuns: runs(1, 3, 2, 3, 3, 3, 4, 3, 5, 3, 6, 3), RedStreak: 1}},
		decisionSummary{Open: []string{string(IncidentKindWidespread)}}},
	// Only a cluster incident explains a failing streak; a widespread one
	// does not (as before the decision moved into triage).
	{"a widespread incident leaves a failing streak unexplained",
		IncidentInput{Run: mainRun(), Clusters: clusters(1, 2, 3, 4, 5, 6),
			Facts: IncidentFacts{ClusterRuns: runs(1, 3, 2, 3, 3, 3, 4, 3, 5, 3, 6, 3), RedStreak: 3}},
		decisionSummary{Open: []string{string(IncidentKindWidespread), string(IncidentKindRedBranch)}}},
	{"five clusters due at once: five incidents",
		IncidentInput{Run: mainRun(), Clusters: clusters(1, 2, 3, 4, 5), Facts: IncidentFacts{ClusterRuns: runs(1, 3, 2, 3, 3, 3, 4, 3, 5, 3)}},
		decisionSummary{Open: []string{"cluster 1", "cluster 2", "cluster 3", "cluster 4", "cluster 5"}}},
	{"widespread already open: it sees the run, and the streak is unexplained",
		IncidentInput{Run: mainRun(), Clusters: clusters(1, 2, 3, 4, 5, 6),
			Incidents: []ExistingIncident{incident(11, IncidentKindWidespread, 0, IncidentOpen, 0)},
			Facts:     IncidentFacts{ClusterRuns: runs(1, 3, 2, 3, 3, 3, 4, 3, 5, 3, 6, 3), RedStreak: 3}},
		decisionSummary{Updates: []string{"11 open→open clean=0 occurrence sync"}, Open: []string{string(IncidentKindRedBranch)}}},
	{"widespread over budget: every due cluster suppressed",
		IncidentInput{Run: mainRun(), Clusters: clusters(1, 2, 3, 4, 5, 6),
			Facts: IncidentFacts{OpenedToday: 5, ClusterRuns: runs(1, 3, 2, 3, 3, 3, 4, 3, 5, 3, 6, 3)}},
		decisionSummary{Suppressed: []int64{1, 2, 3, 4, 5, 6}}},

	// Red branch.
	{"three different failures in a row: red branch",
		IncidentInput{Run: mainRun(), Clusters: clusters(3), Facts: IncidentFacts{ClusterRuns: runs(3, 1), RedStreak: 3}},
		decisionSummary{Open: []string{string(IncidentKindRedBranch)}}},
	{"two failing runs in a row: not yet",
		IncidentInput{Run: mainRun(), Clusters: clusters(3), Facts: IncidentFacts{ClusterRuns: runs(3, 1), RedStreak: 2}},
		decisionSummary{}},
	{"a new cluster incident explains the streak",
		IncidentInput{Run: mainRun(), Clusters: clusters(1), Facts: IncidentFacts{ClusterRuns: runs(1, 3), RedStreak: 3}},
		decisionSummary{Open: []string{"cluster 1"}}},
	{"a timed-out run with no cluster is a failing run",
		IncidentInput{Run: func() RunFacts { r := mainRun(); r.TimedOut = true; return r }(), Facts: IncidentFacts{RedStreak: 3}},
		decisionSummary{Open: []string{string(IncidentKindRedBranch)}}},
	{"red branch already open: it sees the run",
		IncidentInput{Run: func() RunFacts { r := mainRun(); r.TimedOut = true; return r }(),
			Incidents: []ExistingIncident{incident(12, IncidentKindRedBranch, 0, IncidentOpen, 0)}, Facts: IncidentFacts{RedStreak: 3}},
		decisionSummary{Updates: []string{"12 open→open clean=0 occurrence sync"}}},
	{"red branch over budget",
		IncidentInput{Run: mainRun(), Clusters: clusters(3), Facts: IncidentFacts{OpenedToday: 5, ClusterRuns: runs(3, 1), RedStreak: 3}},
		decisionSummary{}},

	// Infrastructure.
	{"another branch's errored run reaches the rate",
		IncidentInput{Run: erroredRun("feature"), Facts: IncidentFacts{InfraRuns: 10, InfraErrored: 3}},
		decisionSummary{Open: []string{string(IncidentKindInfrastructure)}}},
	{"below the rate",
		IncidentInput{Run: erroredRun("feature"), Facts: IncidentFacts{InfraRuns: 10, InfraErrored: 2}},
		decisionSummary{}},
	{"too few runs to judge a rate",
		IncidentInput{Run: erroredRun("feature"), Facts: IncidentFacts{InfraRuns: 9, InfraErrored: 9}},
		decisionSummary{}},
	{"an infrastructure incident is open already",
		IncidentInput{Run: erroredRun("feature"), Incidents: []ExistingIncident{incident(13, IncidentKindInfrastructure, 0, IncidentOpen, 0)},
			Facts: IncidentFacts{InfraRuns: 10, InfraErrored: 9}},
		decisionSummary{}},
	{"no infrastructure incident beyond the budget",
		IncidentInput{Run: erroredRun("feature"), Facts: IncidentFacts{OpenedToday: 5, InfraRuns: 10, InfraErrored: 9}},
		decisionSummary{}},
	{"on the default branch an open infrastructure incident sees the errored run",
		IncidentInput{Run: erroredRun("main"), Incidents: []ExistingIncident{incident(13, IncidentKindInfrastructure, 0, IncidentOpen, 0)},
			Facts: IncidentFacts{InfraRuns: 10, InfraErrored: 9, RedStreak: 1}},
		decisionSummary{Updates: []string{"13 open→open clean=0 occurrence sync"}}},
	{"a run failing for its code is clean for the infrastructure incident",
		IncidentInput{Run: mainRun(), Clusters: clusters(1), Incidents: []ExistingIncident{incident(13, IncidentKindInfrastructure, 0, IncidentOpen, 0)},
			Facts: IncidentFacts{ClusterRuns: runs(1, 1), RedStreak: 1}},
		decisionSummary{Updates: []string{"13 open→mitigating clean=1 sync"}}},
}

func TestDecideIncidents(t *testing.T) {
	t.Parallel()
	for _, tt := range decideIncidentsTests {
		got := summarize(DecideIncidents(tt.in, IncidentPolicy{}))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// The worker reads only the facts FactsNeeded names: the others must not
// change the decision.
func TestDecideIncidentsReadsOnlyTheFactsItNeeds(t *testing.T) {
	t.Parallel()
	for _, tt := range decideIncidentsTests {
		need := tt.in.FactsNeeded(IncidentPolicy{})
		in := tt.in
		var f IncidentFacts
		if need.OpenedToday {
			f.OpenedToday = in.Facts.OpenedToday
		}
		if need.InfraRate {
			f.InfraRuns, f.InfraErrored = in.Facts.InfraRuns, in.Facts.InfraErrored
		}
		if need.RedStreak {
			f.RedStreak = in.Facts.RedStreak
		}
		for _, id := range need.ClusterRuns {
			if f.ClusterRuns == nil {
				f.ClusterRuns = map[int64]int{}
			}
			f.ClusterRuns[id] = in.Facts.ClusterRuns[id]
		}
		in.Facts = f
		if diff := cmp.Diff(DecideIncidents(tt.in, IncidentPolicy{}), DecideIncidents(in, IncidentPolicy{})); diff != "" {
			t.Errorf("%s: needs %+v, but other facts change the decision (-all +needed):\n%s", tt.name, need, diff)
		}
	}
}

func TestIncidentFactsNeeded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   IncidentInput
		want IncidentFactsNeeded
	}{
		{"cancelled", IncidentInput{Run: func() RunFacts { r := mainRun(); r.Cancelled = true; return r }(), Clusters: clusters(1)},
			IncidentFactsNeeded{}},
		{"a clean default-branch run can open nothing", IncidentInput{Run: mainRun()}, IncidentFactsNeeded{}},
		{"new clusters", IncidentInput{Run: mainRun(), Clusters: clusters(4, 2)},
			IncidentFactsNeeded{OpenedToday: true, ClusterRuns: []int64{4, 2}, RedStreak: true}},
		{"an incident explains the run", IncidentInput{Run: mainRun(), Clusters: clusters(4, 2),
			Incidents: []ExistingIncident{incident(10, IncidentKindCluster, 4, IncidentOpen, 0)}},
			IncidentFactsNeeded{OpenedToday: true, ClusterRuns: []int64{2}}},
		{"a red-branch incident is open", IncidentInput{Run: mainRun(), Clusters: clusters(2),
			Incidents: []ExistingIncident{incident(12, IncidentKindRedBranch, 0, IncidentMitigating, 1)}},
			IncidentFactsNeeded{OpenedToday: true, ClusterRuns: []int64{2}}},
		{"errored on another branch", IncidentInput{Run: erroredRun("feature")},
			IncidentFactsNeeded{OpenedToday: true, InfraRate: true}},
		{"errored with an infrastructure incident open", IncidentInput{Run: erroredRun("feature"),
			Incidents: []ExistingIncident{incident(13, IncidentKindInfrastructure, 0, IncidentOpen, 0)}},
			IncidentFactsNeeded{}},
		{"errored on the default branch", IncidentInput{Run: erroredRun("main")},
			IncidentFactsNeeded{OpenedToday: true, InfraRate: true, RedStreak: true}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.in.FactsNeeded(IncidentPolicy{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestShownClusters(t *testing.T) {
	t.Parallel()
	cs := []SeenCluster{seenCluster(3), {ID: 4, Flaky: true}, {ID: 0}, seenCluster(1), seenCluster(3)}
	if diff := cmp.Diff([]int64{3, 1}, IncidentInput{Run: mainRun(), Clusters: cs}.ShownClusters()); diff != "" {
		t.Errorf("default branch (-want +got):\n%s", diff)
	}
	if got := (IncidentInput{Run: branchRun("feature"), Clusters: cs}).ShownClusters(); got != nil {
		t.Errorf("another branch shows %v", got)
	}
}

func TestIncidentOpenings(t *testing.T) {
	t.Parallel()
	p := IncidentPolicy{}.WithDefaults()
	c := seenCluster(1)
	c.Failure.Hint = "Add returns the wrong sum."
	d := DecideIncidents(IncidentInput{Run: mainRun(), Clusters: []SeenCluster{c}, Facts: IncidentFacts{ClusterRuns: runs(1, 3)}}, p)
	want := []IncidentOpening{{Kind: IncidentKindCluster, ClusterID: 1, Title: "test on main: TestAdd1: expected 3, got 4",
		Severity: "medium", Fingerprint: "fp-1", RootCause: RootCause(c.Failure, p), Category: CategoryTest, Confidence: 0.9}}
	if diff := cmp.Diff(want, d.Open); diff != "" {
		t.Errorf("cluster incident (-want +got):\n%s", diff)
	}

	// A guess needs a human; a long title is clipped.
	c = seenCluster(2)
	c.Confidence, c.Failure.Category, c.Failure.Title = 0.4, CategoryUnknown, strings.Repeat("é", 300)
	o := ClusterIncident(c, "main", p)
	if !o.NeedsHuman || len([]rune(o.Title)) != 200 || !strings.HasSuffix(o.Title, "…") || o.Severity != "medium" {
		t.Errorf("uncertain cluster incident: %+v", o)
	}

	d = DecideIncidents(IncidentInput{Run: mainRun(), Clusters: clusters(3), Facts: IncidentFacts{ClusterRuns: runs(3, 1), RedStreak: 4}}, p)
	want = []IncidentOpening{{Kind: IncidentKindRedBranch, Title: "main has failed 4 runs in a row", Severity: "high",
		Fingerprint: "red_branch:7:main", NeedsHuman: true, RootCause: "Several different failures may be involved; see the runs in the timeline."}}
	if diff := cmp.Diff(want, d.Open); diff != "" {
		t.Errorf("red-branch incident (-want +got):\n%s", diff)
	}

	d = DecideIncidents(IncidentInput{Run: mainRun(), Clusters: clusters(1, 2, 3, 4, 5, 6, 7),
		Facts: IncidentFacts{ClusterRuns: runs(1, 3, 2, 3, 3, 3, 4, 3, 5, 3, 6, 3, 7, 1)}}, p)
	if len(d.Open) != 1 || d.Open[0].Title != "Widespread failure on main: 6 failure clusters at once" ||
		d.Open[0].Fingerprint != "widespread:7:42" || !d.Open[0].NeedsHuman || d.Open[0].Severity != "critical" {
		t.Errorf("widespread incident: %+v", d.Open)
	}

	d = DecideIncidents(IncidentInput{Run: erroredRun("feature"), Facts: IncidentFacts{InfraRuns: 10, InfraErrored: 4}}, p)
	want = []IncidentOpening{{Kind: IncidentKindInfrastructure, Title: "Infrastructure failures: 4 of 10 runs in 24h0m0s",
		Severity: "critical", Fingerprint: "infrastructure:7", Category: CategoryInfrastructure, Confidence: 0.8,
		RootCause: "The runner errored in 4 of the last 10 runs: docker: Cannot connect to the Docker daemon"}}
	if diff := cmp.Diff(want, d.Open); diff != "" {
		t.Errorf("infrastructure incident (-want +got):\n%s", diff)
	}
}

func TestIncidentDecisionDetails(t *testing.T) {
	t.Parallel()
	// Status reasons name the run and its commit.
	d := DecideIncidents(IncidentInput{Run: mainRun(), Incidents: []ExistingIncident{incident(10, IncidentKindCluster, 1, IncidentOpen, 0)}}, IncidentPolicy{})
	if len(d.Updates) != 1 || d.Updates[0].Next.Reason != "mitigating: run 42 (0123456789ab) no longer shows the failure" {
		t.Errorf("updates: %+v", d.Updates)
	}
	// Suppression says why.
	d = DecideIncidents(IncidentInput{Run: mainRun(), Clusters: clusters(1), Facts: IncidentFacts{OpenedToday: 2, ClusterRuns: runs(1, 3)}},
		IncidentPolicy{DailyBudget: 2})
	if d.SuppressedReason != "daily budget of 2 new incidents reached" {
		t.Errorf("suppressed %v: %q", d.Suppressed, d.SuppressedReason)
	}
	// A repository's own threshold and window.
	p := IncidentPolicy{After: 5, Within: time.Hour}.WithRepository(2, 0)
	if p.After != 2 || p.Within != time.Hour || p.DailyBudget != 5 {
		t.Errorf("repository policy: %+v", p)
	}
	d = DecideIncidents(IncidentInput{Run: mainRun(), Clusters: clusters(1), Facts: IncidentFacts{ClusterRuns: runs(1, 2)}}, p)
	if len(d.Open) != 1 {
		t.Errorf("after 2 runs with the repository's threshold: %+v", d)
	}
}
