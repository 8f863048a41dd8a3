package triage

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The prefilter and each variant's own expression (or the literal that
// stands for it) stand for a rule's
// expression: on every line of the test logs, a rule must match exactly
// when one of its variants is a candidate and matches.
func TestPrefilterAgreesWithRules(t *testing.T) {
	t.Parallel()
	var lines [][]byte
	for _, pattern := range ciLogSources {
		paths, err := filepath.Glob(pattern)
		if err != nil || len(paths) == 0 {
			t.Fatalf("no test logs %s: %v", pattern, err)
		}
		for _, p := range paths {
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, bytes.Split(raw, []byte("\n"))...)
		}
	}
	lines = append(lines, bytes.Split(mixedLog(256<<10), []byte("\n"))...)
	rs := DefaultRules()
	// Each literal variant's text at the start of a line, inside it, and
	// in other case: a literal stands for its expression only where the
	// expression would match.
	for _, v := range rs.pre.variants {
		if v.literal != nil {
			lines = append(lines, v.literal, append([]byte("x "), v.literal...), bytes.ToUpper(v.literal), bytes.ToLower(v.literal))
		}
	}
	sc := newScratch(rs.pre)
	ls := NewLogScanner(LogOptions{})
	for _, raw := range lines {
		text := ls.clean(raw)
		viaVariant := make([]bool, len(rs.rules))
		for _, vi := range rs.pre.scan(sc, text) {
			v := &rs.pre.variants[vi]
			if v.match(text) {
				viaVariant[v.rule] = true
			}
		}
		for ri := range rs.rules {
			if r := &rs.rules[ri]; r.re.Match(text) != viaVariant[ri] {
				t.Errorf("rule %s on %q: expression %v, prefilter and variant %v", r.ID, text, !viaVariant[ri], viaVariant[ri])
			}
		}
	}
}
