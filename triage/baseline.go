package triage

import (
	"fmt"
	"io"
)

// DefaultBaselineSize bounds a baseline built by BuildBaseline.
const DefaultBaselineSize = 20000

// BuildBaseline reads the log of the last successful run of a step and
// returns the LineHash of each line a rule matches (only such lines can
// become evidence, so only they need down-weighting), at most max hashes
// (0: DefaultBaselineSize). The store can keep the result as a list of
// 64-bit integers. rules nil means the built-in rules.
func BuildBaseline(r io.Reader, rules *RuleSet, max int) (Baseline, error) {
	if rules == nil {
		rules = DefaultRules()
	}
	if max <= 0 {
		max = DefaultBaselineSize
	}
	b := Baseline{}
	sc := newScratch(rules.pre)
	ls := &LogScanner{}
	lr := newLineReader(r, 4096)
	for len(b) < max {
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return b, fmt.Errorf("baseline: %w", err)
		}
		text := ls.clean(line)
		if best, noise := rules.best(sc, text); best >= 0 && !noise {
			b[LineHash(string(text))] = struct{}{}
		}
	}
	return b, nil
}
