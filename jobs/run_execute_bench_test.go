package jobs

import (
	"context"
	"os"
	"os/exec"
	"runtime/debug"
	"slices"
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
// with the triage job, until the run is recorded finished) and, as its
// anchor, `docker run --rm IMAGE true`: what Sentinel adds to the bare
// container. The two alternate in blocks (which goes first alternates too),
// five per iteration; each figure is the min/median/max over the blocks, and
// overhead-ratio is the median of each block's ratio.
//
//	go test ./jobs/ -run '^$' -bench RunOverhead -benchtime 1x
func BenchmarkRunOverhead(b *testing.B) {
	rt := runnertest.Docker(b)
	h := newHarness(b, rt, true)
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": "image: busybox\nsteps:\n  - name: noop\n    run: \"true\"\n"})
	ctx := context.Background()
	repoID, err := store.UpsertRepository(ctx, h.db, store.Repository{FullName: "acme/bench", InstallationID: testInstallation, CloneURL: cloneURL})
	if err != nil {
		b.Fatal(err)
	}
	docker := func() time.Duration {
		start := time.Now()
		cmd := exec.Command("docker", "run", "--rm", runner.LocalImageBusybox, "true")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("docker run: %v\n%s", err, out)
		}
		return time.Since(start)
	}
	attempt := 0
	sentinel := func() time.Duration {
		attempt++
		start := time.Now()
		var runID int64
		err := h.db.InTx(ctx, func(tx pgx.Tx) error {
			id, _, err := store.InsertRun(ctx, tx, store.NewRun{RepositoryID: repoID, SHA: sha, CloneURL: cloneURL, Trigger: "api", Attempt: attempt})
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
				return time.Since(start)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}

	const blocks = 5
	var sentinelMs, dockerMs, addedMs, ratio []float64
	for b.Loop() {
		for block := range blocks {
			var s, d time.Duration
			if block%2 == 0 {
				d, s = docker(), sentinel()
			} else {
				s, d = sentinel(), docker()
			}
			sentinelMs, dockerMs = append(sentinelMs, ms(s)), append(dockerMs, ms(d))
			addedMs, ratio = append(addedMs, ms(s-d)), append(ratio, float64(s)/float64(d))
		}
	}
	report := func(name string, v []float64) {
		slices.Sort(v)
		b.ReportMetric(v[0], name+"-min")
		b.ReportMetric(v[len(v)/2], name+"-med")
		b.ReportMetric(v[len(v)-1], name+"-max")
	}
	report("sentinel-ms/run", sentinelMs)
	report("docker-run-ms/run", dockerMs)
	report("added-ms/run", addedMs)
	report("overhead-ratio", ratio)
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
