package triage

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNextIncidentStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status     IncidentStatus
		clean      int
		seen       bool
		want       IncidentStatus
		wantClean  int
		wantReason bool
	}{
		{IncidentOpen, 0, true, IncidentOpen, 0, false},
		{IncidentOpen, 0, false, IncidentMitigating, 1, true},
		{IncidentMitigating, 1, false, IncidentMitigating, 2, false},
		{IncidentMitigating, 2, false, IncidentResolved, 3, true},
		{IncidentMitigating, 2, true, IncidentOpen, 0, true},
		{IncidentResolved, 3, true, IncidentOpen, 0, true},
		{IncidentResolved, 3, false, IncidentResolved, 3, false},
	}
	for _, tt := range tests {
		got := NextIncidentStatus(tt.status, tt.clean, tt.seen, "run 9", IncidentPolicy{})
		if got.Status != tt.want || got.CleanRuns != tt.wantClean || (got.Reason != "") != tt.wantReason {
			t.Errorf("%s clean=%d seen=%v: got %+v, want %s clean=%d", tt.status, tt.clean, tt.seen, got, tt.want, tt.wantClean)
		}
	}
}

func TestDecideOpen(t *testing.T) {
	t.Parallel()
	cands := func(runs ...int) []ClusterCandidate {
		var out []ClusterCandidate
		for i, r := range runs {
			out = append(out, ClusterCandidate{ClusterID: int64(i + 1), RunsWithin: r})
		}
		return out
	}
	tests := []struct {
		name        string
		cands       []ClusterCandidate
		openedToday int
		want        OpenDecision
	}{
		{"below threshold", cands(1, 2), 0, OpenDecision{Budget: 5}},
		{"at threshold", cands(3, 2, 4), 0, OpenDecision{Clusters: []int64{1, 3}, Budget: 3}},
		{"budget", cands(3, 3, 3), 3, OpenDecision{Clusters: []int64{1, 2}, Suppressed: []int64{3}}},
		{"budget spent", cands(3), 5, OpenDecision{Suppressed: []int64{1}}},
		{"widespread", cands(3, 3, 3, 3, 3, 3), 0, OpenDecision{Widespread: true, Budget: 4}},
		{"widespread over budget", cands(3, 3, 3, 3, 3, 3), 5, OpenDecision{Suppressed: []int64{1, 2, 3, 4, 5, 6}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, DecideOpen(tt.cands, tt.openedToday, 0, IncidentPolicy{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestRootCauseSaysWhenItIsAGuess(t *testing.T) {
	t.Parallel()
	sure := RootCause(Failure{Category: CategoryOOM, Confidence: 0.95, Hint: "The container exceeded its memory limit."}, IncidentPolicy{})
	guess := RootCause(Failure{Category: CategoryUnknown, Confidence: 0.2, Title: "Step failed"}, IncidentPolicy{})
	if strings.Contains(sure, "not established") || !strings.Contains(guess, "needs a human") {
		t.Fatalf("sure: %q\nguess: %q", sure, guess)
	}
	if !NeedsHuman(CategoryTest, 0.5, IncidentPolicy{}) || NeedsHuman(CategoryTest, 0.9, IncidentPolicy{}) {
		t.Fatal("NeedsHuman thresholds")
	}
}
