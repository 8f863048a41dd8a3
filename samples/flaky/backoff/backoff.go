// Package backoff computes retry delays with jitter.
package backoff

import (
	"crypto/rand"
	"math/big"
	"time"
)

// Delay returns how long to wait before retry attempt n (1-based): n+1 base intervals plus a
// random jitter of zero to two base intervals, so that clients retrying together spread out.
//
// The jitter is drawn independently on every call. That is right for production and it is also
// the reason TestDelayGrows is flaky: it assumes Delay(2) > Delay(1), which only holds when the
// second draw is not smaller than the first, and fails in one run out of three.
func Delay(n int, base time.Duration) time.Duration {
	j, err := rand.Int(rand.Reader, big.NewInt(3))
	if err != nil {
		// crypto/rand only fails when the operating system has no entropy source; no jitter
		// is still a valid delay.
		return time.Duration(n+1) * base
	}
	return time.Duration(n+1+int(j.Int64())) * base
}
