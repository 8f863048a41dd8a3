package jobs

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// The actions against a real database; app's door tests drive the same
// actions through the dashboard, the API and the check run buttons.

func (s *scenario) actions() *Actions { return &Actions{DB: s.db, River: s.rc} }

func (s *scenario) count(sql string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.db.QueryRow(s.ctx, sql, args...).Scan(&n); err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func (s *scenario) str(sql string, args ...any) string {
	s.t.Helper()
	var v string
	if err := s.db.QueryRow(s.ctx, sql, args...).Scan(&v); err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// newRun inserts a run of the scenario's repository in the given state.
func (s *scenario) newRun(sha string, state store.RunState) int64 {
	s.t.Helper()
	id, _, err := store.InsertRun(s.ctx, s.db, store.NewRun{RepositoryID: s.repoID, SHA: sha, Ref: "refs/heads/main", Branch: "main",
		Trigger: store.TriggerPush, State: state})
	if err != nil {
		s.t.Fatal(err)
	}
	return id
}

// flakyRun records a run in which T02 failed and then passed on retry,
// which makes it flaky, then a run in which it failed: that run's failure
// is flaky. It returns the second run.
func (s *scenario) flakyRun(sha string) int64 {
	s.t.Helper()
	cases := suite(5, nil)
	retry := cases[2]
	cases[2].Outcome, cases[2].Message = triage.OutcomeFail, "timeout waiting for lock"
	retry.Attempt = 2
	s.run(sha, "main", 1, append(cases, retry))
	id, _ := s.run(sha+"-again", "main", 1, suite(5, func(i int) bool { return i == 2 }))
	return id
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: %v, want %v", what, err, want)
	}
}

func TestActionsOnRuns(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	a := s.actions()
	failed, _ := s.run("r1", "main", 1, suite(3, func(i int) bool { return i == 1 }))
	fork := s.newRun("f1", store.RunAwaitingApproval)
	queued := s.newRun("q1", store.RunQueued)

	next, err := a.Rerun(s.ctx, failed, "api:token", false)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.count(`SELECT count(*) FROM runs WHERE id = $1 AND attempt = 2 AND state = 'queued' AND job_id IS NOT NULL`, next); n != 1 {
		t.Errorf("the re-run is not a queued attempt 2 with its job")
	}
	_, err = a.Rerun(s.ctx, fork, "api:token", false)
	wantErr(t, "re-run of a run awaiting approval", err, store.ErrInvalidTransition)
	_, err = a.Rerun(s.ctx, 999999, "api:token", false)
	wantErr(t, "re-run of no run", err, store.ErrNotFound)

	wantErr(t, "approve a queued run", a.Approve(s.ctx, queued, "api:token"), store.ErrInvalidTransition)
	if err := a.Approve(s.ctx, fork, "api:token"); err != nil {
		t.Fatal(err)
	}
	if n := s.count(`SELECT count(*) FROM river_job WHERE kind = 'run.execute' AND (args->>'run_id')::bigint = $1`, fork); n != 1 {
		t.Errorf("approved run: %d run.execute jobs", n)
	}
	wantErr(t, "approve twice", a.Approve(s.ctx, fork, "api:token"), store.ErrInvalidTransition)

	// A run the intake created records no job until it starts: its waiting
	// job is found by run id.
	if _, err := s.db.Exec(s.ctx, `INSERT INTO river_job (kind, args, queue, state)
		VALUES ('run.execute', jsonb_build_object('run_id', $1::bigint), 'runs', 'available')`, queued); err != nil {
		t.Fatal(err)
	}
	if err := a.Cancel(s.ctx, queued, "dashboard:admin"); err != nil {
		t.Fatal(err)
	}
	if n := s.count(`SELECT count(*) FROM river_job WHERE kind = 'run.execute' AND state = 'cancelled' AND (args->>'run_id')::bigint = $1`, queued); n != 1 {
		t.Errorf("cancelled run: its waiting job was not cancelled")
	}
	if st := s.str(`SELECT state || ' ' || error FROM runs WHERE id = $1`, queued); st != "cancelled cancelled by dashboard:admin" {
		t.Errorf("cancelled run: %s", st)
	}
	if n := s.count(`SELECT count(*) FROM river_job WHERE kind = 'report.check' AND args->>'phase' = 'completed' AND (args->>'run_id')::bigint = $1`, queued); n != 1 {
		t.Errorf("cancelled run: %d completed reports", n)
	}
	wantErr(t, "cancel a finished run", a.Cancel(s.ctx, failed, "dashboard:admin"), store.ErrInvalidTransition)
	wantErr(t, "cancel no run", a.Cancel(s.ctx, 999999, "dashboard:admin"), store.ErrNotFound)

	for action, n := range map[string]int{"run.rerun": 1, "run.approve": 1, "run.cancel": 1} {
		if got := s.count(`SELECT count(*) FROM audit_log WHERE action = $1`, action); got != n {
			t.Errorf("%s audit entries: %d, want %d", action, got, n)
		}
	}
}

func TestActionsQuarantineAndRelease(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	now := time.Date(2026, 3, 1, 10, 0, 0, 123, time.UTC)
	a := s.actions()
	a.Now = func() time.Time { return now }
	s.flakyRun("a1")
	id := s.test("T02").ID

	if err := a.Quarantine(s.ctx, id, Quarantine{Owner: "  alice ", Reason: " races ", Source: "api"}, "api:token"); err != nil {
		t.Fatal(err)
	}
	q := s.test("T02")
	if q.State() != "quarantined" || q.QuarantineOwner != "alice" || q.QuarantineReason != "races" || q.QuarantineSource != "api" ||
		!q.Flaky.QuarantineUntil.Equal(now.Add(DefaultQuarantineFor).Truncate(time.Second)) {
		t.Errorf("quarantine without an end: %s by %q (%q, %s) until %v", q.State(), q.QuarantineOwner, q.QuarantineReason,
			q.QuarantineSource, q.Flaky.QuarantineUntil)
	}
	until := now.Add(48 * time.Hour)
	if err := a.Quarantine(s.ctx, id, Quarantine{Owner: "bob", Until: until, Source: "dashboard"}, "dashboard:admin"); err != nil {
		t.Fatal(err)
	}
	if q := s.test("T02"); q.QuarantineOwner != "bob" || !q.Flaky.QuarantineUntil.Equal(until.Truncate(time.Second)) {
		t.Errorf("quarantine changed: %q until %v", q.QuarantineOwner, q.Flaky.QuarantineUntil)
	}
	if err := a.Quarantine(s.ctx, id, Quarantine{Owner: " "}, "api:token"); err == nil {
		t.Error("a quarantine without an owner was set")
	}
	wantErr(t, "quarantine no test", a.Quarantine(s.ctx, 999999, Quarantine{Owner: "alice"}, "api:token"), store.ErrNotFound)

	if err := a.Release(s.ctx, id, "api:token"); err != nil {
		t.Fatal(err)
	}
	if st := s.test("T02").State(); st != "flaky" {
		t.Errorf("released test is %s", st)
	}
	wantErr(t, "release a test that is not quarantined", a.Release(s.ctx, id, "api:token"), store.ErrInvalidTransition)
	wantErr(t, "release no test", a.Release(s.ctx, 999999, "api:token"), store.ErrNotFound)
	if n := s.count(`SELECT count(*) FROM audit_log WHERE action = 'test.release'`); n != 1 {
		t.Errorf("test.release audit entries: %d, want 1", n)
	}
}

func TestActionsQuarantineFlakyButton(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	a := s.actions()
	flaky := s.flakyRun("a1")
	broken, _ := s.run("b1", "main", 1, suite(5, func(i int) bool { return i == 4 }))
	press := func(runID int64) error {
		run, err := store.GetRun(s.ctx, s.db, runID)
		if err != nil {
			t.Fatal(err)
		}
		return s.db.InTx(s.ctx, func(tx pgx.Tx) error { return a.QuarantineFlakyTx(s.ctx, tx, run, "octocat") })
	}
	reports := func(runID int64) int {
		return s.count(`SELECT count(*) FROM river_job WHERE kind = 'report.check' AND (args->>'run_id')::bigint = $1`, runID)
	}
	before := reports(flaky)
	if err := press(flaky); err != nil {
		t.Fatal(err)
	}
	q := s.test("T02")
	if q.State() != "quarantined" || q.QuarantineOwner != "octocat" || q.QuarantineSource != "button" ||
		q.Flaky.QuarantineUntil.Before(time.Now().Add(DefaultQuarantineFor-time.Hour)) {
		t.Errorf("after the button: %s by %q from %q until %v", q.State(), q.QuarantineOwner, q.QuarantineSource, q.Flaky.QuarantineUntil)
	}
	if n := s.count(`SELECT count(*) FROM audit_log WHERE action = 'test.quarantine' AND actor = 'github:octocat'`); n != 1 {
		t.Errorf("quarantine audit entries by github:octocat: %d", n)
	}
	if n := reports(flaky); n != before+1 {
		t.Errorf("the run's check run was not reported again (%d reports, had %d)", n, before)
	}
	// Pressed again, the quarantine stays as it is.
	if err := press(flaky); err != nil {
		t.Errorf("second press: %v", err)
	}
	if n := s.count(`SELECT count(*) FROM audit_log WHERE action = 'test.quarantine'`); n != 1 {
		t.Errorf("quarantine audit entries after a second press: %d, want 1", n)
	}
	wantErr(t, "a run without a flaky failure", press(broken), store.ErrInvalidTransition)
	if st := s.test("T04").State(); st == "quarantined" {
		t.Error("a broken test was quarantined")
	}
}

func TestActionsOpenIncidentButton(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	a := s.actions()
	failed, _ := s.run("c1", "main", 1, suite(5, func(i int) bool { return i == 4 }))
	green, _ := s.run("c2", "main", 1, suite(5, nil))
	press := func(runID int64, login string) (int64, error) {
		run, err := store.GetRun(s.ctx, s.db, runID)
		if err != nil {
			t.Fatal(err)
		}
		var id int64
		err = s.db.InTx(s.ctx, func(tx pgx.Tx) error {
			var err error
			id, err = a.OpenIncidentTx(s.ctx, tx, run, login)
			return err
		})
		return id, err
	}
	id, err := press(failed, "octocat")
	if err != nil {
		t.Fatal(err)
	}
	in, err := store.GetIncident(s.ctx, s.db, id)
	if err != nil {
		t.Fatal(err)
	}
	// The incident the analysis would open for the failure's cluster.
	f, err := store.MainFailure(s.ctx, s.db, failed)
	if err != nil {
		t.Fatal(err)
	}
	c, err := seenCluster(s.ctx, s.db, f)
	if err != nil {
		t.Fatal(err)
	}
	want := triage.ClusterIncident(c, "main", triage.IncidentPolicy{})
	if in.Kind != want.Kind || in.ClusterID != f.ClusterID || in.Title != want.Title || in.Severity != want.Severity ||
		in.RootCause != want.RootCause || in.NeedsHuman != want.NeedsHuman || in.Status != "open" {
		t.Errorf("incident %+v\nwant %+v", in, want)
	}
	if n := s.count(`SELECT count(*) FROM audit_log WHERE action = 'incident.open' AND actor = 'github:octocat' AND subject_id = $1`, id); n != 1 {
		t.Errorf("incident.open audit entries by github:octocat: %d", n)
	}
	if n := s.count(`SELECT count(*) FROM river_job WHERE kind = 'incident.sync' AND (args->>'incident_id')::bigint = $1`, id); n != 1 {
		t.Errorf("incident.sync jobs: %d", n)
	}
	// Pressed again: the open incident's timeline notes it, no second one.
	again, err := press(failed, "hubot")
	if err != nil || again != id {
		t.Fatalf("second press: incident %d, %v; want %d", again, err, id)
	}
	if n := s.count(`SELECT count(*) FROM incidents`); n != 1 {
		t.Errorf("incidents after a second press: %d", n)
	}
	if n := s.count(`SELECT count(*) FROM incident_events WHERE incident_id = $1 AND message LIKE 'hubot asked for an incident%'`, id); n != 1 {
		t.Errorf("the second press is not in the timeline")
	}
	_, err = press(green, "octocat")
	wantErr(t, "a run without failures", err, store.ErrInvalidTransition)
}

func TestActionsTransitionIncidentAndRetryJob(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	a := s.actions()
	failed, _ := s.run("c1", "main", 1, suite(5, func(i int) bool { return i == 4 }))
	run, err := store.GetRun(s.ctx, s.db, failed)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := s.db.InTx(s.ctx, func(tx pgx.Tx) error {
		id, err = a.OpenIncidentTx(s.ctx, tx, run, "octocat")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	syncs := func() int {
		return s.count(`SELECT count(*) FROM river_job WHERE kind = 'incident.sync' AND (args->>'incident_id')::bigint = $1`, id)
	}
	before := syncs()
	status, err := a.TransitionIncident(s.ctx, id, store.IncidentAcknowledge, "", "api:token")
	if err != nil || status != "mitigating" {
		t.Fatalf("acknowledge: %s, %v", status, err)
	}
	// The first sync job has not run: River keeps one of the same args.
	if n := syncs(); n != before {
		t.Errorf("incident.sync jobs: %d, want %d", n, before)
	}
	_, err = a.TransitionIncident(s.ctx, id, store.IncidentAcknowledge, "", "api:token")
	wantErr(t, "acknowledge twice", err, store.ErrInvalidTransition)
	_, err = a.TransitionIncident(s.ctx, 999999, store.IncidentResolve, "", "api:token")
	wantErr(t, "resolve no incident", err, store.ErrNotFound)

	var dead int64
	if err := s.db.QueryRow(s.ctx, `INSERT INTO river_job (args, kind, max_attempts, attempt, queue, state, finalized_at)
		VALUES ('{"incident_id": 1}', 'incident.sync', 20, 20, 'github', 'discarded', now()) RETURNING id`).Scan(&dead); err != nil {
		t.Fatal(err)
	}
	if err := a.RetryJob(s.ctx, dead, "dashboard:admin"); err != nil {
		t.Fatal(err)
	}
	if st := s.str(`SELECT state::text FROM river_job WHERE id = $1`, dead); st != "available" {
		t.Errorf("retried job is %s", st)
	}
	wantErr(t, "retry no job", a.RetryJob(s.ctx, 999999, "dashboard:admin"), store.ErrNotFound)
}

// TestRerunOfForkRunAwaitsApproval: whatever became of a fork's run (never
// approved and cancelled or superseded, or approved and finished), a re-run
// is a new attempt that awaits approval again, with no run.execute job.
func TestRerunOfForkRunAwaitsApproval(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	a := s.actions()
	for _, state := range []store.RunState{store.RunCancelled, store.RunFailed, store.RunSucceeded, store.RunErrored} {
		sha := "fork-" + string(state)
		prev, _, err := store.InsertRun(s.ctx, s.db, store.NewRun{RepositoryID: s.repoID, SHA: sha, Ref: "refs/pull/7/head", Branch: "feature",
			PRNumber: 7, HeadRepo: "mallory/app", Trigger: store.TriggerPullRequest, State: state, Fork: true})
		if err != nil {
			t.Fatal(err)
		}
		next, err := a.Rerun(s.ctx, prev, "dashboard:admin", false)
		if err != nil {
			t.Fatalf("%s: %v", state, err)
		}
		run, err := store.GetRun(s.ctx, s.db, next)
		if err != nil {
			t.Fatal(err)
		}
		if run.State != store.RunAwaitingApproval || !run.Fork || run.Attempt != 2 {
			t.Errorf("re-run of a %s fork run: state %s fork %v attempt %d, want awaiting_approval, fork, attempt 2", state, run.State, run.Fork, run.Attempt)
		}
		if n := s.count(`SELECT count(*) FROM river_job WHERE kind = 'run.execute' AND (args->>'run_id')::bigint = $1`, next); n != 0 {
			t.Errorf("re-run of a %s fork run: %d run.execute jobs before approval", state, n)
		}
		if err := a.Approve(s.ctx, next, "dashboard:admin"); err != nil {
			t.Errorf("approve the re-run: %v", err)
		}
	}
}
