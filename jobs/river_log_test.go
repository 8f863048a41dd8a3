package jobs

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sentinel-ci/sentinel/store/storetest"
)

type blockArgs struct{}

func (blockArgs) Kind() string { return "test.block" }

// blockWorker holds its job until the job is cancelled.
type blockWorker struct {
	river.WorkerDefaults[blockArgs]
	started chan struct{}
}

func (w *blockWorker) Work(ctx context.Context, _ *river.Job[blockArgs]) error {
	close(w.started)
	<-ctx.Done()
	return ctx.Err()
}

// TestRemoteCancelIsNotAWarning: River warns of every job cancelled
// remotely; for Sentinel that is routine (a push superseding a running run,
// the cancel button), so it is logged at Info, and not at all by a process
// logging warnings only.
func TestRemoteCancelIsNotAWarning(t *testing.T) {
	db := storetest.NewDB(t)
	for _, level := range []slog.Level{slog.LevelWarn, slog.LevelInfo} {
		t.Run(level.String(), func(t *testing.T) {
			ctx := context.Background()
			var log bytes.Buffer // written by River's goroutines, read once the client has stopped
			w := &blockWorker{started: make(chan struct{})}
			workers := river.NewWorkers()
			river.AddWorker(workers, w)
			client, err := NewClient(db, workers, ClientConfig{RunWorkers: 1}, slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: level})))
			if err != nil {
				t.Fatal(err)
			}
			if err := client.Start(ctx); err != nil {
				t.Fatal(err)
			}
			res, err := client.Insert(ctx, blockArgs{}, &river.InsertOpts{Queue: QueueRuns})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-w.started:
			case <-time.After(30 * time.Second):
				t.Fatal("the job did not start")
			}
			if _, err := client.JobCancel(ctx, res.Job.ID); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				j, err := client.JobGet(ctx, res.Job.ID)
				if err != nil {
					t.Fatal(err)
				}
				if j.State == rivertype.JobStateCancelled {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the job is %s, not cancelled", j.State)
				}
			}
			stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := client.Stop(stopCtx); err != nil {
				t.Fatal(err)
			}
			var cancelled []string
			for _, line := range strings.Split(log.String(), "\n") {
				if strings.Contains(line, "job cancelled remotely") {
					cancelled = append(cancelled, line)
				}
			}
			switch {
			case level == slog.LevelWarn && len(cancelled) != 0:
				t.Errorf("a remote cancel logged by a process logging warnings only:\n%s", strings.Join(cancelled, "\n"))
			case level == slog.LevelInfo && (len(cancelled) != 1 || !strings.Contains(cancelled[0], "level=INFO")):
				t.Errorf("want the remote cancel logged once, at INFO; got:\n%s\n(whole log:\n%s)", strings.Join(cancelled, "\n"), log.String())
			}
		})
	}
}
