package main

import (
	"strings"
	"testing"
)

const sampleOutput = `goos: linux
pkg: github.com/sentinel-ci/sentinel/triage
BenchmarkScan-2   	       5	 123 ns/op	 110.5 MB/s-per-cpu-min	 120.0 MB/s-per-cpu-med	 131 MB/s-per-cpu-max	 900 anchor-MB/s-per-cpu-min	 950 anchor-MB/s-per-cpu-med	 990 anchor-MB/s-per-cpu-max	 0.11 x-anchor-min	 0.12 x-anchor-med	 0.14 x-anchor-max
BenchmarkSlow-2   	       5	 123 ns/op	 10 MB/s-per-cpu-min	 20 MB/s-per-cpu-med	 30 MB/s-per-cpu-max	 0.1 x-anchor-min	 0.2 x-anchor-med	 0.3 x-anchor-max
BenchmarkOldNames-2   	       5	 123 ns/op	 120 MB/s-per-cpu	 3 ratio-vs-bufio
PASS
ok  	github.com/sentinel-ci/sentinel/triage	12.3s
pkg: github.com/sentinel-ci/sentinel/app
BenchmarkPages/overview-2         	     100	  1 ns/op	 12 p95-ms-min	 14 p95-ms-med	 70 p95-ms-max	 1 x-anchor-min	 2 x-anchor-med	 3 x-anchor-max
BenchmarkPages/runs-2             	     100	  1 ns/op	 40 p95-ms-min	 60 p95-ms-med	 70 p95-ms-max	 1 x-anchor-min	 2 x-anchor-med	 3 x-anchor-max
--- FAIL: BenchmarkPages/test-2
    bench_test.go:12: GET /tests/1: 500
FAIL
exit status 1
FAIL	github.com/sentinel-ci/sentinel/app	40.1s
`

var sampleGoals = []goal{
	{figure: "scan", bench: "BenchmarkScan", metric: "MB/s-per-cpu", anchor: "bufio", atLeast: true, value: 100, unit: "MB/s", issue: "#1"},
	{figure: "slow", bench: "BenchmarkSlow", metric: "MB/s-per-cpu", anchor: "bufio", atLeast: true, value: 100, unit: "MB/s", issue: "#1"},
	{figure: "old names", bench: "BenchmarkOldNames", metric: "MB/s-per-cpu", anchor: "bufio", atLeast: true, value: 100, unit: "MB/s", issue: "#1"},
	{figure: "pages", bench: "BenchmarkPages/.*", metric: "p95-ms", anchor: "login", value: 50, unit: "ms", issue: "#2"},
	{figure: "gone", bench: "BenchmarkGone", metric: "ms", noAnchor: "deterministic", value: 5, unit: "ms", issue: "#3"},
}

// TestTableJudgesEveryGoal: figures found are judged on their median, a
// family gives a row per sub-benchmark, a figure reported under other names
// or not at all is missing, and failures are listed; the table is then
// incomplete.
func TestTableJudgesEveryGoal(t *testing.T) {
	out, err := parse(strings.NewReader(sampleOutput))
	if err != nil {
		t.Fatal(err)
	}
	var w strings.Builder
	if printTable(&w, sampleGoals, out) {
		t.Error("a table with missing figures and failures is complete")
	}
	table := w.String()
	t.Log("\n" + table)
	for _, want := range []string{
		"scan  ", "110 / 120 / 131", "0.11 / 0.12 / 0.14", "bufio (median 950 MB/s-per-cpu)", ">= 100 MB/s (#1)", "met",
		"slow", "10.0 / 20.0 / 30.0", "missed",
		"MISSING: BenchmarkOldNames reports no MB/s-per-cpu, x-anchor -min/-med/-max",
		"pages: overview", "pages: runs", "60.0",
		"MISSING: no result line of BenchmarkGone", "none: deterministic",
		"FAILED: BenchmarkPages/test-2", "FAILED: package github.com/sentinel-ci/sentinel/app",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("the table does not say %q", want)
		}
	}
	if lines := strings.Count(table, "\n"); lines != 1+6+2 {
		t.Errorf("%d lines, want a header, 6 rows and 2 failures", lines)
	}
}

// TestTableCompleteWhenEveryFigureIsFound: missed goals are measurements,
// not failures of make bench.
func TestTableCompleteWhenEveryFigureIsFound(t *testing.T) {
	triageOnly, _, _ := strings.Cut(sampleOutput, "pkg: github.com/sentinel-ci/sentinel/app")
	out, err := parse(strings.NewReader(triageOnly))
	if err != nil {
		t.Fatal(err)
	}
	var w strings.Builder
	if !printTable(&w, sampleGoals[:2], out) {
		t.Errorf("incomplete:\n%s", w.String())
	}
}
