package jobs

import (
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// The analysis of a pull request's run queues its comment in the same
// transaction as the check run's completion; a push's run queues none.
func TestAnalysisQueuesPRComment(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	count := func() int {
		var n int
		if err := s.db.QueryRow(s.ctx, `SELECT count(*) FROM river_job WHERE kind = 'report.pr_comment'
			AND (args->>'repository_id')::bigint = $1 AND (args->>'pr_number')::int = 7`, s.repoID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i, pr := range []int{0, 7} {
		trigger := store.TriggerPush
		if pr != 0 {
			trigger = store.TriggerPullRequest
		}
		id, _, err := store.InsertRun(s.ctx, s.db, store.NewRun{RepositoryID: s.repoID, SHA: strings.Repeat(string(rune('a'+i)), 40),
			Ref: "refs/heads/feature", Branch: "feature", PRNumber: pr, Trigger: trigger})
		if err != nil {
			t.Fatal(err)
		}
		for _, move := range [][2]store.RunState{{store.RunQueued, store.RunRunning}, {store.RunRunning, store.RunFailed}} {
			if ok, err := store.TransitionRun(s.ctx, s.db, id, move[:1], move[1], "", ""); err != nil || !ok {
				t.Fatalf("run %d to %s: %v %v", id, move[1], ok, err)
			}
		}
		if _, err := s.w.Analyze(s.ctx, s.rc, id); err != nil {
			t.Fatal(err)
		}
		if want := map[int]int{0: 0, 7: 1}[pr]; count() != want {
			t.Errorf("after the run of pr %d: %d comment jobs, want %d", pr, count(), want)
		}
	}
}

// What Sentinel did on the way is said even when the run ended green, and
// a run that passed without help is not worth a comment.
func TestRenderPRComment(t *testing.T) {
	t.Parallel()
	run := store.Run{ID: 9, SHA: "abcdef0123456789", State: store.RunSucceeded, Attempt: 1, PRNumber: 3, Repository: "octo/calc"}
	step := func(attempt int, state triage.StepState) store.Step {
		return store.Step{Position: 0, Name: "test", Attempt: attempt, State: state}
	}
	if _, worth := RenderPRComment(CheckReport{Run: run, Steps: []store.Step{step(1, triage.StepSucceeded)}}, nil); worth {
		t.Error("a run that passed at once is worth a comment, want none")
	}

	retried := CheckReport{Run: run, PublicURL: "http://s", Steps: []store.Step{step(1, triage.StepFailed), step(2, triage.StepSucceeded)},
		Failures: []store.ReportFailure{{TestName: "calc.TestRound", Category: triage.CategoryTest, Title: "want 2, got 3", Flaky: true, FlakyInRun: true}}}
	body, worth := RenderPRComment(retried, nil)
	if !worth {
		t.Fatal("a run saved by a retry is not worth a comment")
	}
	for _, want := range []string{PRCommentMarker, "only known flaky tests failed", "`calc.TestRound` — failed, then passed in this run",
		"retried step `test`: 2 attempts, the last succeeded", "[Run #9](http://s/runs/9)", "`abcdef012345`"} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "New failures") {
		t.Errorf("a flaky test is listed as a new failure:\n%s", body)
	}
}
