package runner

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// memSink keeps chunks in memory and checks their order.
type memSink struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	chunks int
	lines  int
	err    error
	keep   bool
}

func (m *memSink) store(_ context.Context, _ int64, seq, firstLine int, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.chunks++
	if seq != m.chunks || firstLine != m.lines+1 {
		m.err = fmt.Errorf("chunk seq %d first line %d after %d chunks, %d lines", seq, firstLine, m.chunks-1, m.lines)
	}
	m.lines += bytes.Count(data, []byte{'\n'})
	if m.keep {
		m.buf.Write(data)
	}
	return nil
}

func (m *memSink) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.buf.String()
}

func TestLogStreamMasksSecretsAcrossWrites(t *testing.T) {
	t.Parallel()
	const secret = "ghs_SECRETTOKEN42"
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"whole", []string{"token=" + secret + "\n"}, "token=***\n"},
		{"split in two writes", []string{"token=ghs_SEC", "RETTOKEN42 end\n"}, "token=*** end\n"},
		{"byte by byte", strings.Split("a "+secret+" b "+secret, ""), "a *** b ***"},
		{"prefix only", []string{"ghs_SECRET", "\n"}, "ghs_SECRET\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := &memSink{keep: true}
			// A chunk size of 1 flushes after every write: the worst case for splitting.
			s := NewLogStream(context.Background(), sink.store, 1, LogOptions{ChunkSize: 1, Secrets: []string{secret, "x"}})
			for _, w := range tc.writes {
				s.Write([]byte(w))
			}
			if _, err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if got := sink.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if sink.err != nil {
				t.Error(sink.err)
			}
		})
	}
}

func TestLogStreamCap(t *testing.T) {
	t.Parallel()
	sink := &memSink{keep: true}
	s := NewLogStream(context.Background(), sink.store, 1, LogOptions{MaxBytes: 1000, ChunkSize: 64})
	line := strings.Repeat("x", 99) + "\n"
	for range 50 {
		s.Write([]byte(line))
	}
	st, err := s.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := sink.String()
	if !strings.HasPrefix(got, strings.Repeat(line, 10)) || !strings.Contains(got, "[sentinel: log truncated at 1000 bytes; 4000 more bytes") {
		t.Errorf("log %q", got)
	}
	if !st.Truncated || st.Bytes != int64(len(got)) {
		t.Errorf("stats %+v, stored %d", st, len(got))
	}
}

func TestLogStreamFlushesWhileRunning(t *testing.T) {
	t.Parallel()
	sink := &memSink{keep: true}
	// A configured secret must not hold back output that cannot be one.
	s := NewLogStream(context.Background(), sink.store, 1, LogOptions{FlushInterval: 50 * time.Millisecond, Secrets: []string{"ghs_SECRETTOKEN42"}})
	defer s.Close()
	s.Write([]byte("first line\n"))
	deadline := time.Now().Add(5 * time.Second)
	for sink.String() != "first line\n" {
		if time.Now().After(deadline) {
			t.Fatal("output not stored within 5s while the step still runs")
		}
		runtime.Gosched()
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for work
	}
}

func TestLogStreamConcurrentWriters(t *testing.T) {
	t.Parallel()
	sink := &memSink{keep: true}
	s := NewLogStream(context.Background(), sink.store, 1, LogOptions{ChunkSize: 100})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				fmt.Fprintf(s, "w%d %d\n", w, i)
			}
		}()
	}
	wg.Wait()
	if _, err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got := sink.String()
	if n := strings.Count(got, "\n"); n != 2000 || sink.err != nil {
		t.Errorf("%d lines, err %v", n, sink.err)
	}
}

// BenchmarkLogStream100MB streams 100 MiB of output, in the 32 KiB pieces a
// pipe delivers, through a stream whose cap is above it, so that every byte
// counted is masked and stored (a capped stream drops the rest unread, and
// counting those bytes overstated the rate 3-fold). Heap in use must stay at
// about one chunk: its peak is reported above a baseline taken just before.
// The anchor, timed in the same iterations, is the least a masking stream
// must do: look for the secret in every piece.
func BenchmarkLogStream100MB(b *testing.B) {
	line := []byte(strings.Repeat("0123456789abcdef", 8)[:127] + "\n")
	const total = 100 << 20
	buf := bytes.Repeat(line, 32<<10/len(line))
	secret := "ghs_notpresent"
	var peak uint64
	var streamed, anchor time.Duration
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseline := ms.HeapInuse
	b.ResetTimer()
	for range b.N {
		b.StopTimer() // the anchor stays out of ns/op and MB/s
		start := time.Now()
		found := 0
		for n := 0; n < total; n += len(buf) {
			found += bytes.Index(buf, []byte(secret)) + 1
		}
		if found != 0 {
			b.Fatal("the secret is in the output")
		}
		anchor += time.Since(start)
		b.StartTimer()

		start = time.Now()
		sink := &memSink{}
		s := NewLogStream(context.Background(), sink.store, 1, LogOptions{MaxBytes: total + 1<<20, Secrets: []string{secret}})
		written := 0
		for ; written < total; written += len(buf) {
			s.Write(buf)
			if written%(8<<20) == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
		stats, err := s.Close()
		streamed += time.Since(start)
		if err != nil || sink.err != nil {
			b.Fatal(err, sink.err)
		}
		if stats.Truncated || stats.Bytes != int64(written) {
			b.Fatalf("stored %d of %d bytes (truncated %v): the rate would count bytes never processed", stats.Bytes, written, stats.Truncated)
		}
		b.SetBytes(stats.Bytes)
	}
	b.StopTimer()
	mb := float64(b.N) * float64(total) / 1e6
	b.ReportMetric(mb/streamed.Seconds(), "MB/s-stored")
	b.ReportMetric(mb/anchor.Seconds(), "MB/s-scan-anchor")
	b.ReportMetric(anchor.Seconds()/streamed.Seconds(), "ratio-vs-scan")
	b.ReportMetric(float64(int64(peak)-int64(baseline))/(1<<20), "peak-heap-over-baseline-MiB")
}

// FuzzLogStreamMask: however output is split into writes and chunks, the
// stored log is the masked output, and no secret survives.
func FuzzLogStreamMask(f *testing.F) {
	f.Add("token ghs_abcd1234 and ghs_abcd1234", uint8(3), uint8(5))
	f.Add("ghs_ghs_abcd1234", uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, out string, split, chunk uint8) {
		secrets := []string{"ghs_abcd1234", "hunter2!"}
		sink := &memSink{keep: true}
		s := NewLogStream(context.Background(), sink.store, 1, LogOptions{ChunkSize: int(chunk) + 1, Secrets: secrets})
		step := int(split) + 1
		for i := 0; i < len(out); i += step {
			s.Write([]byte(out[i:min(i+step, len(out))]))
		}
		if _, err := s.Close(); err != nil {
			t.Fatal(err)
		}
		got := sink.String()
		if want := string(mask([]byte(out), secrets)); got != want {
			t.Errorf("stored %q, want %q", got, want)
		}
	})
}
