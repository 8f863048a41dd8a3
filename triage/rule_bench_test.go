package triage

import (
	"regexp"
	"slices"
	"testing"
	"time"
)

// BenchmarkCompileRules compiles the built-in rules (what the first log a
// process reads pays) and reports it as a ratio to the anchor, compiling
// each rule's pattern with regexp.Compile alone, the least any rule set
// costs; both are timed in 5 interleaved blocks of b.N compilations.
//
//	go test ./triage -run '^$' -bench CompileRules -benchtime 10x
func BenchmarkCompileRules(b *testing.B) {
	rules := BuiltinRules()
	anchor := func() {
		for _, r := range rules {
			regexp.MustCompile(r.Pattern)
		}
	}
	compile := func() {
		if _, err := CompileRules(rules); err != nil {
			b.Fatal(err)
		}
	}
	timed := func(f func()) time.Duration {
		start := time.Now()
		for range b.N {
			f()
		}
		return time.Since(start) / time.Duration(b.N)
	}
	const blocks = 5
	var ratios, ms, anchorMS []float64
	b.ResetTimer()
	for i := range blocks {
		var a, c time.Duration
		if i%2 == 0 {
			a, c = timed(anchor), timed(compile)
		} else {
			c, a = timed(compile), timed(anchor)
		}
		ratios = append(ratios, float64(c)/float64(a))
		ms = append(ms, float64(c.Microseconds())/1000)
		anchorMS = append(anchorMS, float64(a.Microseconds())/1000)
	}
	b.StopTimer()
	slices.Sort(ratios)
	slices.Sort(ms)
	slices.Sort(anchorMS)
	b.ReportMetric(ms[blocks/2], "ms/compile")
	b.ReportMetric(anchorMS[blocks/2], "ms/anchor")
	b.ReportMetric(ratios[0], "ratio-min")
	b.ReportMetric(ratios[blocks/2], "ratio-median")
	b.ReportMetric(ratios[blocks-1], "ratio-max")
	b.ReportMetric(0, "ns/op")
}
