package triage

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// fingerprintLog is the mixed build log of BenchmarkAnalyzeLog with the
// labelled corpus's system logs interleaved: CI chatter and the lines of
// clusters, databases and daemons that CI jobs print.
func fingerprintLog(tb testing.TB, size int) []byte {
	var sys []string
	for i, s := range templateSystems {
		r := rand.New(rand.NewPCG(99, uint64(i)))
		for _, l := range strings.Split(strings.TrimSpace(string(generateTemplateLines(r, s.templates, 4000))), "\n") {
			_, line, _ := strings.Cut(l, "\t")
			sys = append(sys, line)
		}
	}
	mixed := mixedLog(size / 2)
	var b bytes.Buffer
	r := rand.New(rand.NewPCG(1, 1))
	sc := bufio.NewScanner(bytes.NewReader(mixed))
	for sc.Scan() {
		b.Write(sc.Bytes())
		b.WriteByte('\n')
		b.WriteString(sys[r.IntN(len(sys))])
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// BenchmarkFingerprint measures fingerprinting with learned templates:
// per line, Normalize, the template it matches and the SHA-256, as the
// second pass of `sentinel fingerprint` does. It reports MB/s per CPU and
// the ratio to an anchor, bufio line scanning of the same bytes, the two
// alternating in blocks (see blockBench).
//
//	go test ./triage/ -run '^$' -bench 'BenchmarkFingerprint$' -benchtime 5x
func BenchmarkFingerprint(b *testing.B) {
	data := fingerprintLog(b, 16<<20)
	m := NewTemplateMiner(MinerOptions{})
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		m.Add(CategoryUnknown, Normalize(sc.Text()))
	}
	blockBench(b, data, func() int {
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			m.Fingerprint(CategoryUnknown, Normalize(sc.Text()), "")
			n += len(sc.Bytes()) + 1
		}
		return n
	})
	b.ReportMetric(float64(m.Len()), "templates")
}

// blockBench runs work over data and the anchor, bufio line scanning of
// the same bytes, in alternating blocks: each b.Loop iteration is one
// block of each, and there are at least five. Work returns the bytes it
// processed, the only ones counted. Times are CPU times of the process
// (the machine is shared: wall time measures the neighbours too), and the
// metrics are min, median and max over the blocks of MB/s per CPU, the
// anchor's, and their ratio.
func blockBench(b *testing.B, data []byte, work func() int) {
	anchor := func() int {
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			n += len(sc.Bytes()) + 1
		}
		return n
	}
	// The anchor is fast: run it a few times a block so that its time
	// is not lost in the clock's granularity.
	const anchorReps = 8
	var mbs, anchorMBs, ratio []float64
	block := func() {
		c0 := cpuTime()
		n := work()
		c1 := cpuTime()
		an := 0
		for range anchorReps {
			an += anchor()
		}
		c2 := cpuTime()
		w, a := float64(n)/1e6/(c1-c0).Seconds(), float64(an)/1e6/(c2-c1).Seconds()
		mbs, anchorMBs, ratio = append(mbs, w), append(anchorMBs, a), append(ratio, w/a)
	}
	for b.Loop() {
		block()
	}
	for len(mbs) < 5 {
		block()
	}
	report := func(name string, v []float64) {
		slices.Sort(v)
		b.ReportMetric(v[0], name+"-min")
		b.ReportMetric(v[len(v)/2], name+"-med")
		b.ReportMetric(v[len(v)-1], name+"-max")
	}
	report("MB/s-per-cpu", mbs)
	report("anchor-MB/s-per-cpu", anchorMBs)
	report("x-anchor", ratio)
}

// BenchmarkTemplateLearn measures the first pass: Normalize and Add into
// a new miner, in blocks against the anchor as BenchmarkFingerprint is.
func BenchmarkTemplateLearn(b *testing.B) {
	data := fingerprintLog(b, 8<<20)
	blockBench(b, data, func() int {
		n := 0
		m := NewTemplateMiner(MinerOptions{})
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			m.Add(CategoryUnknown, Normalize(sc.Text()))
			n += len(sc.Bytes()) + 1
		}
		return n
	})
}

// distinctMessages returns n failure messages of distinct templates, of
// every category and 4 to 40 tokens, the words drawn from a large
// vocabulary so that no two share enough to merge.
func distinctMessages(n int) (cats []Category, msgs []string) {
	r := rand.New(rand.NewPCG(100, 100))
	vocab := make([]string, 20000)
	for i := range vocab {
		vocab[i] = alnum(r, 4+r.IntN(8), "abcdefghijklmnopqrstuvwxyz") + pick(r, "", ":", ".", "()")
	}
	for range n {
		k := 4 + r.IntN(37)
		toks := make([]string, k)
		for j := range toks {
			toks[j] = vocab[r.IntN(len(vocab))]
		}
		cats = append(cats, Categories[r.IntN(len(Categories))])
		msgs = append(msgs, strings.Join(toks, " "))
	}
	return cats, msgs
}

// BenchmarkTemplateStore100k reports the memory a miner holds after
// learning 100,000 distinct messages (live heap, match cache included)
// and the size of its encoding.
func BenchmarkTemplateStore100k(b *testing.B) {
	cats, msgs := distinctMessages(100000)
	var heaps []float64
	var enc, stored float64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m := NewTemplateMiner(MinerOptions{})
		for i, msg := range msgs {
			m.Add(cats[i], msg)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heaps = append(heaps, (float64(after.HeapAlloc)-float64(before.HeapAlloc))/(1<<20))
		data, _ := m.MarshalBinary()
		enc = float64(len(data))
		stored = float64(m.Len())
		runtime.KeepAlive(m)
	}
	// The spread over the stores learned (one with -benchtime 1x).
	slices.Sort(heaps)
	b.ReportMetric(heaps[0], "MiB-heap-min")
	b.ReportMetric(heaps[len(heaps)/2], "MiB-heap-med")
	b.ReportMetric(heaps[len(heaps)-1], "MiB-heap-max")
	b.ReportMetric(enc/(1<<20), "MiB-encoded")
	b.ReportMetric(stored, "templates")
}

func TestDistinctMessagesAreStored(t *testing.T) {
	t.Parallel()
	cats, msgs := distinctMessages(20000)
	m := NewTemplateMiner(MinerOptions{})
	for i, msg := range msgs {
		m.Add(cats[i], msg)
	}
	if m.Len() != len(msgs) {
		t.Errorf("%d templates for %d distinct messages", m.Len(), len(msgs))
	}
	_ = fmt.Sprint()
}

// BenchmarkNormalizeLog measures Normalize alone over the lines of the
// fingerprint benchmark's log, in blocks against the anchor as
// BenchmarkFingerprint is.
//
//	go test ./triage/ -run '^$' -bench 'BenchmarkNormalizeLog$' -benchtime 5x
func BenchmarkNormalizeLog(b *testing.B) {
	data := fingerprintLog(b, 8<<20)
	blockBench(b, data, func() int {
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			Normalize(sc.Text())
			n += len(sc.Bytes()) + 1
		}
		return n
	})
}
