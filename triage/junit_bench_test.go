package triage

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"slices"
	"testing"
	"time"
)

// junitBenchDoc is a JUnit report of about size bytes as Surefire or pytest
// write them: suites of cases with timings, one in 50 failing with a
// message and a stack trace, one in 10 with captured system-out.
func junitBenchDoc(size int) []byte {
	var b bytes.Buffer
	b.WriteString(junitBenchHead)
	for s := 0; b.Len() < size; s++ {
		writeJUnitBenchSuite(&b, s)
	}
	b.WriteString(junitBenchTail)
	return b.Bytes()
}

const junitBenchHead, junitBenchTail = `<?xml version="1.0" encoding="UTF-8"?>` + "\n<testsuites>\n", "</testsuites>\n"

func writeJUnitBenchSuite(b *bytes.Buffer, s int) {
	fmt.Fprintf(b, `<testsuite name="com.acme.shop.Suite%d" tests="100" failures="2" errors="0" skipped="1" time="12.5">`+"\n", s)
	for i := range 100 {
		fmt.Fprintf(b, `  <testcase classname="com.acme.shop.Suite%d" name="testCheckout%d" time="0.%03d"`, s, i, i)
		switch {
		case i%50 == 7:
			fmt.Fprintf(b, ">\n    <failure message=\"expected: &lt;%d&gt; but was: &lt;%d&gt;\" type=\"org.opentest4j.AssertionFailedError\">org.opentest4j.AssertionFailedError: expected: &lt;%d&gt; but was: &lt;%d&gt;\n", i, i+1, i, i+1)
			for f := range 12 {
				fmt.Fprintf(b, "\tat com.acme.shop.Checkout%d.apply(Checkout%d.java:%d)\n", f, f, 40+f)
			}
			b.WriteString("</failure>\n  </testcase>\n")
		case i%10 == 3:
			b.WriteString(">\n    <system-out><![CDATA[")
			for l := range 20 {
				fmt.Fprintf(b, "2024-05-02 10:11:%02d INFO  c.a.s.Checkout - cart %d priced at %d.%02d EUR\n", l, i, l*7, l)
			}
			b.WriteString("]]></system-out>\n  </testcase>\n")
		case i == 99:
			b.WriteString(">\n    <skipped message=\"disabled\"/>\n  </testcase>\n")
		default:
			b.WriteString("/>\n")
		}
	}
	b.WriteString("</testsuite>\n")
}

// junitDocReader writes the document of junitBenchDoc as it is read, a suite
// at a time, so that the input holds no memory however large it is.
type junitDocReader struct {
	size, read, suite int
	buf               bytes.Buffer
	done              bool
}

func (r *junitDocReader) Read(p []byte) (int, error) {
	for r.buf.Len() == 0 {
		switch {
		case r.done:
			return 0, io.EOF
		case r.read == 0 && r.suite == 0:
			r.buf.WriteString(junitBenchHead)
		case r.read < r.size:
			writeJUnitBenchSuite(&r.buf, r.suite)
			r.suite++
		default:
			r.buf.WriteString(junitBenchTail)
			r.done = true
		}
		r.read += r.buf.Len()
	}
	return r.buf.Read(p)
}

// BenchmarkParseJUnit reports ParseJUnitMax's throughput per CPU on a 32 MB
// report, against an anchor measured in the same run: encoding/xml's
// RawToken scan of the same bytes (tokenising alone, no checks, nothing
// kept). Parse and anchor alternate in five blocks; min/median/max over the
// blocks. Allocation is reported per parse (b.ReportAllocs).
//
//	go test ./triage/ -run '^$' -bench ParseJUnit -benchtime 5x
func BenchmarkParseJUnit(b *testing.B) {
	data := junitBenchDoc(32 << 20)
	const blocks = 5
	var mbs, anchor, ratio []float64
	b.ReportAllocs()
	for b.Loop() {
		var parse, scan time.Duration
		for range blocks {
			c0 := cpuTime()
			res, err := ParseJUnitMax(bytes.NewReader(data), 50000)
			if err != nil || len(res.Tests) == 0 {
				b.Fatalf("%d cases, %v", len(res.Tests), err)
			}
			c1 := cpuTime()
			dec := xml.NewDecoder(bytes.NewReader(data))
			for {
				if _, err := dec.RawToken(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
			c2 := cpuTime()
			parse, scan = c1-c0, c2-c1
			mb := float64(len(data)) / 1e6
			mbs, anchor, ratio = append(mbs, mb/parse.Seconds()), append(anchor, mb/scan.Seconds()), append(ratio, scan.Seconds()/parse.Seconds())
		}
	}
	report := func(name string, v []float64) {
		slices.Sort(v)
		b.ReportMetric(v[0], name+"-min")
		b.ReportMetric(v[len(v)/2], name+"-med")
		b.ReportMetric(v[len(v)-1], name+"-max")
	}
	report("MB/s-per-cpu", mbs)
	report("anchor-MB/s-per-cpu", anchor)
	report("x-anchor", ratio)
}

// BenchmarkParseJUnitPeakHeap parses reports of 64 and 256 MB, written as
// they are read, keeping at most 5,000 cases, and reports the peak of the
// heap's live objects above a baseline taken just before each parse
// (sampled every millisecond). Streaming means the two sizes peak alike:
// memory follows the cap, not the file. (What the cap keeps grows until it
// is full of failures, each with up to MaxTestOutput of output: with the
// runner's 50,000 and one case in 50 failing, that takes 256 MB.)
//
//	go test ./triage/ -run '^$' -bench ParseJUnitPeakHeap -benchtime 1x
func BenchmarkParseJUnitPeakHeap(b *testing.B) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heap := func() int64 {
		metrics.Read(sample)
		return int64(sample[0].Value.Uint64())
	}
	for _, size := range []int{64 << 20, 256 << 20} {
		b.Run(fmt.Sprintf("MB=%d", size>>20), func(b *testing.B) {
			var peak int64
			for b.Loop() {
				runtime.GC()
				baseline := heap()
				done, sampled := make(chan struct{}), make(chan int64)
				go func() {
					top := baseline
					for {
						select {
						case <-done:
							sampled <- top
							return
						case <-time.After(time.Millisecond):
							top = max(top, heap())
						}
					}
				}()
				r := &junitDocReader{size: size}
				res, err := ParseJUnitMax(r, 5000)
				close(done)
				top := <-sampled
				if err != nil || len(res.Tests) == 0 || r.read < size {
					b.Fatalf("%d cases of %d bytes: %v", len(res.Tests), r.read, err)
				}
				peak = max(peak, top-baseline)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-over-baseline-MiB")
		})
	}
}
