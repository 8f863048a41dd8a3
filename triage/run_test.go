package triage

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecideMassFailure(t *testing.T) {
	t.Parallel()
	failed := func(c Category) RunFacts { return RunFacts{Category: c} }
	tests := []struct {
		name          string
		run           RunFacts
		tests, failed int
		want          MassFailureDecision
	}{
		{"errored run", RunFacts{Errored: true}, 0, 0, MassFailureDecision{Mass: true, Reason: "run errored for infrastructure"}},
		{"infrastructure category", failed(CategoryInfrastructure), 20, 1, MassFailureDecision{Mass: true, Reason: "run errored for infrastructure"}},
		{"half of ten tests", failed(CategoryTest), 10, 5, MassFailureDecision{Mass: true, Reason: "5 of 10 tests failed at once"}},
		{"just under half", failed(CategoryTest), 10, 4, MassFailureDecision{}},
		{"all of twenty", failed(CategoryTest), 20, 20, MassFailureDecision{Mass: true, Reason: "20 of 20 tests failed at once"}},
		{"too few tests to call it", failed(CategoryTest), 9, 9, MassFailureDecision{}},
		{"no tests", failed(CategoryUnknown), 0, 0, MassFailureDecision{}},
		{"timed out is not infrastructure", RunFacts{TimedOut: true, Category: CategoryTimeout}, 12, 1, MassFailureDecision{}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, DecideMassFailure(tt.run, tt.tests, tt.failed)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestRunFactsBranch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		branch, def string
		want        bool
	}{
		{"main", "main", true},
		{"feature", "main", false},
		{"", "", false},
		{"", "main", false},
	}
	for _, tt := range tests {
		if got := (RunFacts{Branch: tt.branch, DefaultBranch: tt.def}).OnDefaultBranch(); got != tt.want {
			t.Errorf("branch %q, default %q: %v", tt.branch, tt.def, got)
		}
	}
}
