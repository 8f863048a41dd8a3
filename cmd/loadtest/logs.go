package main

import (
	"bytes"
	"fmt"
	"maps"
	"strings"
	"sync"
)

// problemLog counts, as a log streams in, the lines that say something went
// wrong, by kind, and keeps the first of each kind verbatim. A p99 of seconds beside
// a fine p50 is explained there, not in the latencies: a deadlock holds an
// intake batch for deadlock_timeout before PostgreSQL aborts one side.
type problemLog struct {
	mu      sync.Mutex
	kinds   []problemKind
	counts  map[string]int
	first   map[string]string // kind → its first line
	partial []byte            // the line not yet ended
}

// problemKind is a kind of line, told by a marker it contains; a line is
// counted under the first kind it matches.
type problemKind struct{ name, marker string }

var (
	serveProblems = []problemKind{{"errors", "level=ERROR"}, {"warnings", "level=WARN"}}
	// PostgreSQL logs lock waits past deadlock_timeout only with
	// log_lock_waits, which the load test turns on in its own cluster.
	postgresProblems = []problemKind{
		{"deadlocks", "deadlock detected"},
		{"lock waits past deadlock_timeout", "still waiting for"},
		{"checkpoints forced by WAL volume", "checkpoints are occurring too frequently"},
		{"errors", "ERROR:"},
		{"fatal", "FATAL:"},
	}
)

func newProblemLog(kinds []problemKind) *problemLog {
	return &problemLog{kinds: kinds, counts: map[string]int{}, first: map[string]string{}}
}

// Write takes the log as written, lines split anywhere across calls.
func (l *problemLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	// A line longer than any log line is not held forever.
	if len(l.partial) > 64<<10 {
		l.line(string(l.partial))
		l.partial = nil
	}
	return len(p), nil
}

func (l *problemLog) line(s string) {
	for _, k := range l.kinds {
		if strings.Contains(s, k.marker) {
			if l.counts[k.name]++; l.counts[k.name] == 1 {
				l.first[k.name] = strings.TrimSpace(s)
			}
			return
		}
	}
}

// summary is "n name, …" for every kind, zeros included, so that a clean
// log says so.
func (l *problemLog) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var parts []string
	for _, k := range l.kinds {
		parts = append(parts, fmt.Sprintf("%d %s", l.counts[k.name], k.name))
	}
	return strings.Join(parts, ", ")
}

// snapshot is a copy of what was counted so far: the report's, unchanged
// by what serve logs as it stops.
func (l *problemLog) snapshot() *problemLog {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &problemLog{kinds: l.kinds, counts: maps.Clone(l.counts), first: maps.Clone(l.first)}
}

// firstLines is the first line of each kind seen, in the kinds' order (an
// error before the warnings that may follow from it).
func (l *problemLog) firstLines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var lines []string
	for _, k := range l.kinds {
		if line, ok := l.first[k.name]; ok {
			lines = append(lines, line)
		}
	}
	return lines
}
