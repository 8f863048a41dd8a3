package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

type stepRow struct {
	Name, State string
	Attempt     int
	ExitCode    int // -1 when not recorded
	OOM         bool
}

func stepRows(steps []store.Step) []stepRow {
	var out []stepRow
	for _, s := range steps {
		code := -1
		if s.ExitCode != nil {
			code = *s.ExitCode
		}
		out = append(out, stepRow{s.Name, string(s.State), s.Attempt, code, s.OOMKilled})
	}
	return out
}

// TestRunExecute runs whole jobs: checkout over HTTP with the token, the
// pipeline in Docker, logs and states in Postgres, the triage job enqueued
// with the final state.
func TestRunExecute(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, true)
	tests := []struct {
		name     string
		files    map[string]string
		state    store.RunState
		category triage.Category
		errHas   string
		steps    []stepRow
		logs     map[int]string // step index → text its log contains
	}{
		{
			name: "passing and failing steps",
			files: map[string]string{".sentinel.yml": `image: busybox
quarantine: [example.com/m.TestFlaky]
incidents: { after: 5, within: 2h }
steps:
  - name: hello
    run: echo "hello from $SENTINEL_SHA" && cat data.txt
  - name: broken
    run: echo about to fail >&2; exit 2
  - name: never
    run: echo unreachable
`, "data.txt": "checked out\n"},
			state:  store.RunFailed,
			errHas: `step "broken" exited with code 2`,
			steps:  []stepRow{{"hello", "succeeded", 1, 0, false}, {"broken", "failed", 1, 2, false}, {"never", "skipped", 1, -1, false}},
			logs:   map[int]string{0: "checked out\n", 1: "about to fail\n"},
		},
		{
			name: "step timeout",
			files: map[string]string{".sentinel.yml": `image: busybox
steps:
  - name: slow
    run: echo started; sleep 60
    timeout: 1s
`},
			state: store.RunTimedOut, category: triage.CategoryTimeout, errHas: `step "slow" exceeded its 1s timeout`,
			steps: []stepRow{{"slow", "timed_out", 1, -1, false}},
			logs:  map[int]string{0: "started\n"},
		},
		{
			name: "run timeout",
			files: map[string]string{".sentinel.yml": `image: busybox
timeout: 2s
steps:
  - name: slow
    run: sleep 60
  - name: after
    run: "true"
`},
			state: store.RunTimedOut, category: triage.CategoryTimeout, errHas: "run timed out",
			steps: []stepRow{{"slow", "timed_out", 1, -1, false}, {"after", "skipped", 1, -1, false}},
		},
		{
			name: "memory limit",
			files: map[string]string{".sentinel.yml": `image: busybox
limits: { memory: 32m }
steps:
  - name: hog
    run: dd if=/dev/zero of=/dev/null bs=256M count=1
`},
			state: store.RunFailed, category: triage.CategoryOOM, errHas: "out of memory",
			steps: []stepRow{{"hog", "failed", 1, 137, true}},
		},
		{
			name: "network none",
			files: map[string]string{".sentinel.yml": `image: busybox
steps:
  - name: resolve
    run: nslookup example.com
    network: none
`},
			state: store.RunFailed, errHas: `step "resolve" exited`,
			steps: []stepRow{{"resolve", "failed", 1, 1, false}},
		},
		{
			name: "broken pipeline file",
			files: map[string]string{".sentinel.yml": `image: busybox
steps:
  - name: a
    run: "true"
    timeout: soon
`},
			state: store.RunFailed, category: triage.CategoryConfiguration,
			errHas: `.sentinel.yml line 5: bad duration "soon"`,
		},
		{
			name:  "no pipeline and nothing to detect",
			files: map[string]string{"README": "hi\n"},
			state: store.RunFailed, category: triage.CategoryConfiguration, errHas: "no .sentinel.yml",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cloneURL, sha := h.repo(tc.files)
			runID, _ := h.enqueue(cloneURL, sha)
			run := h.waitRun(runID, 2*time.Minute)
			if run.State != tc.state || run.Category != tc.category || !strings.Contains(run.Error, tc.errHas) {
				t.Errorf("run %s/%s %q, want %s/%s containing %q", run.State, run.Category, run.Error, tc.state, tc.category, tc.errHas)
			}
			steps := h.steps(runID)
			if diff := cmp.Diff(tc.steps, stepRows(steps)); diff != "" {
				t.Errorf("steps (-want +got)\n%s", diff)
			}
			for i, text := range tc.logs {
				if log := h.stepLog(steps[i].ID); !strings.Contains(log, text) {
					t.Errorf("step %d log %q does not contain %q", i, log, text)
				}
			}
			if n := h.jobCount("triage.analyze", runID); n != 1 {
				t.Errorf("%d triage jobs, want 1", n)
			}
			if n := h.jobCount("report.check", runID); n != 1 {
				t.Errorf("%d in_progress reports, want 1", n)
			}
			h.assertClean(runID)
		})
	}
	// The first case's file spoke for its repository's default branch.
	pol, err := store.GetRepositoryPolicy(context.Background(), h.db, h.firstRepo)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"example.com/m.TestFlaky"}, pol.Quarantine); diff != "" || pol.IncidentsAfter != 5 || pol.IncidentsWithin != 2*time.Hour {
		t.Errorf("policy %+v (-want +got quarantine)\n%s", pol, diff)
	}
}

// TestRunExecuteTokenStaysOut checks that the installation token reaches
// neither a step's environment nor its workspace.
func TestRunExecuteTokenStaysOut(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, true)
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: busybox
steps:
  - name: look
    run: env; cat .git/config; grep -r x-access-token .git && echo FOUND || echo clean
`})
	runID, _ := h.enqueue(cloneURL, sha)
	if run := h.waitRun(runID, time.Minute); run.State != store.RunSucceeded {
		t.Fatalf("run %s: %s", run.State, run.Error)
	}
	log := h.stepLog(h.steps(runID)[0].ID)
	if strings.Contains(log, runnertest.Token) || strings.Contains(log, "FOUND") || !strings.Contains(log, "clean") {
		t.Errorf("token visible to the step:\n%s", log)
	}
}

// TestRunExecuteCancel cancels a running run through River, as the
// dashboard and a superseding push do.
func TestRunExecuteCancel(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, true)
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: busybox
steps:
  - name: long
    run: echo started; sleep 120
`})
	runID, jobID := h.enqueue(cloneURL, sha)
	h.waitLog(runID, "started", time.Minute)
	start := time.Now()
	if _, err := h.client.JobCancel(context.Background(), jobID); err != nil {
		t.Fatal(err)
	}
	run := h.waitRun(runID, 30*time.Second)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("cancellation took %v", took)
	}
	if run.State != store.RunCancelled {
		t.Errorf("run %s (%s), want cancelled", run.State, run.Error)
	}
	if diff := cmp.Diff([]stepRow{{"long", "cancelled", 1, -1, false}}, stepRows(h.steps(runID))); diff != "" {
		t.Errorf("steps (-want +got)\n%s", diff)
	}
	h.assertClean(runID)
}

// TestRunExecuteSuperseded: a newer push marks the running run cancelled and
// cancels its job in one transaction (as the intake does); the runner kills
// the step within seconds and leaves nothing behind.
func TestRunExecuteSuperseded(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, true)
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: busybox
steps:
  - name: long
    run: echo started; sleep 120
`})
	runID, jobID := h.enqueue(cloneURL, sha)
	h.waitLog(runID, "started", time.Minute)
	ctx := context.Background()
	start := time.Now()
	err := h.db.InTx(ctx, func(tx pgx.Tx) error {
		newer, _, err := store.InsertRun(ctx, tx, store.NewRun{RepositoryID: h.repoID, SHA: strings.Repeat("b", 40), Branch: "main", Trigger: "push"})
		if err != nil {
			return err
		}
		old, err := store.SupersedeRunsBatch(ctx, tx, []store.Supersession{{RepositoryID: h.repoID, Branch: "main", NewRunID: newer}}, nil)
		if err != nil {
			return err
		}
		for _, o := range old {
			if _, err := h.client.JobCancelTx(ctx, tx, o.JobID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The run is already cancelled; the worker is done when its job is.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var state string
		if err := h.db.QueryRow(ctx, `SELECT state FROM river_job WHERE id = $1`, jobID).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state != "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("job still running 30s after the run was superseded")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("stopping took %v", took)
	}
	run := h.waitRun(runID, time.Second)
	if run.State != store.RunCancelled || run.SupersededBy == 0 {
		t.Errorf("run %s superseded by %d", run.State, run.SupersededBy)
	}
	if diff := cmp.Diff([]stepRow{{"long", "cancelled", 1, -1, false}}, stepRows(h.steps(runID))); diff != "" {
		t.Errorf("steps (-want +got)\n%s", diff)
	}
	h.assertClean(runID)
}
