package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// progressEvery is the longest the demo stays silent: under the 10 s a
// newcomer waits before wondering whether it hangs.
const progressEvery = 9 * time.Second

// progress is the demo's output: its lines, and a line saying what it is
// doing and how far along whenever nothing was printed for progressEvery
// (building images, waiting for runs), so that a first run never looks hung.
type progress struct {
	mu     sync.Mutex
	out    io.Writer
	start  time.Time
	last   time.Time     // when a line was last printed
	what   string        // set by setStatus
	status func() string // when set, what the demo is doing (overrides what)
}

func newProgress(out io.Writer) *progress {
	now := time.Now()
	return &progress{out: out, start: now, last: now}
}

func (p *progress) say(format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, format+"\n", a...)
	p.last = time.Now()
}

// setStatus says what the demo is doing now, for the next progress line.
func (p *progress) setStatus(what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.what, p.status = what, nil
}

// follow makes status the source of the progress lines.
func (p *progress) follow(status func() string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status = status
}

// tick prints the progress line when the demo has been silent too long.
func (p *progress) tick(now time.Time) {
	p.mu.Lock()
	status, what := p.status, p.what
	due := now.Sub(p.last) >= progressEvery
	p.mu.Unlock()
	if !due {
		return
	}
	if status != nil {
		what = status() // outside the lock: it may read the database
	}
	p.say("  … %s (%s elapsed)", what, now.Sub(p.start).Round(time.Second))
}

// run ticks until ctx ends.
func (p *progress) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			p.tick(now)
		}
	}
}
