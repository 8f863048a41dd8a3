package triage

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestDetectorPrecisionRecall runs the run-by-run detector over a synthetic
// population of 100-run default-branch histories (one commit per run):
// flaky tests failing at random 3-30% of the time, tests that break at a
// commit (some fixed later), short breakages fixed at once, and stable
// tests. It reports precision and recall of the flaky verdict.
func TestDetectorPrecisionRecall(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(2026, 11))
	const runs = 100
	var tp, fp, fn, tn int
	for i := 0; i < 400; i++ {
		failed := make([]bool, runs)
		flaky := false
		switch i % 4 {
		case 0: // flaky at a random rate
			flaky = true
			rate := 0.03 + r.Float64()*0.27
			for j := range failed {
				failed[j] = r.Float64() < rate
			}
		case 1: // broken at a commit, maybe fixed later
			from := r.IntN(runs)
			to := runs
			if r.IntN(2) == 0 {
				to = min(runs, from+3+r.IntN(20))
			}
			for j := from; j < to; j++ {
				failed[j] = true
			}
		case 2: // one short breakage (a bad commit reverted at once)
			at := r.IntN(runs - 2)
			failed[at], failed[at+1] = true, r.IntN(2) == 0
		case 3: // stable: always passes, or always fails
			for j := range failed {
				failed[j] = i%8 == 7
			}
		}
		obs := make([]Observation, runs)
		for j := range obs {
			obs[j] = Observation{SHA: fmt.Sprintf("t%d-c%d", i, j), Failed: failed[j]}
		}
		got := FlakyVerdict(obs, FlakyConfig{})
		switch {
		case got && flaky:
			tp++
		case got && !flaky:
			fp++
		case !got && flaky:
			fn++
		default:
			tn++
		}
	}
	precision := float64(tp) / float64(max(1, tp+fp))
	recall := float64(tp) / float64(max(1, tp+fn))
	t.Logf("precision %.3f, recall %.3f (tp %d, fp %d, fn %d, tn %d)", precision, recall, tp, fp, fn, tn)
	if precision < 0.95 || recall < 0.9 {
		t.Fatalf("precision %.3f, recall %.3f", precision, recall)
	}
}
