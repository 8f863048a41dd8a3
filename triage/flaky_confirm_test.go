package triage

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestConfirmVerdictText(t *testing.T) {
	for _, c := range []struct {
		v     ConfirmVerdict
		state TestState
		text  string
	}{
		{ConfirmVerdict{Wanted: 10, Runs: 10, Failures: 3}, TestFlaky, "failed 3 of 10 re-runs: flaky, about 1 in 3"},
		{ConfirmVerdict{Wanted: 10, Runs: 10, Failures: 10}, TestBroken, "failed 10 of 10 re-runs: broken"},
		{ConfirmVerdict{Wanted: 10, Runs: 10, Failures: 0}, TestFlaky, "failed 0 of 10 re-runs: flaky, failing less often than 1 in 10"},
		{ConfirmVerdict{Wanted: 10, Runs: 2, Failures: 2}, "", "failed 2 of 2 re-runs: too few to tell"},
		{ConfirmVerdict{Wanted: 10, Runs: 4, Failures: 4}, TestBroken, "failed 4 of 4 re-runs: broken"},
		{ConfirmVerdict{Wanted: 2, Runs: 2, Failures: 2}, TestBroken, "failed 2 of 2 re-runs: broken"},
		{ConfirmVerdict{Wanted: 10}, "", "no re-run reported the test: cannot tell"},
	} {
		if got := c.v.State(); got != c.state {
			t.Errorf("%+v: state %q, want %q", c.v, got, c.state)
		}
		if got := c.v.Text(); got != c.text {
			t.Errorf("%+v: text %q, want %q", c.v, got, c.text)
		}
	}
}

func TestFlakyStateConfirm(t *testing.T) {
	flaky := ConfirmVerdict{Wanted: 10, Runs: 10, Failures: 3}
	broken := ConfirmVerdict{Wanted: 10, Runs: 10, Failures: 10}
	streak := FlakyState{State: TestHealthy, StreakSHA: "bad", StreakPrevPassSHA: "good"}

	s, tr := streak.Confirm(broken, "bad")
	if s.State != TestBroken || s.FirstBadSHA != "bad" || s.LastGoodSHA != "good" || tr == nil ||
		tr.Reason != "confirmed by re-runs at bad: failed 10 of 10 re-runs: broken" {
		t.Errorf("broken: %+v %+v", s, tr)
	}
	s, tr = FlakyState{}.Confirm(flaky, "abc")
	if s.State != TestFlaky || tr == nil || tr.From != TestHealthy {
		t.Errorf("flaky: %+v %+v", s, tr)
	}
	// A pass at the commit outweighs a streak read as broken.
	s, tr = FlakyState{State: TestBroken, FirstBadSHA: "x"}.Confirm(flaky, "x")
	if s.State != TestFlaky || s.FirstBadSHA != "" || tr == nil {
		t.Errorf("broken then a pass: %+v %+v", s, tr)
	}
	// Nothing moves a flaky or quarantined test to broken, or says it twice.
	for _, st := range []TestState{TestFlaky, TestQuarantined} {
		for _, v := range []ConfirmVerdict{flaky, broken} {
			if s, tr := (FlakyState{State: st}).Confirm(v, "x"); s.State != st || tr != nil {
				t.Errorf("%s with %s: %+v %+v", st, v.Text(), s, tr)
			}
		}
	}
	if s, tr := (FlakyState{State: TestHealthy}).Confirm(ConfirmVerdict{Wanted: 10}, "x"); s.State != TestHealthy || tr != nil {
		t.Errorf("no verdict moved the state: %+v %+v", s, tr)
	}
}

// TestConfirmRecall measures what confirmation re-runs add to watching
// history, over a simulated population of default-branch histories (one
// commit per run, 100 runs): flaky tests failing at random at 1-30% of runs,
// tests broken at a commit (some fixed later), stable tests. For each test
// that failed at least once, the probe re-runs it N times at its first
// failing commit; the watch-only baseline is the detector (JudgeHistory)
// over the history up to that failure, and over the whole history.
// Reported: recall of flaky tests known after their first failure, flaky
// tests misjudged broken (all N re-runs failed), broken tests confirmed
// broken, and the precision of the flaky verdict.
func TestConfirmRecall(t *testing.T) {
	t.Parallel()
	const runs, tests = 100, 3000
	type counts struct{ flakyFound, flakyBroken, brokenFound, brokenFlaky int }
	ns := []int{1, 2, 3, 5, DefaultConfirmRuns}
	probe := make([]counts, len(ns))
	var flakyFailed, brokenFailed, baseAtFirst, baseEnd, baseEndBroken int
	r := rand.New(rand.NewPCG(2026, 22))
	for i := 0; i < tests; i++ {
		failed := make([]bool, runs)
		rate, flaky := 0.0, false
		switch i % 3 {
		case 0:
			flaky, rate = true, 0.01+r.Float64()*0.29
			for j := range failed {
				failed[j] = r.Float64() < rate
			}
		case 1: // broken at a commit, half of them fixed 3-20 runs later
			from, to := r.IntN(runs), runs
			if r.IntN(2) == 0 {
				to = min(runs, from+3+r.IntN(18))
			}
			for j := from; j < to; j++ {
				failed[j] = true
			}
		case 2: // stable: never fails, never probed
		}
		first := -1
		for j, f := range failed {
			if f {
				first = j
				break
			}
		}
		if first < 0 {
			continue
		}
		obs := make([]Observation, runs)
		for j := range obs {
			obs[j] = Observation{SHA: fmt.Sprintf("t%d-c%d", i, j), Failed: failed[j]}
		}
		atFirst := FlakyVerdict(obs[:first+1], FlakyConfig{})
		atEnd := FlakyVerdict(obs, FlakyConfig{})
		if flaky {
			flakyFailed++
		} else {
			brokenFailed++
		}
		switch {
		case flaky && atFirst:
			baseAtFirst++
		case !flaky && atEnd:
			baseEndBroken++
		}
		if flaky && atEnd {
			baseEnd++
		}
		for k, n := range ns {
			v := ConfirmVerdict{Wanted: n, Runs: n}
			for range n {
				if !flaky || r.Float64() < rate {
					v.Failures++
				}
			}
			switch st := v.State(); {
			case flaky && st == TestFlaky:
				probe[k].flakyFound++
			case flaky && st == TestBroken:
				probe[k].flakyBroken++
			case !flaky && st == TestBroken:
				probe[k].brokenFound++
			case !flaky && st == TestFlaky:
				probe[k].brokenFlaky++
			}
		}
	}
	frac := func(a, b int) float64 { return float64(a) / float64(max(b, 1)) }
	t.Logf("population: %d flaky and %d broken tests failed at least once in %d runs", flakyFailed, brokenFailed, runs)
	t.Logf("watch only: flaky known at the first failure %.3f; by the end of %d runs %.3f (precision %.3f)",
		frac(baseAtFirst, flakyFailed), runs, frac(baseEnd, flakyFailed), frac(baseEnd, baseEnd+baseEndBroken))
	for k, n := range ns {
		c := probe[k]
		t.Logf("confirm_runs %2d: flaky known at the first failure %.3f, misjudged broken %.4f; broken confirmed %.3f; flaky precision %.3f",
			n, frac(c.flakyFound, flakyFailed), frac(c.flakyBroken, flakyFailed), frac(c.brokenFound, brokenFailed),
			frac(c.flakyFound, c.flakyFound+c.brokenFlaky))
	}
	best := probe[len(ns)-1]
	if frac(best.flakyFound, flakyFailed) < 0.95 || frac(best.flakyFound, flakyFailed) <= frac(baseEnd, flakyFailed) ||
		frac(best.brokenFound, brokenFailed) < 0.99 || best.brokenFlaky > 0 {
		t.Fatalf("confirmation with %d re-runs: %+v of %d flaky, %d broken", DefaultConfirmRuns, best, flakyFailed, brokenFailed)
	}
}
