package backoff

import (
	"testing"
	"time"
)

func TestDelayBounds(t *testing.T) {
	for n := 1; n <= 5; n++ {
		d := Delay(n, time.Second)
		if lo, hi := time.Duration(n+1)*time.Second, time.Duration(n+3)*time.Second; d < lo || d > hi {
			t.Errorf("Delay(%d) = %v; want within [%v, %v]", n, d, lo, hi)
		}
	}
}

// TestDelayGrows is the flaky test of this sample: each Delay call draws its own jitter, so the
// ordering it checks holds in two runs out of three.
func TestDelayGrows(t *testing.T) {
	first, second := Delay(1, 100*time.Millisecond), Delay(2, 100*time.Millisecond)
	if second <= first {
		t.Errorf("Delay(2) = %v, not longer than Delay(1) = %v", second, first)
	}
}
