package triage

import "fmt"

// RunFacts is what the incident and mass-failure decisions know of one
// finished run. The analysis worker fills it from the run's row.
type RunFacts struct {
	ID            int64
	RepositoryID  int64
	SHA           string
	Branch        string // "" for a run of no branch (a tag, an API run at a commit)
	DefaultBranch string // the repository's
	Errored       bool   // the runner errored: the environment failed, not the code
	TimedOut      bool
	Cancelled     bool
	Category      Category // the run's own category; CategoryInfrastructure when the runner blamed its environment
	Error         string   // the run's error message
}

// OnDefaultBranch reports whether the run is of the repository's default
// branch, the only branch whose failures open cluster incidents.
func (r RunFacts) OnDefaultBranch() bool {
	return r.Branch != "" && r.Branch == r.DefaultBranch
}

// Infrastructure reports whether the run failed for infrastructure.
func (r RunFacts) Infrastructure() bool {
	return r.Errored || r.Category == CategoryInfrastructure
}

// MassFailureDecision says whether a run's test outcomes are one event
// rather than evidence about each test: the outcomes of a mass failure are
// observed as Excluded, so they move no flaky window or score.
type MassFailureDecision struct {
	Mass   bool
	Reason string // why, for the run's analysis record; "" when Mass is false
}

// DecideMassFailure is the guard that keeps infrastructure events out of
// flaky scores: a run that errored for infrastructure, or most of its tests
// failing at once (MassFailure).
func DecideMassFailure(run RunFacts, tests, failedTests int) MassFailureDecision {
	if run.Infrastructure() {
		return MassFailureDecision{Mass: true, Reason: "run errored for infrastructure"}
	}
	if MassFailure(tests, failedTests) {
		return MassFailureDecision{Mass: true, Reason: fmt.Sprintf("%d of %d tests failed at once", failedTests, tests)}
	}
	return MassFailureDecision{}
}
