package triage

import (
	"fmt"
	"math"
)

// Confirmation re-runs: a test that failed, and was neither known flaky nor
// broken, is run again alone at the same commit. One pass there proves it
// flaky (the commit did not change, the outcome did); every re-run failing
// says the commit broke it. Waiting for history to say the same takes weeks.

// DefaultConfirmRuns is how many times a test is re-run to confirm it when
// the pipeline file does not say (flaky: {confirm_runs: N}).
const DefaultConfirmRuns = 10

// MaxConfirmRuns bounds confirm_runs: past it, more re-runs cost minutes
// and tell nothing new.
const MaxConfirmRuns = 50

// minBrokenRuns is the fewest re-runs, all failing, that call a test broken
// when fewer than asked for reported it (the budget ran out, a re-run
// reported nothing). A flaky test failing 1 run in 3 fails 3 in a row once
// in 27 times; fewer could not tell the two apart.
const minBrokenRuns = 3

// ConfirmVerdict is what the re-runs of one failed test said.
type ConfirmVerdict struct {
	Wanted   int // re-runs asked for
	Runs     int // re-runs that reported the test
	Failures int // of those, the ones where it failed
}

// State is the test state the re-runs prove: TestFlaky when one passed,
// TestBroken when all failed (and enough ran), "" when they cannot tell.
func (v ConfirmVerdict) State() TestState {
	switch {
	case v.Runs == 0:
		return ""
	case v.Failures < v.Runs:
		return TestFlaky
	case v.Runs >= min(v.Wanted, minBrokenRuns):
		return TestBroken
	}
	return ""
}

// Text says the verdict for people: "failed 3 of 10 re-runs: flaky, about
// 1 in 3", "failed 10 of 10 re-runs: broken".
func (v ConfirmVerdict) Text() string {
	head := fmt.Sprintf("failed %d of %d re-runs", v.Failures, v.Runs)
	switch v.State() {
	case TestFlaky:
		if v.Failures == 0 {
			// The failure that started the probe is the only one seen.
			return fmt.Sprintf("%s: flaky, failing less often than 1 in %d", head, v.Runs)
		}
		return fmt.Sprintf("%s: flaky, about 1 in %d", head, int(math.Round(float64(v.Runs)/float64(v.Failures))))
	case TestBroken:
		return head + ": broken"
	}
	if v.Runs == 0 {
		return "no re-run reported the test: cannot tell"
	}
	return head + ": too few to tell"
}

// Confirm applies a verdict reached at commit sha to the test's state and
// returns the transition, if any. A pass at the failing commit makes any
// test flaky that is not flaky or quarantined already (the same-commit rule
// Observe applies); all re-runs failing make a healthy or recovered test
// broken at that commit. A flaky test is never made broken by re-runs: it
// has passed and failed on one commit before.
func (s FlakyState) Confirm(v ConfirmVerdict, sha string) (FlakyState, *Transition) {
	if s.State == "" {
		s.State = TestHealthy
	}
	from := s.State
	reason := "confirmed by re-runs at " + ShortSHA(sha) + ": " + v.Text()
	switch v.State() {
	case TestFlaky:
		if s.State == TestFlaky || s.State == TestQuarantined {
			return s, nil
		}
		s.State, s.FirstBadSHA, s.LastGoodSHA = TestFlaky, "", ""
	case TestBroken:
		if s.State != TestHealthy && s.State != TestRecovered {
			return s, nil
		}
		s.State, s.FirstBadSHA, s.LastGoodSHA = TestBroken, sha, ""
		if s.StreakSHA == sha {
			s.LastGoodSHA = s.StreakPrevPassSHA
		}
	default:
		return s, nil
	}
	return s, transition(from, s.State, []string{reason})
}
