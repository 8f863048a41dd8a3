package triage

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
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

// BenchmarkAnalyzeLog measures parsing, classification and fingerprinting
// of a mixed build log, and reports the throughput as a ratio to plain
// bufio line scanning of the same bytes measured in the same run.
func BenchmarkAnalyzeLog(b *testing.B) {
	data := mixedLog(32 << 20)
	// The prefilter shared by the built-in rules and matchers is built on
	// first use, once per process: not a cost of each log.
	if _, err := Analyze([]StepInput{{Facts: StepFacts{ExitCode: 1}, Log: bytes.NewReader(data[:4096])}}, Options{}); err != nil {
		b.Fatal(err)
	}
	baseline := measure(func() {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 64*1024), 64*1024)
		n := 0
		for sc.Scan() {
			n += len(sc.Bytes())
		}
		_ = n
	})
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		fs, err := Analyze([]StepInput{{Facts: StepFacts{ExitCode: 1}, Log: bytes.NewReader(data)}}, Options{})
		if err != nil || len(fs) == 0 {
			b.Fatalf("Analyze = %d failures, %v", len(fs), err)
		}
	}
	b.StopTimer()
	perOp := b.Elapsed().Seconds() / float64(b.N)
	mbps := float64(len(data)) / perOp / 1e6
	// The machine is shared: CPU time of this process gives the per-core
	// rate even when other processes compete for the cores.
	cpuPerOp := (cpuTime() - cpu0).Seconds() / float64(b.N)
	b.ReportMetric(float64(len(data))/cpuPerOp/1e6, "MB/s-per-cpu")
	b.ReportMetric(mbps, "MB/s-analyze")
	b.ReportMetric(float64(len(data))/baseline.Seconds()/1e6, "MB/s-bufio")
	b.ReportMetric(baseline.Seconds()/perOp, "ratio-vs-bufio")
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

var _ = io.Discard

// cpuTime is the user+system CPU time this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
