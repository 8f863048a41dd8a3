package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A problem line is counted under the first kind it matches, whatever the
// writes it arrived in, and the first of each kind is kept as written.
func TestProblemLogCountsLinesSplitAcrossWrites(t *testing.T) {
	l := newProblemLog(postgresProblems)
	log := "2026-12-06 12:30:06.143 UTC [18204] ERROR:  deadlock detected\n" +
		"2026-12-06 12:30:06.150 UTC [18205] LOG:  process 18205 still waiting for ShareLock on transaction 812 after 1000.123 ms\n" +
		"2026-12-06 12:30:07.001 UTC [18204] ERROR:  duplicate key value violates unique constraint \"repositories_full_name_key\"\n" +
		"2026-12-06 12:30:08.000 UTC [17000] LOG:  checkpoint starting: time\n" +
		"2026-12-06 12:30:09.000 UTC [18206] ERROR:  canceling statement due to user request\n" +
		"2026-12-06 12:30:10.000 UTC [18207] FATAL:  terminating connection due to administrator command" // no newline: the file's end
	for i := 0; i < len(log); i += 7 {
		l.Write([]byte(log[i:min(i+7, len(log))])) //nolint:errcheck // never fails
	}
	l.Write([]byte("\n")) //nolint:errcheck // never fails
	for name, want := range map[string]int{"deadlocks": 1, "lock waits past deadlock_timeout": 1, "errors": 2, "fatal": 1, "checkpoints forced by WAL volume": 0} {
		if got := l.count(name); got != want {
			t.Errorf("%s: %d, want %d", name, got, want)
		}
	}
	first := l.firstLines()
	if len(first) != 4 || !strings.HasSuffix(first[0], "ERROR:  deadlock detected") || !strings.Contains(first[1], "still waiting for") ||
		!strings.Contains(first[2], "repositories_full_name_key") || !strings.Contains(first[3], "FATAL:") {
		t.Errorf("first lines kept: %q", first)
	}
	if got, want := l.summary(), "1 deadlocks, 1 lock waits past deadlock_timeout, 0 checkpoints forced by WAL volume, 2 errors, 1 fatal"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	snap := l.snapshot()
	l.Write([]byte("x ERROR: later\n")) //nolint:errcheck // never fails
	if snap.count("errors") != 2 {
		t.Errorf("the snapshot counted a line written after it")
	}
}

// The cluster the load test started has its log read; a server of the
// user's has none to read.
func TestPostgresProblemsReadTheClusterLog(t *testing.T) {
	file := filepath.Join(t.TempDir(), "server.log")
	if err := os.WriteFile(file, []byte("LOG:  database system is ready\nERROR:  deadlock detected"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := (&database{logFile: file}).postgresProblems()
	if err != nil || l.count("deadlocks") != 1 {
		t.Errorf("%v, %v", l, err)
	}
	if l, err := (&database{}).postgresProblems(); l != nil || err != nil {
		t.Errorf("a server of the user's: %v, %v", l, err)
	}
}

// count is how many lines of kind name were seen (tests only).
func (l *problemLog) count(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[name]
}
