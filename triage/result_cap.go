package triage

// CapTests keeps at most max test cases and returns how many it dropped;
// max <= 0 keeps them all. Tests that did not pass or skip go first (they
// are what triage and people need), then passes and skips, each in the
// order found, and the kept ones stay in that order.
func CapTests(tests []TestCase, max int) ([]TestCase, int) {
	if max <= 0 || len(tests) <= max {
		return tests, 0
	}
	bad := 0
	for _, tc := range tests {
		if !passedOrSkipped(tc.Outcome) {
			bad++
		}
	}
	keepBad, keepGood := min(bad, max), max-min(bad, max)
	kept := tests[:0]
	for _, tc := range tests {
		if passedOrSkipped(tc.Outcome) {
			if keepGood == 0 {
				continue
			}
			keepGood--
		} else {
			if keepBad == 0 {
				continue
			}
			keepBad--
		}
		kept = append(kept, tc)
	}
	dropped := len(tests) - len(kept)
	clear(tests[len(kept):]) // let the dropped cases' strings go
	return kept, dropped
}

func passedOrSkipped(o Outcome) bool { return o == OutcomePass || o == OutcomeSkip }
