package main

// goal is one figure make bench judges: the benchmark that measures it,
// the metric its goal is on, and where the goal comes from.
type goal struct {
	figure string
	// bench matches the names (without the -GOMAXPROCS suffix) of the
	// benchmarks measuring the figure, each a row: a regular expression,
	// anchored.
	bench string
	// metric is the figure's name in the benchmark's output, carrying its
	// unit; the benchmark reports metric-min, metric-med and metric-max.
	// "x-anchor" puts the goal on the ratio to the anchor itself.
	metric string
	// anchor says what the figure is measured against in the same blocks
	// (reported as anchor-<figure>-min/med/max, the ratio as
	// x-anchor-min/med/max); "" for a figure that needs none, said why in
	// noAnchor.
	anchor   string
	noAnchor string
	atLeast  bool // the goal is a floor (>=); else a ceiling (<=)
	value    float64
	unit     string
	issue    string // the issue that sets the goal
}

// goals is the one table of make bench's goals.
var goals = []goal{
	{figure: "triage: analyse a mixed build log", bench: "BenchmarkAnalyzeLog", metric: "MB/s-per-cpu",
		anchor: "bufio line scan, same bytes", atLeast: true, value: 100, unit: "MB/s per core", issue: "#16, #23"},
	{figure: "fingerprint a realistic mixed log", bench: "BenchmarkFingerprint", metric: "MB/s-per-cpu",
		anchor: "bufio line scan, same bytes", atLeast: true, value: 50, unit: "MB/s per core", issue: "#17"},
	{figure: "template store, 100k distinct messages", bench: "BenchmarkTemplateStore100k", metric: "MiB-heap",
		noAnchor: "heap over a baseline just before", value: 50, unit: "MiB", issue: "#17"},
	{figure: "JUnit: parse a 32 MB report", bench: "BenchmarkParseJUnit", metric: "MB/s-per-cpu",
		anchor: "xml RawToken scan, same bytes", atLeast: true, value: 50, unit: "MB/s per core", issue: "#23"},
	{figure: "intake: signed pushes accepted", bench: "BenchmarkIntake", metric: "x-anchor",
		anchor: "bare 1-row INSERTs, same senders", atLeast: true, value: 0.4, unit: "× bare INSERT rate", issue: "#23"},
	{figure: "dashboard page p95 at 100k runs", bench: "BenchmarkDashboard/.*", metric: "p95-ms",
		anchor: "a fixed query (count over generate_series(1, 50000))", value: 50, unit: "ms", issue: "#21"},
	{figure: "record + score 5k results, 1M history", bench: "BenchmarkRecordAndScoreRun/.*results=5000", metric: "record+score-ms",
		anchor: "plain COPY of the same results", value: 150, unit: "ms", issue: "#23"},
	{figure: "recorded GitHub: reports at 20k history", bench: "BenchmarkRecorderHistory", metric: "x-anchor",
		anchor: "the same at 1k history", value: 1.5, unit: "× at 1k", issue: "#23"},
}
