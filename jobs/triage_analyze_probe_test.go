package jobs

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// TestAnalyzeQueuesProbes: a test that fails on the default branch, and is
// neither flaky nor broken, gets a probe and its run a probe.confirm job; a
// pull request's failures only when the policy says so, and never a fork's;
// a known flaky test none; and once the repository's budget is spent, the
// probe is recorded skipped, which the check run's summary says.
func TestAnalyzeQueuesProbes(t *testing.T) {
	s := newScenario(t)
	s.w.ConfirmBudget = time.Hour
	// run records a failing run of the given test as a run of this
	// server's (not posted results), with the given pull request and fork.
	run := func(sha, branch string, pr int, headRepo string, fork bool, failing string) int64 {
		t.Helper()
		var id int64
		err := s.db.InTx(s.ctx, func(tx pgx.Tx) error {
			var err error
			id, _, err = RecordExternalRun(s.ctx, tx, s.rc, ExternalResults{RepositoryID: s.repoID, SHA: sha, Branch: branch, PRNumber: pr,
				ExternalID: "ext-" + sha, Attempt: 1, StepName: "test", Results: &triage.Results{Format: "junit",
					Tests: suite(8, func(i int) bool { return strings.HasSuffix(failing, string(rune('0'+i))) })}})
			if err != nil {
				return err
			}
			_, err = tx.Exec(s.ctx, `UPDATE runs SET trigger = 'push', head_repo = $2, fork = $3 WHERE id = $1`, id, headRepo, fork)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.w.Analyze(s.ctx, s.rc, id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	probes := func(runID int64) []store.TestProbe {
		t.Helper()
		ps, err := store.RunProbes(s.ctx, s.db, runID)
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	jobs := func(runID int64) int {
		t.Helper()
		var n int
		if err := s.db.QueryRow(s.ctx, `SELECT count(*) FROM river_job WHERE kind = 'probe.confirm' AND (args->>'run_id')::bigint = $1`, runID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	main := run("c1", "main", 0, "", false, "T00")
	if ps := probes(main); len(ps) != 1 || ps[0].Name != "T00" || ps[0].State != store.ProbeQueued || ps[0].Wanted != triage.DefaultConfirmRuns ||
		ps[0].SHA != "c1" || ps[0].StepName != "test" || jobs(main) != 1 {
		t.Fatalf("default branch failure: probes %+v, %d jobs", ps, jobs(main))
	}
	var prio int
	if err := s.db.QueryRow(s.ctx, `SELECT priority FROM river_job WHERE kind = 'probe.confirm'`).Scan(&prio); err != nil || prio != 4 {
		t.Errorf("probe job priority %d (%v), want 4, the lowest", prio, err)
	}

	if pr := run("c2", "feature", 7, "acme/widgets", false, "T01"); len(probes(pr)) != 0 {
		t.Errorf("a pull request's failure was probed without confirm_pull_requests")
	}
	if err := store.SetConfirmPolicy(s.ctx, s.db, s.repoID, 5, true); err != nil {
		t.Fatal(err)
	}
	if pr := run("c3", "feature", 7, "acme/widgets", false, "T02"); len(probes(pr)) != 1 || probes(pr)[0].Wanted != 5 {
		t.Errorf("a pull request's failure with confirm_pull_requests: %+v", probes(pr))
	}
	if fork := run("c4", "feature", 8, "mallory/widgets", true, "T03"); len(probes(fork)) != 0 || jobs(fork) != 0 {
		t.Errorf("a fork's failure was probed: %+v", probes(fork))
	}
	if _, err := s.db.Exec(s.ctx, `UPDATE tests SET state = 'flaky' WHERE name = 'T04'`); err != nil {
		t.Fatal(err)
	}
	if known := run("c5", "main", 0, "", false, "T04"); len(probes(known)) != 0 {
		t.Errorf("a known flaky test was probed: %+v", probes(known))
	}

	// The budget: an hour of re-runs spent in the last 24 hours.
	if _, err := s.db.Exec(s.ctx, `UPDATE test_probes SET seconds = 3600 WHERE run_id = $1`, main); err != nil {
		t.Fatal(err)
	}
	spent := run("c6", "main", 0, "", false, "T05")
	ps := probes(spent)
	if len(ps) != 1 || ps[0].State != store.ProbeSkipped || jobs(spent) != 0 ||
		!strings.Contains(ps[0].Message, "not re-run: the repository's re-run budget is spent (1h0m0s of 1h0m0s in the last 24 hours") {
		t.Fatalf("budget spent: probes %+v, %d jobs", ps, jobs(spent))
	}
	r, err := store.GetRun(s.ctx, s.db, spent)
	if err != nil {
		t.Fatal(err)
	}
	report, err := LoadCheckReport(s.ctx, s.db, r, "https://sentinel.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum := RenderCheck(report).Summary; !strings.Contains(sum, "### Confirmation re-runs") ||
		!strings.Contains(sum, "`example.com/pkg::T05`") || !strings.Contains(sum, "re-run budget is spent") {
		t.Errorf("the check run does not say the probe was skipped:\n%s", sum)
	}
}

// TestAnalyzeQueuesBisect: a test that passed at c1 and then failed three
// default-branch runs in a row turns broken with c1..c2 as its range, and
// gets a bisection queued (low priority, in the runs queue) tied to its
// step; a spent budget records the next one skipped.
func TestAnalyzeQueuesBisect(t *testing.T) {
	s := newScenario(t)
	s.w.ConfirmBudget = time.Hour
	// run records a default-branch run where test number failing fails (-1: none).
	run := func(sha string, failing int) int64 {
		t.Helper()
		var id int64
		err := s.db.InTx(s.ctx, func(tx pgx.Tx) error {
			var err error
			id, _, err = RecordExternalRun(s.ctx, tx, s.rc, ExternalResults{RepositoryID: s.repoID, SHA: sha, Branch: "main",
				ExternalID: "ext-" + sha, Attempt: 1, StepName: "test", Results: &triage.Results{Format: "junit",
					Tests: suite(8, func(i int) bool { return i == failing })}})
			if err != nil {
				return err
			}
			_, err = tx.Exec(s.ctx, `UPDATE runs SET trigger = 'push' WHERE id = $1`, id)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.w.Analyze(s.ctx, s.rc, id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	run("c1", -1)
	run("c2", 0)
	run("c3", 0)
	last := run("c4", 0)
	var testID int64
	if err := s.db.QueryRow(s.ctx, `SELECT id FROM tests WHERE name = 'T00'`).Scan(&testID); err != nil {
		t.Fatal(err)
	}
	bs, err := store.TestBisects(s.ctx, s.db, testID, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].GoodSHA != "c1" || bs[0].BadSHA != "c2" || bs[0].RunID != last || bs[0].StepName != "test" || bs[0].State != store.ProbeQueued {
		t.Fatalf("bisections of T00: %+v, want one queued of c1..c2 from run %d", bs, last)
	}
	var prio int
	var queue string
	if err := s.db.QueryRow(s.ctx, `SELECT priority, queue FROM river_job WHERE kind = 'probe.bisect' AND (args->>'run_id')::bigint = $1`,
		last).Scan(&prio, &queue); err != nil || prio != 4 || queue != QueueRuns {
		t.Errorf("bisection job: priority %d in %q (%v), want 4 in the runs queue", prio, queue, err)
	}

	// T01 breaks the same way once the budget is spent: recorded, not queued.
	if _, err := s.db.Exec(s.ctx, `UPDATE test_bisects SET seconds = 3600`); err != nil {
		t.Fatal(err)
	}
	for i, sha := range []string{"c5", "c6", "c7", "c8"} {
		failing := 1
		if i == 0 {
			failing = -1
		}
		run(sha, failing)
	}
	var state, msg string
	if err := s.db.QueryRow(s.ctx, `SELECT b.state, b.message FROM test_bisects b JOIN tests t ON t.id = b.test_id WHERE t.name = 'T01'`).Scan(&state, &msg); err != nil ||
		state != string(store.ProbeSkipped) || !strings.Contains(msg, "not bisected: the repository's re-run budget is spent") {
		t.Errorf("T01's bisection with the budget spent: %s %q (%v)", state, msg, err)
	}
}
