package triage

import (
	"math"
	"strconv"
)

// FlakyConfig tunes flaky scoring. The zero value means the defaults
// documented on each field.
type FlakyConfig struct {
	// Window is how many recent counted runs of a test are scored
	// (default 50, at most MaxFlakyWindow).
	Window int
	// PriorA and PriorB are the Beta prior on a test's rate of intermittent
	// failures per run (default 1 and 19: about one intermittent failure in
	// 20 runs is as likely as none, so a little evidence moves little).
	PriorA, PriorB float64
	// MinRate is the intermittent-failure rate above which a test counts as
	// flaky (default 0.02, one run in 50).
	MinRate float64
	// Enter is the posterior probability P(rate > MinRate) at or above
	// which a test becomes flaky (default 0.9); Exit is the probability
	// below which a flaky test may recover (default 0.5). The gap is the
	// hysteresis that keeps a test from flapping between states.
	Enter, Exit float64
	// MinEpisodes is the fewest recovered failure episodes that can make a
	// test statistically flaky (default 2): one failure followed by passes
	// may just as well be a bug that was fixed.
	MinEpisodes int
	// BrokenStreak is how many consecutive failing runs make a test broken
	// (default 3). A failure episode this long is not counted as flaky
	// evidence: it is a breakage, however it ended.
	BrokenStreak int
	// QuietRuns is how many consecutive passing runs a flaky or quarantined
	// test needs before it can recover (default 20).
	QuietRuns int
}

// MaxFlakyWindow is the largest window: a window is one uint64 of bits.
const MaxFlakyWindow = 64

// WithDefaults fills the zero fields of c with the documented defaults.
func (c FlakyConfig) WithDefaults() FlakyConfig {
	if c.Window <= 0 {
		c.Window = 50
	}
	c.Window = min(c.Window, MaxFlakyWindow)
	if c.PriorA <= 0 {
		c.PriorA = 1
	}
	if c.PriorB <= 0 {
		c.PriorB = 19
	}
	if c.MinRate <= 0 || c.MinRate >= 1 {
		c.MinRate = 0.02
	}
	if c.Enter <= 0 || c.Enter > 1 {
		c.Enter = 0.9
	}
	if c.Exit <= 0 || c.Exit > c.Enter {
		c.Exit = min(0.5, c.Enter)
	}
	if c.MinEpisodes <= 0 {
		c.MinEpisodes = 2
	}
	if c.BrokenStreak <= 0 {
		c.BrokenStreak = 3
	}
	if c.QuietRuns <= 0 {
		c.QuietRuns = 20
	}
	return c
}

// FlakyScore summarises a test's recent outcomes.
type FlakyScore struct {
	Runs     int `json:"runs"`     // outcomes scored
	Failures int `json:"failures"` // failing outcomes among them
	Flips    int `json:"flips"`    // pass→fail and fail→pass transitions
	// Episodes counts intermittent failures: maximal failure streaks
	// shorter than BrokenStreak that were followed by a pass.
	Episodes         int     `json:"episodes"`
	TrailingFailures int     `json:"trailing_failures"` // failing streak at the end
	FailureRate      float64 `json:"failure_rate"`      // Failures / Runs
	FlipRate         float64 `json:"flip_rate"`         // Flips / (Runs-1)
	// Probability is the posterior probability, under a Beta prior, that the
	// test's intermittent-failure rate exceeds MinRate given Episodes in
	// Runs. It grows with the evidence: 1 episode in 3 runs scores lower
	// than 30 in 90.
	Probability float64 `json:"probability"`
}

// Flaky reports whether the score alone makes a test flaky under c.
func (s FlakyScore) Flaky(c FlakyConfig) bool {
	c = c.WithDefaults()
	return s.Episodes >= c.MinEpisodes && s.Probability >= c.Enter
}

// ScoreOutcomes scores a test's outcome sequence, oldest first, where true
// means the run failed. It is the whole statistical flaky model:
//
//   - failure rate and flip rate are reported as they are;
//   - only intermittent failures are evidence of flakiness: a failure
//     streak shorter than BrokenStreak that ended with a pass (a streak
//     still going at the end, or one BrokenStreak long, looks like a
//     breakage and its fix, not like chance);
//   - the intermittent rate r gets a Beta(PriorA+k, PriorB+n-k) posterior
//     for k episodes in n runs, and Probability = P(r > MinRate).
//
// Outcomes on the same commit are not distinguished here; the definitive
// same-commit rule lives in FlakyState.Observe.
func ScoreOutcomes(failed []bool, c FlakyConfig) FlakyScore {
	c = c.WithDefaults()
	var s FlakyScore
	s.Runs = len(failed)
	streak := 0
	for i, f := range failed {
		if f {
			s.Failures++
			streak++
		} else {
			if streak > 0 && streak < c.BrokenStreak {
				s.Episodes++
			}
			streak = 0
		}
		if i > 0 && f != failed[i-1] {
			s.Flips++
		}
	}
	s.TrailingFailures = streak
	if s.Runs > 0 {
		s.FailureRate = float64(s.Failures) / float64(s.Runs)
	}
	if s.Runs > 1 {
		s.FlipRate = float64(s.Flips) / float64(s.Runs-1)
	}
	k, n := float64(s.Episodes), float64(s.Runs)
	s.Probability = 1 - RegIncBeta(c.MinRate, c.PriorA+k, c.PriorB+n-k)
	return s
}

// RegIncBeta is the regularised incomplete beta function I_x(a, b): the
// probability that a Beta(a, b) variable is at most x.
func RegIncBeta(x, a, b float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	case a <= 0 || b <= 0 || math.IsNaN(x):
		return math.NaN()
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	// The continued fraction converges fast only on this side.
	if x < (a+1)/(a+b+2) {
		return front * betaCF(x, a, b) / a
	}
	return 1 - front*betaCF(1-x, b, a)/b
}

// betaCF evaluates the continued fraction of the incomplete beta function
// by the modified Lentz method.
func betaCF(x, a, b float64) float64 {
	const tiny, eps = 1e-300, 1e-14
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= 300; m++ {
		fm := float64(m)
		aa := fm * (b - fm) * x / ((qam + 2*fm) * (a + 2*fm))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + 2*fm) * (qap + 2*fm))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}

// Window is a compact rolling record of a test's recent outcomes: bit i
// is the i-th most recent counted run (bit 0 the latest), 1 when it
// failed. Pushing an outcome costs O(1) whatever the history.
type Window struct {
	Bits uint64 `json:"bits"`
	N    int    `json:"n"` // outcomes held, at most the window size
}

// Push records the outcome of a newer run in a window of the given size.
func (w Window) Push(failed bool, size int) Window {
	size = max(1, min(size, MaxFlakyWindow))
	w.Bits <<= 1
	if failed {
		w.Bits |= 1
	}
	w.N = min(w.N+1, size)
	if w.N < 64 {
		w.Bits &= 1<<uint(w.N) - 1
	}
	return w
}

// PassStreak is how many of the latest outcomes in a row passed.
func (w Window) PassStreak() int { return w.streak(0) }

// FailStreak is how many of the latest outcomes in a row failed.
func (w Window) FailStreak() int { return w.streak(1) }

func (w Window) streak(bit uint64) int {
	n := 0
	for n < w.N && n < MaxFlakyWindow && w.Bits>>uint(n)&1 == bit {
		n++
	}
	return n
}

// Outcomes returns the window's outcomes, oldest first (true = failed).
func (w Window) Outcomes() []bool {
	n := max(0, min(w.N, MaxFlakyWindow))
	out := make([]bool, n)
	for i := 0; i < n; i++ {
		out[n-1-i] = w.Bits>>uint(i)&1 == 1
	}
	return out
}

// Mass-failure guard defaults: a run where at least MassFailureFraction of
// at least MassFailureMinTests tests failed is an infrastructure event, not
// evidence about any single test.
const (
	MassFailureFraction = 0.5
	MassFailureMinTests = 10
)

// MassFailure reports whether failed of total tests failing at once is a
// mass failure.
func MassFailure(total, failed int) bool {
	return total >= MassFailureMinTests && float64(failed) >= MassFailureFraction*float64(total)
}

// IsFlaky is the flaky verdict over one test's outcome sequence, oldest
// first (true = the run failed):
//
//   - sameCommit: the outcomes are re-runs of one commit (retries, re-runs,
//     or a re-run study). Then the definitive rule decides: the test is
//     flaky when it both passed and failed, whatever the counts.
//   - otherwise each outcome is a run at its own commit on the default
//     branch, and the run-by-run detector decides (FlakyVerdict): flaky
//     when the intermittent-failure evidence is strong enough (ScoreOutcomes,
//     with hysteresis), never for a test that breaks at some commit and
//     stays broken, or that always passes or always fails.
func IsFlaky(failed []bool, sameCommit bool, c FlakyConfig) bool {
	if sameCommit {
		pass, fail := false, false
		for _, f := range failed {
			pass, fail = pass || !f, fail || f
		}
		return pass && fail
	}
	obs := make([]Observation, len(failed))
	for i, f := range failed {
		obs[i] = Observation{SHA: "run-" + strconv.Itoa(i), Failed: f}
	}
	return FlakyVerdict(obs, c)
}
