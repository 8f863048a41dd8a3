package runner

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// LogSink stores one chunk of a step's log (store.AppendLogChunk in
// production). Chunks arrive in order, seq starting at 1. data is only
// valid during the call.
type LogSink func(ctx context.Context, stepID int64, seq, firstLine int, data []byte) error

// LogOptions tune a LogStream; zero values take the defaults.
type LogOptions struct {
	MaxBytes      int64         // stored per step before truncation; default 32 MiB
	FlushInterval time.Duration // latency bound for followers; default 1s
	ChunkSize     int           // a chunk is flushed once this much is pending; default 256 KiB
	Secrets       []string      // replaced by *** wherever they appear
}

const (
	defaultMaxLog    = 32 << 20
	defaultChunkSize = 256 << 10
	secretMask       = "***"
)

// LogStream is the io.Writer a step's stdout and stderr go to. It stores the
// output in chunks while the step runs: at least every FlushInterval, at
// most ChunkSize pending (a writer blocks while a full chunk is stored, so
// memory stays bounded however fast the step prints), at most MaxBytes per
// step followed by a truncation marker, with secrets masked even when they
// straddle two writes.
type LogStream struct {
	sink   LogSink
	ctx    context.Context
	stepID int64
	opts   LogOptions
	maxSec int // length of the longest secret

	mu       sync.Mutex // guards everything below
	flushMu  sync.Mutex // one flush at a time, in order
	pending  []byte
	out      []byte // the chunk being stored, reused (guarded by flushMu)
	stored   int64  // bytes stored (after masking)
	dropped  int64  // bytes not stored because of the cap
	seq      int
	lines    int // newlines stored so far
	err      error
	closed   bool
	stop     chan struct{}
	finished chan struct{}
}

// NewLogStream starts a stream for one step; Close must be called.
func NewLogStream(ctx context.Context, sink LogSink, stepID int64, opts LogOptions) *LogStream {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = defaultMaxLog
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = defaultChunkSize
	}
	var secrets []string
	maxSec := 0
	for _, s := range opts.Secrets {
		if len(s) >= 4 { // masking "a" would mangle every log
			secrets = append(secrets, s)
			maxSec = max(maxSec, len(s))
		}
	}
	opts.Secrets = secrets
	s := &LogStream{sink: sink, ctx: context.WithoutCancel(ctx), stepID: stepID, opts: opts, maxSec: maxSec,
		stop: make(chan struct{}), finished: make(chan struct{})}
	go s.ticker()
	return s
}

func (s *LogStream) ticker() {
	defer close(s.finished)
	t := time.NewTicker(s.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.flush(false)
		}
	}
}

// Write never fails the step: a storage error is kept and reported by Close.
func (s *LogStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return len(p), nil
	}
	room := s.opts.MaxBytes - s.stored - int64(len(s.pending))
	keep := int64(len(p))
	if keep > room+int64(s.maxSec) { // the tail kept for masking may still shrink
		keep = max(room+int64(s.maxSec), 0)
	}
	s.pending = append(s.pending, p[:keep]...)
	s.dropped += int64(len(p)) - keep
	full := len(s.pending) >= s.opts.ChunkSize
	s.mu.Unlock()
	if full {
		s.flush(false)
	}
	return len(p), nil
}

// flush stores what is pending, keeping back a tail that could be the start
// of a secret unless final.
func (s *LogStream) flush(final bool) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	cut := len(s.pending)
	if !final {
		cut = safeCut(s.pending, s.opts.Secrets, s.maxSec)
	}
	// The chunk buffer is reused: a sink must not keep data after it returns.
	s.out = appendMasked(s.out[:0], s.pending[:cut], s.opts.Secrets)
	data := s.out
	s.pending = append(s.pending[:0], s.pending[cut:]...)
	room := s.opts.MaxBytes - s.stored
	if int64(len(data)) > room {
		s.dropped += int64(len(data)) - room
		data = data[:room]
	}
	if final && s.dropped > 0 {
		data = append(data, fmt.Sprintf("\n[sentinel: log truncated at %d bytes; %d more bytes of output were not stored]\n", s.opts.MaxBytes, s.dropped)...)
	}
	if len(data) == 0 {
		s.mu.Unlock()
		return
	}
	s.seq++
	seq, firstLine := s.seq, s.lines+1
	s.stored += int64(len(data))
	s.lines += bytes.Count(data, []byte{'\n'})
	s.mu.Unlock()

	// Stored outside mu so that writers keep filling the next chunk meanwhile.
	if err := s.sink(s.ctx, s.stepID, seq, firstLine, data); err != nil {
		s.mu.Lock()
		if s.err == nil {
			s.err = err
		}
		s.mu.Unlock()
	}
}

// LogStats describe what a stream stored.
type LogStats struct {
	Bytes     int64 // stored, marker included
	Truncated bool
}

// Close stores the rest and the truncation marker, and reports the first
// storage error.
func (s *LogStream) Close() (LogStats, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.stats(), s.err
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.finished
	s.flush(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats(), s.err
}

func (s *LogStream) stats() LogStats { return LogStats{Bytes: s.stored, Truncated: s.dropped > 0} }

// safeCut returns how much of buf can be masked and stored now: all of it
// except a tail that could be the beginning of a secret (the rest of which
// has not been written yet), moved back to the start of any secret that
// straddles the cut, so that no secret is ever split across two chunks.
func safeCut(buf []byte, secrets []string, maxSec int) int {
	if maxSec == 0 {
		return len(buf)
	}
	cut := len(buf)
	for p := max(len(buf)-(maxSec-1), 0); p < len(buf); p++ {
		if prefixOfAny(buf[p:], secrets) {
			cut = p
			break
		}
	}
	for moved := true; moved; {
		moved = false
		for _, sec := range secrets {
			if c := straddle(buf, sec, cut); c < cut {
				cut, moved = c, true
			}
		}
	}
	return cut
}

// straddle returns the start of an occurrence of sec that begins before cut
// and ends after it, or cut when there is none.
func straddle(buf []byte, sec string, cut int) int {
	for from := max(cut-len(sec)+1, 0); from < cut; {
		i := bytes.Index(buf[from:], []byte(sec))
		if i < 0 || from+i >= cut {
			return cut
		}
		if from+i+len(sec) > cut {
			return from + i
		}
		from += i + 1
	}
	return cut
}

func prefixOfAny(tail []byte, secrets []string) bool {
	for _, sec := range secrets {
		if len(tail) < len(sec) && strings.HasPrefix(sec, string(tail)) {
			return true
		}
	}
	return false
}

func mask(b []byte, secrets []string) []byte { return appendMasked(nil, b, secrets) }

// appendMasked appends b to dst with every secret replaced; without a
// secret in b (the usual case) that is a plain copy.
func appendMasked(dst, b []byte, secrets []string) []byte {
	var masked []byte
	for _, sec := range secrets {
		if masked == nil && !bytes.Contains(b, []byte(sec)) {
			continue
		}
		if masked == nil {
			masked = b
		}
		masked = bytes.ReplaceAll(masked, []byte(sec), []byte(secretMask))
	}
	if masked == nil {
		return append(dst, b...)
	}
	return append(dst, masked...)
}

// MaskString masks secrets in s the way a LogStream masks them in a log,
// for text that reaches the store by another road (test output, messages).
func MaskString(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 && strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, secretMask)
		}
	}
	return s
}
