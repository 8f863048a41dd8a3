// Command benchtable reads `go test -bench` output and prints make bench's
// one table: each figure of the goals table (goals.go), its anchor, its
// goal, and what was measured, min/median/max over the benchmark's blocks.
// It exits 1 when a figure is missing or a benchmark failed: a figure never
// silently disappears.
//
// The metric names it keys on (ARCHITECTURE.md, "Benchmarks"): a benchmark
// measuring figure F reports F-min, F-med and F-max over its interleaved
// blocks, its anchor measured in the same blocks as anchor-F-min/med/max in
// the same unit, and the ratio F ÷ anchor as x-anchor-min/med/max.
//
//	go run ./cmd/benchtable bench.out
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

func main() {
	in := io.Reader(os.Stdin)
	if len(os.Args) > 1 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintf(os.Stderr, "benchtable: %v\n", err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}
	out, err := parse(in)
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchtable: %v\n", err)
		os.Exit(2)
	}
	if !printTable(os.Stdout, goals, out) {
		os.Exit(1)
	}
}

// output is what a go test -bench run printed: each benchmark's metrics by
// name (the last line of a benchmark run more than once), and the
// benchmarks and packages that failed.
type output struct {
	metrics map[string]map[string]float64
	order   []string // benchmark names in the order printed
	failed  []string
}

// benchLine is a result line: name-PROCS, iterations, then value-unit pairs.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func parse(r io.Reader) (output, error) {
	out := output{metrics: map[string]map[string]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "--- FAIL: "):
			out.failed = append(out.failed, strings.Fields(strings.TrimPrefix(trimmed, "--- FAIL: "))[0])
			continue
		case strings.HasPrefix(line, "FAIL\t"):
			out.failed = append(out.failed, "package "+strings.Fields(line)[1])
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		fields := strings.Fields(m[2])
		metrics := map[string]float64{}
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return out, fmt.Errorf("%s: %q is not a number", m[1], fields[i])
			}
			metrics[fields[i+1]] = v
		}
		if _, seen := out.metrics[m[1]]; !seen {
			out.order = append(out.order, m[1])
		}
		out.metrics[m[1]] = metrics
	}
	return out, sc.Err()
}

// spread is a figure's min, median and max over the blocks.
type spread struct{ min, med, max float64 }

// spreadOf finds name-min, name-med and name-max among metrics.
func spreadOf(metrics map[string]float64, name string) (spread, bool) {
	lo, ok1 := metrics[name+"-min"]
	med, ok2 := metrics[name+"-med"]
	hi, ok3 := metrics[name+"-max"]
	return spread{lo, med, hi}, ok1 && ok2 && ok3
}

func (s spread) String() string { return num(s.min) + " / " + num(s.med) + " / " + num(s.max) }

// num prints a figure with three significant digits or all its integer ones.
func num(v float64) string {
	switch {
	case v >= 100 || v <= -100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10 || v <= -10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// row is one line of the table.
type row struct {
	figure, anchor, goal, measured, ratio, verdict string
	found                                          bool // every metric the goal needs
}

// rows judges every goal against the output: a family goal gives a row per
// sub-benchmark; a goal whose benchmark or metrics are absent, a missing row.
func rows(gs []goal, out output) []row {
	var rs []row
	for _, g := range gs {
		match := regexp.MustCompile("^(?:" + g.bench + ")$")
		var names []string
		for _, name := range out.order {
			if match.MatchString(name) {
				names = append(names, name)
			}
		}
		if len(names) == 0 {
			names = []string{g.bench}
		}
		for _, name := range names {
			rs = append(rs, judge(g, name, out.metrics[name]))
		}
	}
	return rs
}

func judge(g goal, name string, metrics map[string]float64) row {
	op := "<="
	if g.atLeast {
		op = ">="
	}
	r := row{figure: g.figure, goal: fmt.Sprintf("%s %s %s (%s)", op, strconv.FormatFloat(g.value, 'g', -1, 64), g.unit, g.issue)}
	if _, sub, ok := strings.Cut(name, "/"); ok {
		r.figure += ": " + sub
	}
	var missing []string
	if g.anchor == "" {
		r.anchor, r.ratio = "none: "+g.noAnchor, "—"
	} else {
		r.anchor = g.anchor + anchorMedian(metrics)
		if x, ok := spreadOf(metrics, "x-anchor"); ok {
			r.ratio = x.String()
		} else {
			missing = append(missing, "x-anchor")
		}
	}
	s, ok := spreadOf(metrics, g.metric)
	if !ok {
		missing = append(missing, g.metric)
	} else {
		r.measured = s.String()
	}
	switch {
	case metrics == nil:
		r.verdict = "MISSING: no result line of " + name
	case len(missing) > 0:
		r.verdict = "MISSING: " + name + " reports no " + strings.Join(dedupe(missing), ", ") + " -min/-med/-max"
	case g.atLeast && s.med >= g.value, !g.atLeast && s.med <= g.value:
		r.verdict, r.found = "met", true
	default:
		r.verdict, r.found = "missed", true
	}
	return r
}

// anchorMedian shows the anchor's median when the benchmark reports one
// anchor-F-min/med/max.
func anchorMedian(metrics map[string]float64) string {
	var found []string
	for name := range metrics {
		if f, ok := strings.CutPrefix(name, "anchor-"); ok && strings.HasSuffix(f, "-med") {
			if _, ok := spreadOf(metrics, strings.TrimSuffix(name, "-med")); ok {
				found = append(found, strings.TrimSuffix(f, "-med"))
			}
		}
	}
	if len(found) != 1 {
		return ""
	}
	return fmt.Sprintf(" (median %s %s)", num(metrics["anchor-"+found[0]+"-med"]), found[0])
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// printTable prints the table and the failed benchmarks; it reports whether
// every figure was found and nothing failed. A missed goal is a
// measurement, not a failure of make bench.
func printTable(w io.Writer, gs []goal, out output) bool {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tanchor (same blocks)\tgoal (median)\tmeasured min / med / max\t× anchor min / med / max\tverdict")
	complete := true
	for _, r := range rows(gs, out) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.figure, r.anchor, r.goal, r.measured, r.ratio, r.verdict)
		complete = complete && r.found
	}
	tw.Flush()
	for _, f := range out.failed {
		fmt.Fprintf(w, "FAILED: %s\n", f)
	}
	return complete && len(out.failed) == 0
}
