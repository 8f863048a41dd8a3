package jobs

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
)

// BenchmarkRunOverhead runs a one-step no-op pipeline through the whole job
// (run row, River job, checkout over HTTP, step in Docker, logs, final state
// with the triage job, until the run is recorded finished) and, in the same loop, `docker run --rm IMAGE true`.
// It reports both and their ratio: what Sentinel adds to the bare container.
func BenchmarkRunOverhead(b *testing.B) {
	rt := testDocker(b)
	h := newHarness(b, rt, true)
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": "image: busybox\nsteps:\n  - name: noop\n    run: \"true\"\n"})
	ctx := context.Background()
	repoID, err := store.UpsertRepository(ctx, h.db.Pool, store.Repository{FullName: "acme/bench", InstallationID: testInstallation, CloneURL: cloneURL})
	if err != nil {
		b.Fatal(err)
	}

	var sentinel, docker time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		cmd := exec.Command("docker", "run", "--rm", TestImageBusybox, "true")
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
			run, err := store.GetRun(ctx, h.db.Pool, runID)
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
