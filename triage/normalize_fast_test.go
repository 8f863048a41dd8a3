package triage

import (
	"math/rand/v2"
	"testing"
)

// The hand-written scanners match exactly what the patterns they replace
// match, on random text made of the characters the patterns look at.
func TestFastScannersMatchPatterns(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(17, 17))
	const alphabet = "0123456789::::..,, \tZAPMafgF_-x/"
	for range 200000 {
		b := make([]byte, 1+r.IntN(40))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		s := string(b)
		if got, want := replaceClockTimes(s), reTime.ReplaceAllString(s, phTime); got != want {
			t.Fatalf("replaceClockTimes(%q) = %q, pattern gives %q", s, got, want)
		}
		if got, want := replaceHexRuns(s), reHexRun.ReplaceAllStringFunc(s, hexOrKeep); got != want {
			t.Fatalf("replaceHexRuns(%q) = %q, pattern gives %q", s, got, want)
		}
	}
	for _, s := range []string{"10:11:20.5555556Z up", "at 9:05:01 PM, 12:00:00AM", "commit 3f2504e0a and deadbeefcafe1 and 1234567"} {
		if got, want := replaceClockTimes(s), reTime.ReplaceAllString(s, phTime); got != want {
			t.Errorf("replaceClockTimes(%q) = %q, want %q", s, got, want)
		}
		if got, want := replaceHexRuns(s), reHexRun.ReplaceAllStringFunc(s, hexOrKeep); got != want {
			t.Errorf("replaceHexRuns(%q) = %q, want %q", s, got, want)
		}
	}
}
