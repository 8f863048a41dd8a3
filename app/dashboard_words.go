package app

import (
	"fmt"
	"math"
	"time"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

// failRateWords says how often a test failed in its recent runs (newest
// first) as people say it: "fails about 1 run in 12 (3 of the last 36)".
// With few runs it says the rate is uncertain instead of pretending.
func failRateWords(recent []store.RunOutcome) string {
	n, k := len(recent), 0
	for _, o := range recent {
		if o.Failed {
			k++
		}
	}
	return rateWords(k, n)
}

// rateWords words k failing runs out of n; under 10 runs it says the rate
// is uncertain.
func rateWords(k, n int) string {
	var words string
	switch every := int(math.Round(float64(n) / float64(max(k, 1)))); {
	case n == 0:
		return "no runs recorded yet"
	case k == 0:
		words = fmt.Sprintf("no failure in the last %s", plural(n, "run", "runs"))
	case k == n:
		words = fmt.Sprintf("failed every run (%d of %d)", k, n)
	case every == 1:
		words = fmt.Sprintf("fails most runs (%d of the last %d)", k, n)
	default:
		words = fmt.Sprintf("fails about 1 run in %d (%d of the last %d)", every, k, n)
	}
	if n < 10 {
		words += "; too few runs to be sure"
	}
	return words
}

// impactWords sums up what a test's failures cost.
func impactWords(im store.TestImpact) string {
	if im.Failures == 0 {
		return "no recent failure"
	}
	s := fmt.Sprintf("%s in %s", plural(im.Failures, "failure", "failures"), plural(im.RunsAffected, "run", "runs"))
	if im.TimeLost > 0 {
		s += ", " + lostWords(im.TimeLost) + " lost"
	}
	return s
}

// lostWords is a duration spent for nothing, rounded to what matters.
func lostWords(d time.Duration) string {
	if d <= 0 {
		return "none"
	}
	if d < time.Second {
		return "under a second"
	}
	return jobs.FormatDuration(d.Round(time.Second))
}

// plural is "1 run" or "3 runs".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
