package triage

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func seq(s string) []bool {
	out := make([]bool, 0, len(s))
	for _, r := range s {
		out = append(out, r == 'F')
	}
	return out
}

func TestScoreOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in                        string
		failures, flips, episodes int
		trailing                  int
		flaky                     bool
	}{
		{"", 0, 0, 0, 0, false},
		{"PPPPPPPPPP", 0, 0, 0, 0, false},
		{"FFFFFFFFFF", 10, 0, 0, 10, false},
		{"PPPPPFFFFF", 5, 1, 0, 5, false},           // broken
		{"PPPPFFFFPPPP", 4, 2, 0, 0, false},         // broken then fixed
		{"PPFPPPPPPPPPPPPPPPPP", 1, 2, 1, 0, false}, // one failure is no pattern
		{"PPFPPPPPPFPPPPPPPFPPPPPPPP", 3, 6, 3, 0, true},
		{"PFPFPFPFPF", 5, 9, 4, 1, true},
	}
	for _, tt := range tests {
		got := ScoreOutcomes(seq(tt.in), FlakyConfig{})
		if got.Failures != tt.failures || got.Flips != tt.flips || got.Episodes != tt.episodes || got.TrailingFailures != tt.trailing {
			t.Errorf("%q: got failures=%d flips=%d episodes=%d trailing=%d, want %d %d %d %d", tt.in,
				got.Failures, got.Flips, got.Episodes, got.TrailingFailures, tt.failures, tt.flips, tt.episodes, tt.trailing)
		}
		if got.Flaky(FlakyConfig{}) != tt.flaky {
			t.Errorf("%q: flaky = %v (p=%.3f), want %v", tt.in, !tt.flaky, got.Probability, tt.flaky)
		}
	}
}

// The same failure rate with more evidence gives a firmer verdict.
func TestScoreOutcomesEvidence(t *testing.T) {
	t.Parallel()
	small := ScoreOutcomes(seq("PFP"), FlakyConfig{})
	var big []bool
	for i := 0; i < 30; i++ {
		big = append(big, seq("PFP")...)
	}
	large := ScoreOutcomes(big, FlakyConfig{})
	if math.Abs(small.FailureRate-large.FailureRate) > 1e-9 {
		t.Fatalf("failure rates differ: %v vs %v", small.FailureRate, large.FailureRate)
	}
	if !(small.Probability < large.Probability) || small.Flaky(FlakyConfig{}) || !large.Flaky(FlakyConfig{}) {
		t.Fatalf("1 in 3 scored %.3f, 30 in 90 scored %.3f", small.Probability, large.Probability)
	}
}

func TestRegIncBeta(t *testing.T) {
	t.Parallel()
	tests := []struct{ x, a, b, want float64 }{
		{0.5, 1, 1, 0.5},
		{0.3, 1, 1, 0.3},
		{0.2, 2, 1, 0.04},                     // x^2
		{0.2, 1, 2, 1 - 0.64},                 // 1-(1-x)^2
		{0.02, 1, 19, 1 - math.Pow(0.98, 19)}, // 1-(1-x)^b
		{0.9, 1, 19, 1 - math.Pow(0.1, 19)},
		{0, 2, 3, 0},
		{1, 2, 3, 1},
	}
	for _, tt := range tests {
		if got := RegIncBeta(tt.x, tt.a, tt.b); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("I_%v(%v,%v) = %v, want %v", tt.x, tt.a, tt.b, got, tt.want)
		}
	}
}

func TestWindow(t *testing.T) {
	t.Parallel()
	var w Window
	in := seq("PFFPFPPPF")
	for _, f := range in {
		w = w.Push(f, 5)
	}
	if diff := cmp.Diff(in[len(in)-5:], w.Outcomes()); diff != "" {
		t.Fatalf("window (-want +got):\n%s", diff)
	}
	var big Window
	for i := 0; i < 100; i++ {
		big = big.Push(i%2 == 0, 64)
	}
	if big.N != 64 || len(big.Outcomes()) != 64 || !big.Outcomes()[62] || big.Outcomes()[63] {
		t.Fatalf("64-bit window wrong: %+v", big)
	}
}

// history builds observations, one commit per run.
func history(failed []bool) []Observation {
	obs := make([]Observation, len(failed))
	for i, f := range failed {
		obs[i] = Observation{SHA: fmt.Sprintf("c%03d", i), Failed: f}
	}
	return obs
}

func TestRandomFlakyFoundWithinReasonableRuns(t *testing.T) {
	t.Parallel()
	found := 0
	worst := 0
	for seed := uint64(1); seed <= 50; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		var s FlakyState
		for run := 1; run <= 200; run++ {
			var tr *Transition
			s, _, tr = s.Observe(Observation{SHA: fmt.Sprintf("c%d", run), Failed: r.IntN(10) == 0}, FlakyConfig{}, t0)
			if tr != nil && tr.To == TestFlaky {
				found++
				worst = max(worst, run)
				break
			}
		}
	}
	t.Logf("found flaky in %d/50 histories; slowest after %d runs", found, worst)
	if found < 48 {
		t.Fatalf("a 1-in-10 flaky test was found in only %d of 50 histories of 200 runs", found)
	}
}

func TestBrokenAtCommitIsNeverFlaky(t *testing.T) {
	t.Parallel()
	var obs []Observation
	for i := 0; i < 60; i++ {
		obs = append(obs, Observation{SHA: fmt.Sprintf("c%02d", i), Failed: i >= 30})
		if i >= 30 { // retries on the same commit fail as well
			obs = append(obs, Observation{SHA: fmt.Sprintf("c%02d", i), Failed: true})
		}
	}
	s, _, ts := ClassifyHistory(obs, FlakyConfig{}, t0)
	if EverFlaky(ts) {
		t.Fatalf("broken test called flaky: %+v", ts)
	}
	if s.State != TestBroken || s.FirstBadSHA != "c30" || s.LastGoodSHA != "c29" {
		t.Fatalf("state %s first bad %q last good %q, want broken c30 c29", s.State, s.FirstBadSHA, s.LastGoodSHA)
	}
}

func TestConstantOutcomesNeverFlaky(t *testing.T) {
	t.Parallel()
	for _, failing := range []bool{false, true} {
		obs := history(make([]bool, 200))
		for i := range obs {
			obs[i].Failed = failing
		}
		s, _, ts := ClassifyHistory(obs, FlakyConfig{}, t0)
		if EverFlaky(ts) {
			t.Errorf("always failing=%v: called flaky", failing)
		}
		want := TestHealthy
		if failing {
			want = TestBroken
		}
		if s.State != want {
			t.Errorf("always failing=%v: state %s, want %s", failing, s.State, want)
		}
	}
}

func TestSameCommitFlipIsFlakyAtOnce(t *testing.T) {
	t.Parallel()
	s, _, tr := FlakyState{}.Observe(Observation{SHA: "abc", Failed: true, SameCommitFlip: true}, FlakyConfig{}, t0)
	if tr == nil || s.State != TestFlaky {
		t.Fatalf("state %s, transition %+v; want flaky", s.State, tr)
	}
}

func TestExcludedOutcomesDoNotCount(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 3))
	var s FlakyState
	for i := 0; i < 200; i++ {
		mass := r.IntN(5) == 0 // every fifth run, everything fails at once
		var tr *Transition
		s, _, tr = s.Observe(Observation{SHA: fmt.Sprint(i), Failed: mass, Excluded: mass}, FlakyConfig{}, t0)
		if tr != nil {
			t.Fatalf("run %d: transition %+v from excluded mass failures", i, tr)
		}
	}
	if s.Window.Bits != 0 {
		t.Fatalf("window holds failures: %b", s.Window.Bits)
	}
}

func TestHysteresisAndRecovery(t *testing.T) {
	t.Parallel()
	in := seq("PPFPPFPPPFPPPFPP")
	s, _, ts := ClassifyHistory(history(in), FlakyConfig{}, t0)
	if s.State != TestFlaky {
		t.Fatalf("state %s after %v, want flaky", s.State, ts)
	}
	// A few passes do not recover it: the quiet period counts runs.
	for i := 0; i < 10; i++ {
		s, _, _ = s.Observe(Observation{SHA: fmt.Sprint("p", i)}, FlakyConfig{}, t0)
	}
	if s.State != TestFlaky {
		t.Fatalf("recovered after only 10 passing runs")
	}
	recoveredAt := 0
	for i := 10; i < 200 && recoveredAt == 0; i++ {
		var tr *Transition
		s, _, tr = s.Observe(Observation{SHA: fmt.Sprint("p", i)}, FlakyConfig{}, t0)
		if tr != nil && tr.To == TestRecovered {
			recoveredAt = i + 1
		}
	}
	if recoveredAt == 0 {
		t.Fatalf("never recovered")
	}
	t.Logf("recovered after %d passing runs", recoveredAt)
}

func TestQuarantineExpiry(t *testing.T) {
	t.Parallel()
	s, tr := FlakyState{State: TestFlaky}.Quarantine(t0.Add(time.Hour))
	if tr == nil || s.State != TestQuarantined {
		t.Fatalf("quarantine: %+v %+v", s, tr)
	}
	s2, _, tr := s.Observe(Observation{SHA: "x", Failed: true}, FlakyConfig{}, t0.Add(30*time.Minute))
	if tr != nil || s2.State != TestQuarantined {
		t.Fatalf("quarantine ended early: %+v", tr)
	}
	s3, _, tr := s.Observe(Observation{SHA: "x", Failed: true}, FlakyConfig{}, t0.Add(2*time.Hour))
	if tr == nil || s3.State != TestFlaky || tr.Reason != "quarantine expired" {
		t.Fatalf("after expiry: %s %+v", s3.State, tr)
	}
}

func TestOffWindowOnlySameCommitRule(t *testing.T) {
	t.Parallel()
	var s FlakyState
	for i := 0; i < 30; i++ {
		s, _, _ = s.Observe(Observation{SHA: fmt.Sprint(i), Failed: i%3 == 0, OffWindow: true}, FlakyConfig{}, t0)
	}
	if s.State != TestHealthy || s.Window.N != 0 {
		t.Fatalf("branch runs entered the window: %+v", s)
	}
	s, _, tr := s.Observe(Observation{SHA: "pr", Failed: true, SameCommitFlip: true, OffWindow: true}, FlakyConfig{}, t0)
	if tr == nil || s.State != TestFlaky {
		t.Fatalf("same-commit flip on a branch: %+v", tr)
	}
}

func TestMassFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		total, failed int
		want          bool
	}{{100, 60, true}, {100, 50, true}, {100, 49, false}, {5, 5, false}, {10, 5, true}, {0, 0, false}}
	for _, tt := range tests {
		if got := MassFailure(tt.total, tt.failed); got != tt.want {
			t.Errorf("MassFailure(%d, %d) = %v", tt.total, tt.failed, got)
		}
	}
}

func TestFlakyVerdict(t *testing.T) {
	t.Parallel()
	same := func(outcomes string) []Observation {
		var obs []Observation
		for _, f := range seq(outcomes) {
			obs = append(obs, Observation{SHA: "abc", Failed: f})
		}
		return obs
	}
	tests := []struct {
		name string
		obs  []Observation
		want bool
	}{
		{"reruns all pass", same("PPPPPPPPPP"), false},
		{"reruns all fail", same("FFFFFFFFFF"), false},
		{"one failure in 100 reruns", same("PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPF"), true},
		{"broken at a commit", history(seq("PPPPPPPPPPFFFFFFFFFF")), false},
		{"intermittent across commits", history(seq("PPFPPPPPFPPPPPPFPPPPPPPP")), true},
	}
	for _, tt := range tests {
		if got := FlakyVerdict(tt.obs, FlakyConfig{}); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestIsFlaky(t *testing.T) {
	t.Parallel()
	tests := []struct {
		outcomes   string
		sameCommit bool
		want       bool
	}{
		{"PPPPPPPPPPPPPPPPPPPF", true, true},
		{"PPPPPPPPPPPPPPPPPPPP", true, false},
		{"FFFFFFFFFF", true, false},
		{"PPPPPPPPPPPPPPPPPPPF", false, false}, // one failure at the newest commit: no pattern yet
		{"PPPPPPPPPPFFFFFFFFFF", false, false},
		{"PPFPPPPFPPPPPFPPPPPP", false, true},
	}
	for _, tt := range tests {
		if got := IsFlaky(seq(tt.outcomes), tt.sameCommit, FlakyConfig{}); got != tt.want {
			t.Errorf("IsFlaky(%s, sameCommit=%v) = %v", tt.outcomes, tt.sameCommit, got)
		}
	}
}
