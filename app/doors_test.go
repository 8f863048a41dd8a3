package app

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// One test per action; each case is one behaviour, driven through every
// door the action has (see doors_helpers_test.go).

func TestRerunThroughEveryDoor(t *testing.T) {
	t.Parallel()
	d := newDoorServer(t)
	attempts := func(t *testing.T, d *doorServer, id int64, state string) int {
		return d.count(t, `SELECT count(*) FROM runs r JOIN runs prev ON prev.sha = r.sha
			WHERE prev.id = $1 AND r.attempt = 2 AND r.state = $2 AND (r.job_id IS NOT NULL) = ($2 = 'queued')`, id, state)
	}
	testDoors(t, d, []door{formDoor("/runs/%d/rerun"), apiDoor("/api/runs/%d/rerun", "{}"), buttonDoor("rerun_failed")}, []doorCase{
		{name: "failed run", setup: func(t *testing.T, d *doorServer) int64 { return d.run(t, "failed") }, want: http.StatusOK,
			check: func(t *testing.T, d *doorServer, door string, id int64) {
				if n := attempts(t, d, id, "queued"); n != 1 {
					t.Errorf("queued attempts 2 with their job: %d", n)
				}
				var next int64
				d.DB.QueryRow(t.Context(), `SELECT r.id FROM runs r JOIN runs prev ON prev.sha = r.sha WHERE prev.id = $1 AND r.attempt = 2`, id).Scan(&next)
				d.auditedBy(t, door, "run.rerun", next)
				// The form and the API re-run whole unless asked; the button is "Re-run failed".
				wantOf := map[string]int64{"button": id}[door]
				if of := d.count(t, `SELECT COALESCE(failed_only_of, 0) FROM runs WHERE id = $1`, next); int64(of) != wantOf {
					t.Errorf("attempt 2 re-runs the failures of run %d, want %d", of, wantOf)
				}
			}},
		{name: "run awaiting approval is approved, not re-run",
			setup: func(t *testing.T, d *doorServer) int64 { return d.run(t, "awaiting_approval") }, want: http.StatusConflict,
			check: func(t *testing.T, d *doorServer, door string, id int64) {
				if n := d.count(t, `SELECT count(*) FROM runs r JOIN runs prev ON prev.sha = r.sha WHERE prev.id = $1 AND r.attempt = 2`, id); n != 0 {
					t.Errorf("a run awaiting approval was re-run")
				}
				// The refused press is recorded all the same.
				if n := d.count(t, `SELECT count(*) FROM deliveries WHERE outcome LIKE 'refused: run ' || $1::bigint || ' awaits approval%'`, id); door == "button" && n != 1 {
					t.Errorf("deliveries recorded as refused: %d", n)
				}
			}},
		{name: "unknown run (a button on a check run Sentinel does not know is ignored)",
			setup: func(*testing.T, *doorServer) int64 { return noSuchID }, want: http.StatusNotFound,
			wantBy: map[string]int{"button": http.StatusOK}},
	})
}

// TestRerunFailedOnlyThroughEveryDoor: "Re-run failed tests" (the form's
// failed_only, the API's {"failed_only": true}, the check run's button)
// makes attempt 2 re-run the failures of the run, through the fork gate.
func TestRerunFailedOnlyThroughEveryDoor(t *testing.T) {
	t.Parallel()
	d := newDoorServer(t)
	attempt2 := func(t *testing.T, d *doorServer, id int64) (state string, of int) {
		d.DB.QueryRow(t.Context(), `SELECT r.state, COALESCE(r.failed_only_of, 0) FROM runs r JOIN runs prev ON prev.sha = r.sha
			WHERE prev.id = $1 AND r.attempt = 2`, id).Scan(&state, &of)
		return state, of
	}
	doors := []door{formDoor("/runs/%d/rerun", "failed_only", "1"), apiDoor("/api/runs/%d/rerun", `{"failed_only": true}`), buttonDoor("rerun_failed")}
	testDoors(t, d, doors, []doorCase{
		{name: "failed run", setup: func(t *testing.T, d *doorServer) int64 { return d.run(t, "failed") }, want: http.StatusOK,
			check: func(t *testing.T, d *doorServer, door string, id int64) {
				if st, of := attempt2(t, d, id); st != "queued" || int64(of) != id {
					t.Errorf("attempt 2 is %q re-running the failures of %d, want queued re-running %d", st, of, id)
				}
			}},
		{name: "a fork's failed run awaits approval again",
			setup: func(t *testing.T, d *doorServer) int64 {
				id := d.run(t, "failed")
				if _, err := d.DB.Exec(t.Context(), `UPDATE runs SET fork = true, trigger = 'pull_request', pr_number = 7, head_repo = 'stranger/app' WHERE id = $1`, id); err != nil {
					t.Fatal(err)
				}
				return id
			}, want: http.StatusOK,
			check: func(t *testing.T, d *doorServer, door string, id int64) {
				if st, of := attempt2(t, d, id); st != "awaiting_approval" || int64(of) != id {
					t.Errorf("attempt 2 is %q re-running the failures of %d, want awaiting_approval re-running %d", st, of, id)
				}
				if n := d.count(t, `SELECT count(*) FROM river_job WHERE kind = 'run.execute' AND (args->>'run_id')::bigint IN
					(SELECT r.id FROM runs r JOIN runs prev ON prev.sha = r.sha WHERE prev.id = $1 AND r.attempt = 2)`, id); n != 0 {
					t.Errorf("the fork's re-run was queued before approval")
				}
			}},
		{name: "a run that succeeded has no failures to re-run",
			setup: func(t *testing.T, d *doorServer) int64 { return d.run(t, "succeeded") }, want: http.StatusConflict,
			check: func(t *testing.T, d *doorServer, door string, id int64) {
				if st, _ := attempt2(t, d, id); st != "" {
					t.Errorf("a succeeded run got a failed-only attempt 2 (%s)", st)
				}
			}},
		{name: "a running run has not failed yet",
			setup: func(t *testing.T, d *doorServer) int64 { return d.run(t, "running") }, want: http.StatusConflict},
	})
}

func TestCancelThroughEveryDoor(t *testing.T) {
	t.Parallel()
	d := newDoorServer(t)
	testDoors(t, d, []door{formDoor("/runs/%d/cancel"), apiDoor("/api/runs/%d/cancel", "{}")}, []doorCase{
		{name: "running run", setup: func(t *testing.T, d *doorServer) int64 { return d.run(t, "running") }, want: http.StatusOK,
			check: func(t *testing.T, d *doorServer, door string, id int64) {
				if st := d.str(t, `SELECT state FROM runs WHERE id = $1`, id); st != "cancelled" {
					t.Errorf("run is %s", st)
				}
				if n := d.count(t, `SELECT count(*) FROM river_job WHERE kind = 'report.check' AND args->>'phase' = 'completed'
					AND (args->>'run_id')::bigint = $1`, id); n != 1 {
					t.Errorf("completed check reports: %d", n)
				}
				d.auditedBy(t, door, "run.cancel", id)
			}},
		{name: "finished run", setup: func(t *testing.T, d *doorServer) int64 { return d.run(t, "succeeded") }, want: http.StatusConflict,
			check: func(t *testing.T, d *doorServer, door string, id int64) {
				if st := d.str(t, `SELECT state FROM runs WHERE id = $1`, id); st != "succeeded" {
					t.Errorf("run is %s", st)
				}
			}},
		{name: "unknown run", setup: func(*testing.T, *doorServer) int64 { return noSuchID }, want: http.StatusNotFound},
	})
}

func TestApproveThroughEveryDoor(t *testing.T) {
	t.Parallel()
	d := newDoorServer(t)
	testDoors(t, d, []door{formDoor("/runs/%d/approve"), apiDoor("/api/runs/%d/approve", "{}")}, []doorCase{
		{name: "run awaiting approval", setup: func(t *testing.T, d *doorServer) int64 { return d.run(t, "awaiting_approval") },
			want: http.StatusOK, check: func(t *testing.T, d *doorServer, door string, id int64) {
				if n := d.count(t, `SELECT count(*) FROM runs r JOIN river_job j ON j.id = r.job_id
					WHERE r.id = $1 AND r.state = 'queued' AND j.kind = 'run.execute'`, id); n != 1 {
					t.Errorf("the approved run is not queued with its run.execute job")
				}
				d.auditedBy(t, door, "run.approve", id)
			}},
		{name: "queued run", setup: func(t *testing.T, d *doorServer) int64 { return d.run(t, "queued") }, want: http.StatusConflict,
			check: func(t *testing.T, d *doorServer, door string, id int64) {
				if n := d.count(t, `SELECT count(*) FROM river_job WHERE (args->>'run_id')::bigint = $1`, id); n != 0 {
					t.Errorf("jobs queued for a run that was not approved: %d", n)
				}
			}},
		{name: "unknown run", setup: func(*testing.T, *doorServer) int64 { return noSuchID }, want: http.StatusNotFound},
	})
}

// quarantined checks a test's quarantine: owner, source and an expiry in
// about days days.
func quarantined(t *testing.T, d *doorServer, id int64, owner, source string, days int) {
	t.Helper()
	var state, gotOwner, gotSource string
	var until *time.Time
	if err := d.DB.QueryRow(t.Context(), `SELECT state, quarantine_owner, quarantine_source, quarantine_until FROM tests WHERE id = $1`, id).
		Scan(&state, &gotOwner, &gotSource, &until); err != nil {
		t.Fatal(err)
	}
	want := time.Now().Add(time.Duration(days) * 24 * time.Hour)
	if state != "quarantined" || gotOwner != owner || gotSource != source || until == nil ||
		until.Before(want.Add(-time.Hour)) || until.After(want.Add(time.Minute)) {
		t.Errorf("test is %s by %q from %q until %v; want quarantined by %q from %q for %d days", state, gotOwner, gotSource, until, owner, source, days)
	}
}

func TestQuarantineThroughEveryDoor(t *testing.T) {
	t.Parallel()
	d := newDoorServer(t)
	source := map[string]string{"form": "dashboard", "api": "api"}
	// Neither door names an end: the quarantine lasts jobs.DefaultQuarantineFor.
	testDoors(t, d, []door{formDoor("/flaky/%d/quarantine", "owner", "alice", "reason", "races"),
		apiDoor("/api/flaky/%d/quarantine", `{"owner": "alice", "reason": "races"}`)}, []doorCase{
		{name: "flaky test", setup: func(t *testing.T, d *doorServer) int64 { return d.test(t, "flaky") }, want: http.StatusOK,
			check: func(t *testing.T, d *doorServer, door string, id int64) {
				quarantined(t, d, id, "alice", source[door], 14)
				d.auditedBy(t, door, "test.quarantine", id)
			}},
		{name: "unknown test", setup: func(*testing.T, *doorServer) int64 { return noSuchID }, want: http.StatusNotFound},
	})
	testDoors(t, d, []door{formDoor("/flaky/%d/quarantine", "days", "3"), apiDoor("/api/flaky/%d/quarantine", `{"for": "72h"}`)}, []doorCase{
		{name: "no owner", setup: func(t *testing.T, d *doorServer) int64 { return d.test(t, "flaky") }, want: http.StatusBadRequest,
			check: func(t *testing.T, d *doorServer, door string, id int64) {
				if st := d.str(t, `SELECT state FROM tests WHERE id = $1`, id); st != "flaky" {
					t.Errorf("test is %s", st)
				}
			}},
	})
	testDoors(t, d, []door{formDoor("/flaky/%d/quarantine", "owner", "bob", "days", "3"),
		apiDoor("/api/flaky/%d/quarantine", `{"owner": "bob", "for": "72h"}`)}, []doorCase{
		{name: "quarantined test gets a new owner and expiry", setup: func(t *testing.T, d *doorServer) int64 { return d.test(t, "quarantined") },
			want: http.StatusOK, check: func(t *testing.T, d *doorServer, door string, id int64) {
				quarantined(t, d, id, "bob", source[door], 3)
			}},
	})
}

func TestQuarantineFlakyButton(t *testing.T) {
	t.Parallel()
	d := newDoorServer(t)
	testOf := func(t *testing.T, d *doorServer, run int64) int64 {
		var id int64
		if err := d.DB.QueryRow(t.Context(), `SELECT test_id FROM failures WHERE run_id = $1`, run).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	testDoors(t, d, []door{buttonDoor("quarantine_flaky")}, []doorCase{
		{name: "run with a flaky failure", setup: func(t *testing.T, d *doorServer) int64 { return d.failedRun(t, "flaky") },
			want: http.StatusOK, check: func(t *testing.T, d *doorServer, door string, run int64) {
				test := testOf(t, d, run)
				quarantined(t, d, test, "octocat", "button", 14)
				d.auditedBy(t, door, "test.quarantine", test)
				if n := d.count(t, `SELECT count(*) FROM river_job WHERE kind = 'report.check' AND args->>'phase' = 'completed'
					AND (args->>'run_id')::bigint = $1`, run); n != 1 {
					t.Errorf("the run's check run was not reported again")
				}
			}},
		{name: "run without a flaky failure", setup: func(t *testing.T, d *doorServer) int64 { return d.failedRun(t, "broken") },
			want: http.StatusConflict, check: func(t *testing.T, d *doorServer, door string, run int64) {
				if st := d.str(t, `SELECT state FROM tests WHERE id = $1`, testOf(t, d, run)); st != "broken" {
					t.Errorf("test is %s", st)
				}
			}},
	})
}

func TestReleaseThroughEveryDoor(t *testing.T) {
	t.Parallel()
	d := newDoorServer(t)
	testDoors(t, d, []door{formDoor("/flaky/%d/unquarantine"), apiDoor("/api/flaky/%d/release", "{}")}, []doorCase{
		{name: "quarantined test", setup: func(t *testing.T, d *doorServer) int64 { return d.test(t, "quarantined") }, want: http.StatusOK,
			check: func(t *testing.T, d *doorServer, door string, id int64) {
				if st := d.str(t, `SELECT state || ':' || quarantine_owner FROM tests WHERE id = $1`, id); st != "flaky:" {
					t.Errorf("released test: %s", st)
				}
				d.auditedBy(t, door, "test.release", id)
			}},
		// The API answered 200 and changed nothing; the dashboard 409.
		{name: "test that is not quarantined", setup: func(t *testing.T, d *doorServer) int64 { return d.test(t, "flaky") },
			want: http.StatusConflict, check: func(t *testing.T, d *doorServer, door string, id int64) {
				if n := d.count(t, `SELECT count(*) FROM audit_log WHERE subject_id = $1 AND action = 'test.release'`, id); n != 0 {
					t.Errorf("audit entries for a release that did not happen: %d", n)
				}
			}},
		{name: "unknown test", setup: func(*testing.T, *doorServer) int64 { return noSuchID }, want: http.StatusNotFound},
	})
}

func TestOpenIncidentButton(t *testing.T) {
	t.Parallel()
	d := newDoorServer(t)
	incidentsOf := func(t *testing.T, d *doorServer, run int64) int {
		return d.count(t, `SELECT count(*) FROM incidents i JOIN failures f ON f.cluster_id = i.cluster_id WHERE f.run_id = $1`, run)
	}
	testDoors(t, d, []door{buttonDoor("open_incident")}, []doorCase{
		{name: "failed run", setup: func(t *testing.T, d *doorServer) int64 { return d.failedRun(t, "broken") }, want: http.StatusOK,
			check: func(t *testing.T, d *doorServer, door string, run int64) {
				var id int64
				if err := d.DB.QueryRow(t.Context(), `SELECT i.id FROM incidents i JOIN failures f ON f.cluster_id = i.cluster_id
					WHERE f.run_id = $1 AND i.status = 'open' AND i.kind = 'cluster'`, run).Scan(&id); err != nil {
					t.Fatalf("no open cluster incident: %v", err)
				}
				if n := d.count(t, `SELECT count(*) FROM river_job WHERE kind = 'incident.sync' AND (args->>'incident_id')::bigint = $1`, id); n != 1 {
					t.Errorf("incident.sync jobs: %d", n)
				}
				d.auditedBy(t, door, "incident.open", id)
			}},
		{name: "failed run whose cluster has an open incident", want: http.StatusOK,
			setup: func(t *testing.T, d *doorServer) int64 {
				run := d.failedRun(t, "broken")
				d.insert(t, `INSERT INTO incidents (repository_id, cluster_id, title, severity, status)
					SELECT $1, cluster_id, 'open already', 'medium', 'open' FROM failures WHERE run_id = $2 RETURNING id`, d.repo, run)
				return run
			},
			check: func(t *testing.T, d *doorServer, door string, run int64) {
				if n := incidentsOf(t, d, run); n != 1 {
					t.Errorf("incidents of the cluster: %d, want the one open already", n)
				}
				if n := d.count(t, `SELECT count(*) FROM incident_events e JOIN incidents i ON i.id = e.incident_id
					JOIN failures f ON f.cluster_id = i.cluster_id WHERE f.run_id = $1 AND e.message LIKE 'octocat asked for an incident%'`, run); n != 1 {
					t.Errorf("the press is not in the open incident's timeline")
				}
			}},
		{name: "run without failures", setup: func(t *testing.T, d *doorServer) int64 { return d.run(t, "succeeded") },
			want: http.StatusConflict, check: func(t *testing.T, d *doorServer, door string, run int64) {
				if n := d.count(t, `SELECT count(*) FROM incidents WHERE last_run_id = $1`, run); n != 0 {
					t.Errorf("incidents opened for a green run: %d", n)
				}
			}},
	})
}

func TestIncidentTransitionsThroughEveryDoor(t *testing.T) {
	t.Parallel()
	d := newDoorServer(t)
	becomes := func(status, audit string) func(t *testing.T, d *doorServer, door string, id int64) {
		return func(t *testing.T, d *doorServer, door string, id int64) {
			if st := d.str(t, `SELECT status FROM incidents WHERE id = $1`, id); st != status {
				t.Errorf("incident is %s, want %s", st, status)
			}
			if n := d.count(t, `SELECT count(*) FROM river_job WHERE kind = 'incident.sync' AND (args->>'incident_id')::bigint = $1`, id); n != 1 {
				t.Errorf("incident.sync jobs: %d", n)
			}
			d.auditedBy(t, door, audit, id)
		}
	}
	stays := func(status string) func(t *testing.T, d *doorServer, door string, id int64) {
		return func(t *testing.T, d *doorServer, door string, id int64) {
			if st := d.str(t, `SELECT status FROM incidents WHERE id = $1`, id); st != status {
				t.Errorf("incident is %s, want it still %s", st, status)
			}
		}
	}
	incident := func(status string) func(t *testing.T, d *doorServer) int64 {
		return func(t *testing.T, d *doorServer) int64 { return d.incident(t, status) }
	}
	for _, tc := range []struct {
		action string
		cases  []doorCase
	}{
		{"acknowledge", []doorCase{
			{name: "open incident", setup: incident("open"), want: http.StatusOK, check: becomes("mitigating", "incident.status")},
			{name: "resolved incident", setup: incident("resolved"), want: http.StatusConflict, check: stays("resolved")},
			{name: "unknown incident", setup: func(*testing.T, *doorServer) int64 { return noSuchID }, want: http.StatusNotFound},
		}},
		{"resolve", []doorCase{
			{name: "mitigating incident", setup: incident("mitigating"), want: http.StatusOK, check: becomes("resolved", "incident.resolved")},
			{name: "resolved incident", setup: incident("resolved"), want: http.StatusConflict, check: stays("resolved")},
		}},
		{"reopen", []doorCase{
			{name: "resolved incident", setup: incident("resolved"), want: http.StatusOK, check: becomes("open", "incident.reopened")},
			{name: "open incident", setup: incident("open"), want: http.StatusConflict, check: stays("open")},
		}},
		{"explode", []doorCase{
			{name: "unknown action", setup: incident("open"), want: http.StatusNotFound, check: stays("open")},
		}},
	} {
		path := "/incidents/%d/" + tc.action
		t.Run(tc.action, func(t *testing.T) {
			testDoors(t, d, []door{formDoor(path), apiDoor("/api"+path, "{}")}, tc.cases)
		})
	}
}

func TestRetryJobThroughEveryDoor(t *testing.T) {
	t.Parallel()
	d := newDoorServer(t)
	testDoors(t, d, []door{formDoor("/dead/%d/retry")}, []doorCase{
		{name: "dead job", want: http.StatusOK, setup: func(t *testing.T, d *doorServer) int64 {
			return d.insert(t, `INSERT INTO river_job (args, kind, max_attempts, attempt, queue, state, finalized_at)
				VALUES ($1, 'incident.sync', 20, 20, 'github', 'discarded', now()) RETURNING id`, fmt.Sprintf(`{"incident_id": %d}`, d.next()))
		}, check: func(t *testing.T, d *doorServer, door string, id int64) {
			if st := d.str(t, `SELECT state::text FROM river_job WHERE id = $1`, id); st != "available" {
				t.Errorf("retried job is %s", st)
			}
			d.auditedBy(t, door, "job.retry", id)
		}},
		{name: "unknown job", setup: func(*testing.T, *doorServer) int64 { return noSuchID }, want: http.StatusNotFound},
	})
}
