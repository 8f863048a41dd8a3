package jobs

import (
	"context"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
)

// BenchmarkRunOverhead runs a one-step no-op pipeline through the whole job
// (run row, River job, checkout over HTTP, step in Docker, logs, final state
// with the triage job, until the run is recorded finished) and, in the same loop, `docker run --rm IMAGE true`.
// It reports both and their ratio: what Sentinel adds to the bare container.
func BenchmarkRunOverhead(b *testing.B) {
	rt := runnertest.Docker(b)
	h := newHarness(b, rt, true)
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": "image: busybox\nsteps:\n  - name: noop\n    run: \"true\"\n"})
	ctx := context.Background()
	repoID, err := store.UpsertRepository(ctx, h.db, store.Repository{FullName: "acme/bench", InstallationID: testInstallation, CloneURL: cloneURL})
	if err != nil {
		b.Fatal(err)
	}

	var sentinel, docker time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		cmd := exec.Command("docker", "run", "--rm", runner.LocalImageBusybox, "true")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("docker run: %v\n%s", err, out)
		}
		docker += time.Since(start)

		start = time.Now()
		var runID int64
		err := h.db.InTx(ctx, func(tx pgx.Tx) error {
			id, _, err := store.InsertRun(ctx, tx, store.NewRun{RepositoryID: repoID, SHA: sha, CloneURL: cloneURL, Trigger: "api", Attempt: i + 1})
			if err != nil {
				return err
			}
			runID = id
			_, err = h.client.InsertTx(ctx, tx, RunExecuteArgs{RunID: id}, nil)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		// The end is when the run is recorded finished (what a user sees),
		// found by a tight poll: 2 ms of resolution.
		for {
			run, err := store.GetRun(ctx, h.db, runID)
			if err != nil {
				b.Fatal(err)
			}
			if store.IsFinalRunState(run.State) {
				if run.State != store.RunSucceeded {
					b.Fatalf("run %s: %s", run.State, run.Error)
				}
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		sentinel += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(float64(sentinel.Milliseconds())/n, "sentinel-ms/run")
	b.ReportMetric(float64(docker.Milliseconds())/n, "docker-run-ms/run")
	b.ReportMetric(float64(sentinel)/float64(docker), "overhead-ratio")
	b.ReportMetric(float64((sentinel-docker).Milliseconds())/n, "added-ms/run")
}

// BenchmarkStepLog100MB runs a step printing 100 MB through the whole job
// into Postgres (capped at the default 32 MiB per step) and reports the
// process's peak RSS (VmHWM) before and after: streaming must not hold the
// output in memory.
func BenchmarkStepLog100MB(b *testing.B) {
	rt := runnertest.Docker(b)
	h := newHarness(b, rt, true)
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: busybox
steps:
  - name: loud
    run: yes 'a line of step output that is sixty-four bytes long, more or less' | head -c 104857600
`})
	ctx := context.Background()
	repoID, err := store.UpsertRepository(ctx, h.db, store.Repository{FullName: "acme/loud", InstallationID: testInstallation, CloneURL: cloneURL})
	if err != nil {
		b.Fatal(err)
	}
	before := resetPeakRSS(b)
	b.ResetTimer()
	for i := range b.N {
		var runID int64
		err := h.db.InTx(ctx, func(tx pgx.Tx) error {
			id, _, err := store.InsertRun(ctx, tx, store.NewRun{RepositoryID: repoID, SHA: sha, CloneURL: cloneURL, Trigger: "api", Attempt: i + 1})
			runID = id
			if err == nil {
				_, err = h.client.InsertTx(ctx, tx, RunExecuteArgs{RunID: id}, nil)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		run := h.waitRun(runID, 5*time.Minute)
		steps := h.steps(runID)
		if run.State != store.RunSucceeded || !steps[0].LogTruncated || steps[0].LogBytes < 32<<20 {
			b.Fatalf("run %s %q, step %+v", run.State, run.Error, steps[0])
		}
	}
	b.SetBytes(100 << 20)
	b.ReportMetric(float64(before)/1024, "rss-before-MiB")
	b.ReportMetric(float64(peakRSS(b))/1024, "peak-rss-MiB")
}

// resetPeakRSS returns to the OS the memory earlier benchmarks of the
// process freed and restarts the kernel's high-water mark from the current
// RSS, so that the peak read afterwards is this benchmark's own; it returns
// that starting RSS in KiB.
func resetPeakRSS(b *testing.B) int64 {
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatalf("resetting the peak RSS: %v", err)
	}
	return peakRSS(b)
}

// peakRSS is the process's peak resident set size in KiB.
func peakRSS(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatalf("peak RSS: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	b.Fatal("peak RSS: no VmHWM in /proc/self/status")
	return 0
}
