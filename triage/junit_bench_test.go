package triage

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"
)

// junitBenchDoc is a JUnit report of about size bytes as Surefire or pytest
// write them: suites of cases with timings, one in 50 failing with a
// message and a stack trace, one in 10 with captured system-out.
func junitBenchDoc(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<testsuites>\n")
	for s := 0; b.Len() < size; s++ {
		fmt.Fprintf(&b, `<testsuite name="com.acme.shop.Suite%d" tests="100" failures="2" errors="0" skipped="1" time="12.5">`+"\n", s)
		for i := range 100 {
			fmt.Fprintf(&b, `  <testcase classname="com.acme.shop.Suite%d" name="testCheckout%d" time="0.%03d"`, s, i, i)
			switch {
			case i%50 == 7:
				fmt.Fprintf(&b, ">\n    <failure message=\"expected: &lt;%d&gt; but was: &lt;%d&gt;\" type=\"org.opentest4j.AssertionFailedError\">org.opentest4j.AssertionFailedError: expected: &lt;%d&gt; but was: &lt;%d&gt;\n", i, i+1, i, i+1)
				for f := range 12 {
					fmt.Fprintf(&b, "\tat com.acme.shop.Checkout%d.apply(Checkout%d.java:%d)\n", f, f, 40+f)
				}
				b.WriteString("</failure>\n  </testcase>\n")
			case i%10 == 3:
				b.WriteString(">\n    <system-out><![CDATA[")
				for l := range 20 {
					fmt.Fprintf(&b, "2024-05-02 10:11:%02d INFO  c.a.s.Checkout - cart %d priced at %d.%02d EUR\n", l, i, l*7, l)
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
	b.WriteString("</testsuites>\n")
	return b.Bytes()
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
