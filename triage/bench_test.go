package triage

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mixedLog generates a realistic build log of about size bytes: mostly
// ordinary build and test chatter with timestamps, some ANSI colour and
// progress lines, and a few real failures of several ecosystems.
func mixedLog(size int) []byte {
	rng := rand.New(rand.NewPCG(7, 7))
	chatter := []string{
		"go: downloading github.com/acme/lib%d v1.%d.0",
		"=== RUN   TestHandler%d",
		"--- PASS: TestHandler%d (0.%02ds)",
		"ok  \tgithub.com/acme/shop/internal/pkg%d\t0.%03ds",
		"[INFO] Downloaded from central: https://repo.maven.apache.org/maven2/org/acme/lib/%d.%d/lib.jar",
		"   Compiling serde_derive v1.0.%d (%d)",
		"npm WARN deprecated glob@7.%d.%d: Glob versions prior to v9 are no longer supported",
		"tests/test_api.py::test_endpoint_%d PASSED                     [ %d%%]",
		"\x1b[32m✓\x1b[39m renders component %d (%d ms)",
		"Step %d/%d : RUN apt-get install -y build-essential",
		"added %d packages, and audited %d packages in 3s",
		"Progress: resolved %d, reused %d, downloaded 0, added 0\rProgress: resolved 1200, reused 1180, downloaded 2, added 5",
		"    handler_test.go:%d: request took %dms",
		"[%d/%d] Building CXX object src/CMakeFiles/core.dir/engine.cpp.o",
	}
	failures := []string{
		"internal/cart/cart.go:42:9: undefined: pricing.Discount%d",
		"npm ERR! code ENOTFOUND %d",
		"E   AssertionError: assert %d == 9",
		"error[E0425]: cannot find value `x%d` in this scope",
		"dial tcp 10.0.0.%d:443: i/o timeout",
		"write /tmp/cache%d: no space left on device",
	}
	var b bytes.Buffer
	start := time.Date(2024, 5, 2, 10, 0, 0, 0, time.UTC)
	for i := 0; b.Len() < size; i++ {
		ts := start.Add(time.Duration(i) * 7 * time.Millisecond).Format("2006-01-02T15:04:05.0000000Z")
		var line string
		if rng.IntN(5000) == 0 {
			line = fmt.Sprintf(failures[rng.IntN(len(failures))], rng.IntN(100))
		} else {
			line = fmt.Sprintf(chatter[rng.IntN(len(chatter))], rng.IntN(1000), rng.IntN(100))
		}
		b.WriteString(ts)
		b.WriteByte(' ')
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ciLogSources are the real CI output the benchmark log is made of, beside
// generated chatter: the labelled logs, the rule and matcher test logs,
// and the go command's own output (plain, -v and -json).
var ciLogSources = []string{"testdata/labelled/*.log", "testdata/logs/*.log", "testdata/matchers/*.log", "testdata/go/out/*"}

// ciLog writes a realistic mixed CI log of about size bytes to a file in
// dir: the generated chatter of mixedLog (timestamps, ANSI colour,
// progress lines, passing tests of many ecosystems) with, every 40 KiB or
// so, one whole real log of the sources above, each line stamped the way
// GitHub Actions does. A source that yields no file fails the benchmark:
// it would measure a different log.
func ciLog(tb testing.TB, dir string, size int) string {
	var real [][]byte
	for _, pattern := range ciLogSources {
		paths, err := filepath.Glob(pattern)
		if err != nil || len(paths) == 0 {
			tb.Fatalf("benchmark input %s is missing (%v)", pattern, err)
		}
		for _, p := range paths {
			raw, err := os.ReadFile(p)
			if err != nil {
				tb.Fatal(err)
			}
			real = append(real, raw)
		}
	}
	chatter := mixedLog(size)
	path := filepath.Join(dir, "ci.log")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewPCG(16, 16))
	written := 0
	next := 0
	for off := 0; off < len(chatter) && written < size; {
		end := off + bytes.IndexByte(chatter[off:], '\n') + 1
		n, _ := w.Write(chatter[off:end])
		written += n
		off = end
		if written < next {
			continue
		}
		next = written + 20<<10 + rng.IntN(40<<10)
		stamp := chatter[off-n : off-n+min(n, 29)] // the chatter line's own timestamp and space
		for l := range bytes.Lines(real[rng.IntN(len(real))]) {
			w.Write(stamp)
			n, _ := w.Write(l)
			written += len(stamp) + n
			if !bytes.HasSuffix(l, []byte("\n")) {
				w.WriteByte('\n')
			}
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkAnalyzeLog measures Analyze of a 100 MB realistic mixed CI log
// (ciLog) read from a file, as `sentinel triage` reads one, against an
// anchor: bufio line scanning of the same file. Anchor and analysis
// alternate in blocks; each figure is min/median/max over the blocks:
//
//   - MB/s-per-cpu: the log's size over the CPU time the process used
//     (garbage collection included), so the figure is per core whatever
//     else the machine runs;
//   - x-anchor: that rate over the anchor's in the same block;
//   - peak-MiB: the process's peak resident memory during the analysis
//     over its resident memory just before (the kernel's high-water mark,
//     reset before each analysis), after a collection returned freed
//     memory to the system.
//
// Run it once (each block reads 100 MB twice):
//
//	go test ./triage/ -run '^$' -bench 'BenchmarkAnalyzeLog$' -benchtime 1x
func BenchmarkAnalyzeLog(b *testing.B) {
	const blocks = 5
	path := ciLog(b, b.TempDir(), 100<<20)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	mb := float64(st.Size()) / 1e6
	analyze := func() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		fs, err := Analyze([]StepInput{{Facts: StepFacts{ExitCode: 1}, Log: f}}, Options{})
		if err != nil || len(fs) == 0 {
			b.Fatalf("Analyze = %d failures, %v", len(fs), err)
		}
	}
	scan := func() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			n += len(sc.Bytes())
		}
		if sc.Err() != nil || n == 0 {
			b.Fatalf("scan read %d bytes: %v", n, sc.Err())
		}
	}
	// The rules and the prefilter they share with the matchers are built
	// on first use, once per process: not a cost of each log.
	if _, err := Analyze([]StepInput{{Facts: StepFacts{ExitCode: 1}, Log: strings.NewReader("x\n")}}, Options{}); err != nil {
		b.Fatal(err)
	}
	var rate, anchor, ratio, peak []float64
	for b.Loop() {
		for range blocks {
			c0 := cpuTime()
			scan()
			c1 := cpuTime()
			base := settledRSS(b)
			c2 := cpuTime()
			analyze()
			c3 := cpuTime()
			peak = append(peak, float64(peakRSS(b)-base)/(1<<20))
			rate = append(rate, mb/(c3-c2).Seconds())
			anchor = append(anchor, mb/(c1-c0).Seconds())
			ratio = append(ratio, (c1-c0).Seconds()/(c3-c2).Seconds())
		}
	}
	report := func(name string, v []float64) {
		slices.Sort(v)
		b.ReportMetric(v[0], name+"-min")
		b.ReportMetric(v[len(v)/2], name+"-med")
		b.ReportMetric(v[len(v)-1], name+"-max")
	}
	report("MB/s-per-cpu", rate)
	report("anchor-MB/s-per-cpu", anchor)
	report("x-anchor", ratio)
	report("peak-MiB", peak)
}

// settledRSS collects garbage, returns the freed memory to the system,
// resets the kernel's high-water mark of resident memory and returns the
// resident memory now, in bytes: the baseline of peakRSS.
func settledRSS(tb testing.TB) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Fatalf("cannot reset the peak resident memory: %v", err)
	}
	return procStatus(tb, "VmRSS:")
}

// peakRSS is the high-water mark of resident memory since settledRSS.
func peakRSS(tb testing.TB) int64 { return procStatus(tb, "VmHWM:") }

func procStatus(tb testing.TB, field string) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for l := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(l, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb << 10
		}
	}
	tb.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// BenchmarkParseGoTestJSON reports go test -json parsing throughput, per
// CPU and as a ratio to line scanning of the same bytes.
func BenchmarkParseGoTestJSON(b *testing.B) {
	raw, err := os.ReadFile(fixtureRoot + "go-test-json/gotestsum/testjson__testdata__input__go-test-json.out")
	if err != nil {
		b.Fatal("fixture missing:", err)
	}
	var data []byte
	for len(data) < 8<<20 {
		data = append(data, raw...)
	}
	baseline := measure(func() {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
		}
	})
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := ParseGoTestJSON(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpuPerOp := (cpuTime() - cpu0).Seconds() / float64(b.N)
	b.ReportMetric(float64(len(data))/cpuPerOp/1e6, "MB/s-per-cpu")
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(baseline.Seconds()/perOp, "ratio-vs-bufio")
}

func BenchmarkNormalize(b *testing.B) {
	line := "2024-05-02T10:11:20.5555556Z dial tcp 10.0.0.12:443: i/o timeout after 3.2s (request 3f2504e0-4f89-11d3-9a0c-0305e82c3301)"
	for b.Loop() {
		Normalize(line)
	}
}

func measure(f func()) time.Duration {
	best := time.Duration(1<<63 - 1)
	for range 3 {
		start := time.Now()
		f()
		best = min(best, time.Since(start))
	}
	return best
}

// cpuTime is the user+system CPU time this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
