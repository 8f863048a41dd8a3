package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashWorkerEnv) != "" {
		os.Exit(crashWorkerMain())
	}
	os.Exit(storetest.Main(m))
}

const testInstallation = 42

// harness is a real runner: Postgres, a River client working the runs queue,
// a git smart-HTTP server that wants the installation token, and a runtime.
type harness struct {
	t         testing.TB
	db        *store.DB
	dbURL     string
	client    *river.Client[pgx.Tx]
	rt        runner.Runtime
	cfg       RunnerConfig
	gitRoot   string
	gitURL    string
	repoID    int64 // repository of the last enqueued run
	firstRepo int64 // repository of the first
	repos     atomic.Int64
}

func newHarness(t testing.TB, rt runner.Runtime, start bool) *harness {
	t.Helper()
	h := &harness{t: t, rt: rt, gitRoot: t.TempDir()}
	h.dbURL = storetest.URL(t)
	db, err := store.Open(context.Background(), h.dbURL, 10, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	h.db = db
	if d, ok := rt.(*runner.Docker); ok {
		// Test databases share the daemon and their run ids overlap.
		id, err := runner.InstanceID(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		rt = d.WithInstance(id)
		h.rt = rt
		t.Cleanup(func() { runnertest.RemoveCacheVolumes(t, d, id) })
	}
	srv := runnertest.GitServer(t, h.gitRoot, runnertest.Token)
	h.gitURL = srv.URL
	h.cfg = testRunnerConfig(rt, t.TempDir())
	ctx := context.Background()
	if err := store.UpsertInstallation(ctx, db, store.Installation{ID: testInstallation, AccountLogin: "acme"}); err != nil {
		t.Fatal(err)
	}
	h.client = newTestClient(t, db, h.cfg, start)
	return h
}

// testRunnerConfig is shared with the crash-test subprocess.
func testRunnerConfig(rt runner.Runtime, workDir string) RunnerConfig {
	return RunnerConfig{
		Runtime: rt,
		WorkDir: workDir,
		Token: func(_ context.Context, installationID int64) (string, error) {
			if installationID != testInstallation {
				return "", fmt.Errorf("no token for installation %d", installationID)
			}
			return runnertest.Token, nil
		},
		DefaultLimits: runner.Limits{Memory: 512 << 20, Pids: 512},
		ImageRewrite:  map[string]string{"golang:1.26": runner.LocalImageGo(), "busybox": runner.LocalImageBusybox},
		Log:           runner.LogOptions{FlushInterval: 100 * time.Millisecond},
		Secrets:       testSecretBox(),
	}
}

// testSecretBox seals with a fixed key: tests only.
func testSecretBox() *SecretBox {
	b, err := NewSecretBox([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		panic(err)
	}
	return b
}

// newTestClient registers the run worker, and stand-ins for the workers of
// the jobs a run enqueues (triage and check reporting belong to others).
func newTestClient(t testing.TB, db *store.DB, cfg RunnerConfig, start bool) *river.Client[pgx.Tx] {
	t.Helper()
	return newTestClientID(t, db, cfg, start, "")
}

// newTestClientID is newTestClient with a River client id (a process id).
func newTestClientID(t testing.TB, db *store.DB, cfg RunnerConfig, start bool, id string) *river.Client[pgx.Tx] {
	t.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, &RunExecuteWorker{DB: db, Config: cfg})
	river.AddWorker(workers, river.WorkFunc(func(context.Context, *river.Job[TriageAnalyzeArgs]) error { return nil }))
	river.AddWorker(workers, river.WorkFunc(func(context.Context, *river.Job[ReportCheckArgs]) error { return nil }))
	client, err := NewClient(db, workers, ClientConfig{RunWorkers: 2, ID: id}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if start {
		ctx := context.Background()
		if err := client.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			client.Stop(stopCtx)
		})
	}
	return client
}

// repo creates a repository with one commit of files and returns the run
// fields that point at it.
func (h *harness) repo(files map[string]string) (cloneURL, sha string) {
	h.t.Helper()
	name := "acme/r" + strconv.FormatInt(h.repos.Add(1), 10)
	shas := runnertest.MakeRepo(h.t, h.gitRoot, name, files)
	return h.gitURL + "/" + name + ".git", shas[0]
}

// enqueue creates a run of the commit and its run.execute job in one
// transaction, as the webhook intake does.
func (h *harness) enqueue(cloneURL, sha string) (runID, jobID int64) {
	h.t.Helper()
	return h.enqueueOpts(cloneURL, sha, nil)
}

func (h *harness) enqueueOpts(cloneURL, sha string, opts *river.InsertOpts) (runID, jobID int64) {
	h.t.Helper()
	ctx := context.Background()
	err := h.db.InTx(ctx, func(tx pgx.Tx) error {
		repoID, err := store.UpsertRepository(ctx, tx, store.Repository{FullName: "acme/" + filepath.Base(cloneURL),
			InstallationID: testInstallation, CloneURL: cloneURL})
		if err != nil {
			return err
		}
		h.repoID = repoID
		if h.firstRepo == 0 {
			h.firstRepo = repoID
		}
		runID, _, err = store.InsertRun(ctx, tx, store.NewRun{RepositoryID: repoID, SHA: sha, Branch: "main",
			CloneURL: cloneURL, Trigger: "push"})
		if err != nil {
			return err
		}
		res, err := h.client.InsertTx(ctx, tx, RunExecuteArgs{RunID: runID}, opts)
		if err != nil {
			return err
		}
		jobID = res.Job.ID
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return runID, jobID
}

// waitRun polls until the run reaches a final state.
func (h *harness) waitRun(runID int64, within time.Duration) store.Run {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for {
		run, err := store.GetRun(context.Background(), h.db, runID)
		if err != nil {
			h.t.Fatal(err)
		}
		if store.IsFinalRunState(run.State) {
			return run
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("run %d still %s after %v", runID, run.State, within)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// waitLog polls until some step of the run has logged text.
func (h *harness) waitLog(runID int64, text string, within time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for {
		var n int
		err := h.db.QueryRow(context.Background(), `SELECT count(*) FROM log_chunks c JOIN steps s ON s.id = c.step_id
			WHERE s.run_id = $1 AND position($2::bytea IN c.data) > 0`, runID, []byte(text)).Scan(&n)
		if err != nil {
			h.t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("run %d did not log %q within %v", runID, text, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (h *harness) steps(runID int64) []store.Step {
	h.t.Helper()
	steps, err := store.ListSteps(context.Background(), h.db, runID)
	if err != nil {
		h.t.Fatal(err)
	}
	return steps
}

func (h *harness) stepLog(stepID int64) string {
	h.t.Helper()
	b, err := store.StepLog(context.Background(), h.db, stepID)
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

// jobCount counts River jobs of a kind for a run, in any state.
func (h *harness) jobCount(kind string, runID int64) int {
	h.t.Helper()
	var n int
	if err := h.db.QueryRow(context.Background(),
		`SELECT count(*) FROM river_job WHERE kind = $1 AND (args->>'run_id')::bigint = $2`, kind, runID).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// assertClean checks that nothing of the run is left: containers, workspace.
func (h *harness) assertClean(runID int64) {
	h.t.Helper()
	left, err := h.rt.Leftovers(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	if slices.Contains(left, runID) {
		h.t.Errorf("run %d left containers behind", runID)
	}
	if _, err := os.Stat(filepath.Join(h.cfg.WorkDir, "run-"+strconv.FormatInt(runID, 10))); !os.IsNotExist(err) {
		h.t.Errorf("workspace of run %d not removed (%v)", runID, err)
	}
}
