package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// Drill a: kill -9 of the process running a step (a long sleep in a
// busybox container), N times. Odd trials restart the killed process at
// once (it rescues its own earlier start at start-up); even ones leave it
// dead until the run is over (a live process rescues it when its heartbeat
// goes stale). Each run must finish exactly once (one run row, one triage
// job, one check run, completed) within 2 minutes of the kill, and leave no
// container or workspace behind.
func TestDrillKillWorkerMidStep(t *testing.T) {
	runnertest.Docker(t) // the local busybox image
	trials, lostAfter, sleep := drillSize(10, 2), drillSize(60, 10), drillSize(20, 4)
	d := newDrill(t, storetest.URL(t), fmt.Sprintf("SENTINEL_WORKER_LOST_AFTER=%ds", lostAfter), "SENTINEL_CONCURRENCY=1")
	serve := d.start("serve")
	d.start("worker")
	d.start("worker")
	db := d.openDB()
	ctx := context.Background()
	pipeline := fmt.Sprintf("image: %s\nsteps:\n  - name: work\n    run: echo started; sleep %d; echo done\n", runner.LocalImageBusybox, sleep)

	// serve takes the first run (its client inserts the job and is told at
	// once): a blocker run keeps its one slot busy, so the trials' runs go
	// to the worker processes.
	blockerSHA := d.commit("blocker", map[string]string{".sentinel.yml": fmt.Sprintf(
		"image: %s\nsteps:\n  - name: block\n    run: echo started; sleep 3600\n", runner.LocalImageBusybox)})
	if code := d.deliver(http.DefaultClient, serve, "blocker", d.pushBody("blocker", 999, "main", blockerSHA)); code != http.StatusAccepted {
		t.Fatalf("blocker delivery answered %d", code)
	}
	blocker := d.waitStarted(db, blockerSHA)

	var runIDs []int64
	var worst time.Duration
	t.Logf("drill kill-9: %d trials, SENTINEL_WORKER_LOST_AFTER=%ds, step sleeps %ds", trials, lostAfter, sleep)
	for i := range trials {
		name := fmt.Sprintf("kill%d", i)
		sha := d.commit(name, map[string]string{".sentinel.yml": pipeline})
		if code := d.deliver(http.DefaultClient, serve, "kill-"+name, d.pushBody(name, int64(1000+i), "main", sha)); code != http.StatusAccepted {
			t.Fatalf("trial %d: delivery answered %d", i, code)
		}
		runID := d.waitStarted(db, sha)
		runIDs = append(runIDs, runID)
		var holder int
		if err := db.QueryRow(ctx, `SELECT p.pid FROM runs r JOIN river_job j ON j.id = r.job_id
			JOIN processes p ON p.id = j.attempted_by[array_length(j.attempted_by, 1)] WHERE r.id = $1`, runID).Scan(&holder); err != nil {
			t.Fatalf("trial %d: holder of run %d: %v", i, runID, err)
		}
		victim := d.procByPID(holder)
		restart := i%2 == 1
		victim.kill9()
		killed := time.Now()
		var replacement *drillProc
		if restart {
			replacement = d.start(victim.name)
		}
		run := waitFor(t, 3*time.Minute, fmt.Sprintf("run %d over and its check run completed", runID), func() (store.Run, bool) {
			run, err := store.GetRun(ctx, db, runID)
			return run, err == nil && store.IsFinalRunState(run.State) && d.checkRunsCompleted(sha) >= 1
		})
		took := time.Since(killed)
		worst = max(worst, took)
		if !restart {
			replacement = d.start(victim.name)
		}
		if victim == serve {
			serve = replacement
		}
		var runs, triages int
		db.QueryRow(ctx, `SELECT count(*) FROM runs WHERE sha = $1`, sha).Scan(&runs)
		db.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'triage.analyze' AND (args->>'run_id')::bigint = $1`, runID).Scan(&triages)
		checks := d.checkRuns(sha)
		steps, _ := store.ListSteps(ctx, db, runID)
		how := "heartbeat went stale"
		if restart {
			how = "restarted at once"
		}
		t.Logf("trial %d: killed %s (pid %d, %s); run %d %s after %v; runs %d, triage jobs %d, check runs %d; steps %s",
			i, victim.name, holder, how, runID, run.State, took.Round(100*time.Millisecond), runs, triages, len(checks), stepSummary(steps))
		if took > 2*time.Minute {
			t.Errorf("trial %d: run over %v after the kill, want within 2m", i, took)
		}
		if run.State != store.RunSucceeded {
			t.Errorf("trial %d: run %s (%s), want succeeded by its one retry", i, run.State, run.Error)
		}
		if runs != 1 || triages != 1 || len(checks) != 1 {
			t.Errorf("trial %d: %d runs, %d triage jobs, %d check runs; want exactly 1 of each", i, runs, triages, len(checks))
		}
		if len(steps) == 0 || steps[0].State != "errored" || !strings.HasPrefix(steps[0].Error, "worker lost") {
			t.Errorf("trial %d: the killed step is not errored \"worker lost\": %s", i, stepSummary(steps))
		}
	}

	d.cancelRun(serve, blocker)
	waitFor(t, time.Minute, "blocker cancelled", func() (bool, bool) {
		run, err := store.GetRun(ctx, db, blocker)
		return true, err == nil && run.State == store.RunCancelled
	})
	// Leftovers: the rescuer removed them; wait a sweep or two for reaping.
	var containers []int64
	var workspaces []string
	for deadline := time.Now().Add(time.Duration(lostAfter) * time.Second); ; time.Sleep(time.Second) {
		containers, workspaces = d.leftovers(db)
		if len(containers)+len(workspaces) == 0 || time.Now().After(deadline) {
			break
		}
	}
	orphans := 0
	for _, id := range containers {
		if slices.Contains(runIDs, id) {
			orphans++
		}
	}
	t.Logf("drill kill-9: %d trials, slowest run over %v after its kill; orphan containers %d, orphan workspaces %d",
		trials, worst.Round(100*time.Millisecond), orphans, len(workspaces))
	if orphans != 0 || len(workspaces) != 0 {
		t.Errorf("leftovers: containers of runs %v, workspaces %v", containers, workspaces)
	}
	if v := d.fake.Violations(); len(v) != 0 {
		t.Errorf("requests that violate GitHub's OpenAPI description: %+v", v)
	}
}

// waitStarted waits until the run of sha logged "started" and returns its id.
func (d *drill) waitStarted(db *store.DB, sha string) int64 {
	d.t.Helper()
	return waitFor(d.t, 60*time.Second, "run of "+sha+" started", func() (int64, bool) {
		var id int64
		err := db.QueryRow(context.Background(), `SELECT r.id FROM runs r JOIN steps s ON s.run_id = r.id JOIN log_chunks c ON c.step_id = s.id
			WHERE r.sha = $1 AND position('started'::bytea IN c.data) > 0 LIMIT 1`, sha).Scan(&id)
		return id, err == nil
	})
}

// procByPID finds the drill's process with pid.
func (d *drill) procByPID(pid int) *drillProc {
	d.t.Helper()
	for _, p := range d.procs {
		if !p.exited() && p.pid() == pid {
			return p
		}
	}
	d.t.Fatalf("no live drill process has pid %d", pid)
	return nil
}

// checkRuns returns the fake's check runs of sha.
func (d *drill) checkRuns(sha string) []string {
	var out []string
	for _, c := range d.fake.CheckRuns() {
		if c.HeadSHA == sha {
			out = append(out, c.Status+"/"+c.Conclusion)
		}
	}
	return out
}

func (d *drill) checkRunsCompleted(sha string) int {
	n := 0
	for _, c := range d.checkRuns(sha) {
		if strings.HasPrefix(c, "completed/") {
			n++
		}
	}
	return n
}

func stepSummary(steps []store.Step) string {
	var parts []string
	for _, s := range steps {
		parts = append(parts, fmt.Sprintf("%s#%d=%s", s.Name, s.Attempt, s.State))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// waitFor polls f until it says done, failing the test after within.
func waitFor[T any](t *testing.T, within time.Duration, what string, f func() (T, bool)) T {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		v, ok := f()
		if ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
