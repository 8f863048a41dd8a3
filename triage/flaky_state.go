package triage

import (
	"fmt"
	"time"
)

// TestState is where a test stands with respect to flakiness. The values
// are stored in tests.state and shown in the API; they never change.
type TestState string

const (
	TestHealthy     TestState = "healthy"
	TestFlaky       TestState = "flaky"
	TestQuarantined TestState = "quarantined"
	TestBroken      TestState = "broken"
	TestRecovered   TestState = "recovered"
)

// TestStates lists every test state, those that need a person first.
var TestStates = []TestState{TestFlaky, TestQuarantined, TestBroken, TestRecovered, TestHealthy}

// FlakyState is the rolling state kept per test. Observe updates it with
// one run's outcome in constant time.
type FlakyState struct {
	State  TestState `json:"state"`
	Window Window    `json:"window"`
	// StreakSHA is the commit where the current failing streak began, and
	// StreakPrevPassSHA the commit of the counted run before it: the last
	// good commit if the streak turns out to be a breakage. They change only
	// when a streak starts, so a passing run leaves the state as it was
	// once the window is full (and its row need not be written).
	StreakSHA         string `json:"streak_sha,omitempty"`
	StreakPrevPassSHA string `json:"streak_prev_pass_sha,omitempty"`
	// FirstBadSHA and LastGoodSHA name the breakage of a broken test.
	FirstBadSHA string `json:"first_bad_sha,omitempty"`
	LastGoodSHA string `json:"last_good_sha,omitempty"`
	// QuarantineUntil ends a quarantine; zero means no expiry.
	QuarantineUntil time.Time `json:"quarantine_until"`
}

// Observation is one run's outcome of one test.
type Observation struct {
	SHA string
	// PrevSHA is the commit of the previous counted run (of the repository
	// on the same branch): the last good commit if a failing streak starts here.
	PrevSHA string
	Failed  bool // the run's final verdict on the test (any failing attempt counts)
	// SameCommitFlip: the test both passed and failed on this commit, in
	// this run's attempts or in another run of the same commit.
	SameCommitFlip bool
	// Excluded: the mass-failure guard holds (most tests failed at once, or
	// the run errored for infrastructure), so the outcome is not evidence.
	Excluded bool
	// OffWindow: the run is not on the default branch, so it does not enter
	// the statistical window; only the same-commit rule applies to it.
	OffWindow bool
}

// Transition is a change of state with the reason for it.
type Transition struct {
	From   TestState `json:"from"`
	To     TestState `json:"to"`
	Reason string    `json:"reason"`
}

// Observe records o and returns the new state, the score of the new window
// and the transition, if the state changed. now is only used for
// quarantine expiry.
func (s FlakyState) Observe(o Observation, c FlakyConfig, now time.Time) (FlakyState, FlakyScore, *Transition) {
	c = c.WithDefaults()
	if s.State == "" {
		s.State = TestHealthy
	}
	from := s.State
	var reasons []string
	move := func(to TestState, reason string) {
		if s.State != to {
			s.State = to
			reasons = append(reasons, reason)
		}
	}
	if s.State == TestQuarantined && !s.QuarantineUntil.IsZero() && !now.Before(s.QuarantineUntil) {
		move(TestFlaky, "quarantine expired")
		s.QuarantineUntil = time.Time{}
	}
	if o.Excluded || o.OffWindow {
		if !o.Excluded && o.SameCommitFlip && s.State != TestFlaky && s.State != TestQuarantined {
			move(TestFlaky, fmt.Sprintf("passed and failed on the same commit %s", ShortSHA(o.SHA)))
			s.FirstBadSHA, s.LastGoodSHA = "", ""
		}
		return s, ScoreOutcomes(s.Window.Outcomes(), c), transition(from, s.State, reasons)
	}
	if o.Failed && s.Window.FailStreak() == 0 {
		s.StreakSHA, s.StreakPrevPassSHA = o.SHA, o.PrevSHA
	}
	s.Window = s.Window.Push(o.Failed, c.Window)
	passStreak, failStreak := s.Window.PassStreak(), s.Window.FailStreak()
	score := ScoreOutcomes(s.Window.Outcomes(), c)
	switch {
	case o.SameCommitFlip && s.State != TestFlaky && s.State != TestQuarantined:
		move(TestFlaky, fmt.Sprintf("passed and failed on the same commit %s", ShortSHA(o.SHA)))
		s.FirstBadSHA, s.LastGoodSHA = "", ""
	case s.State == TestBroken && !o.Failed:
		move(TestHealthy, fmt.Sprintf("passes again at %s after failing since %s", ShortSHA(o.SHA), ShortSHA(s.FirstBadSHA)))
		s.FirstBadSHA, s.LastGoodSHA = "", ""
	case failStreak >= c.BrokenStreak && (s.State == TestHealthy || s.State == TestRecovered) ||
		failStreak >= 2*c.BrokenStreak && s.State == TestFlaky:
		s.FirstBadSHA, s.LastGoodSHA = s.StreakSHA, s.StreakPrevPassSHA
		reason := fmt.Sprintf("failed %d runs in a row since %s", failStreak, ShortSHA(s.StreakSHA))
		if s.LastGoodSHA != "" {
			reason += fmt.Sprintf("; last passed at %s", ShortSHA(s.LastGoodSHA))
		}
		move(TestBroken, reason)
	case (s.State == TestHealthy || s.State == TestRecovered) && score.Flaky(c):
		move(TestFlaky, fmt.Sprintf("%d intermittent failures in %d runs (flakiness probability %.2f, flip rate %.2f)",
			score.Episodes, score.Runs, score.Probability, score.FlipRate))
	case (s.State == TestFlaky || s.State == TestQuarantined) && passStreak >= min(c.QuietRuns, c.Window) && score.Probability < c.Exit:
		move(TestRecovered, fmt.Sprintf("passed %d runs in a row (flakiness probability %.2f)", passStreak, score.Probability))
		s.QuarantineUntil = time.Time{}
	}
	return s, score, transition(from, s.State, reasons)
}

func transition(from, to TestState, reasons []string) *Transition {
	if from == to {
		return nil
	}
	r := ""
	for i, x := range reasons {
		if i > 0 {
			r += "; "
		}
		r += x
	}
	return &Transition{From: from, To: to, Reason: r}
}

// Quarantine puts a test in quarantine until the given time (zero: until
// it recovers or is released by hand).
func (s FlakyState) Quarantine(until time.Time) (FlakyState, *Transition) {
	from := s.State
	if from == "" {
		from = TestHealthy
	}
	s.State, s.QuarantineUntil = TestQuarantined, until
	return s, transition(from, s.State, []string{"quarantined"})
}

// ClassifyHistory replays a test's whole history, oldest first, through
// Observe and returns where it ends, its final score and every transition.
// It is the function to evaluate the detector on recorded data (for
// example re-runs from published flaky-test studies): a test is called
// flaky when the final state is TestFlaky, or when any transition entered
// it.
func ClassifyHistory(obs []Observation, c FlakyConfig, now time.Time) (FlakyState, FlakyScore, []Transition) {
	var s FlakyState
	var score FlakyScore
	var ts []Transition
	prev := ""
	for _, o := range obs {
		if o.PrevSHA == "" {
			o.PrevSHA = prev
		}
		if !o.Excluded && !o.OffWindow && o.SHA != prev {
			prev = o.SHA
		}
		var t *Transition
		s, score, t = s.Observe(o, c, now)
		if t != nil {
			ts = append(ts, *t)
		}
	}
	return s, score, ts
}

// EverFlaky reports whether a transition list entered the flaky state.
func EverFlaky(ts []Transition) bool {
	for _, t := range ts {
		if t.To == TestFlaky {
			return true
		}
	}
	return false
}

// FlakyVerdict is the flaky verdict over one test's recorded history,
// oldest first, as Sentinel would have reached it run by run: observations
// on a commit that already had the opposite outcome are marked
// SameCommitFlip (re-runs and retries), then the history is replayed
// through Observe, and the test is flaky if it ever entered the flaky state.
// Observations without a SHA are taken as distinct commits. It is the
// function to measure precision and recall against labelled re-run data.
func FlakyVerdict(obs []Observation, c FlakyConfig) bool {
	_, _, ts := JudgeHistory(obs, c)
	return EverFlaky(ts)
}

// JudgeHistory is FlakyVerdict's whole result: observations on a commit
// that already had the opposite outcome are marked SameCommitFlip, then
// the history is replayed through ClassifyHistory. It is what `sentinel
// flaky` reports for an exported history, so offline and server verdicts
// come from one engine.
func JudgeHistory(obs []Observation, c FlakyConfig) (FlakyState, FlakyScore, []Transition) {
	type seen struct{ pass, fail bool }
	bySHA := map[string]*seen{}
	marked := make([]Observation, len(obs))
	for i, o := range obs {
		if o.SHA != "" && !o.Excluded {
			s := bySHA[o.SHA]
			if s == nil {
				s = &seen{}
				bySHA[o.SHA] = s
			}
			if o.Failed {
				s.fail = true
			} else {
				s.pass = true
			}
			o.SameCommitFlip = o.SameCommitFlip || s.pass && s.fail
		}
		marked[i] = o
	}
	return ClassifyHistory(marked, c, time.Time{})
}
