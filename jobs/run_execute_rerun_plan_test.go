package jobs

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
	"github.com/sentinel-ci/sentinel/triage"
)

// TestFailedOnlyPlan: what a "Re-run failed" attempt does with each step,
// from the last try of each step in the attempt it re-runs: a step that
// passed is skipped (and still skipped by the attempt after, with the
// attempt it passed in), a step whose last try had failing tests runs those
// (a retry that passed one leaves only the other; retry_run and
// SENTINEL_RETRY_TESTS for JUnit), a step that failed without results or
// never ran, or whose name changed, runs whole.
func TestFailedOnlyPlan(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	repoID, err := store.UpsertRepository(ctx, db, store.Repository{FullName: "acme/plan", CloneURL: "file:///x"})
	if err != nil {
		t.Fatal(err)
	}
	sha := strings.Repeat("a", 40)
	newRun := func(attempt int, of int64) store.Run {
		id, _, err := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repoID, SHA: sha, Trigger: "push", Attempt: attempt, State: store.RunFailed})
		if err != nil {
			t.Fatal(err)
		}
		if of != 0 {
			if err := store.SetRunFailedOnly(ctx, db, id, of); err != nil {
				t.Fatal(err)
			}
		}
		run, err := store.GetRun(ctx, db, id)
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	step := func(runID int64, pos int, name string, st triage.StepState, why string, results ...triage.TestCase) {
		id, att, err := store.InsertStep(ctx, db, store.NewStep{RunID: runID, Position: pos, Name: name, State: triage.StepRunning})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.FinishStep(ctx, db, id, store.StepEnd{State: st, Error: why}); err != nil {
			t.Fatal(err)
		}
		if err := db.InTx(ctx, func(tx pgx.Tx) error {
			return store.RecordTestResults(ctx, tx, repoID, runID, id, att, results)
		}); err != nil {
			t.Fatal(err)
		}
	}
	tc := func(name string, o triage.Outcome) triage.TestCase {
		return triage.TestCase{Package: "example.com/p", Name: name, Outcome: o}
	}
	p := &runner.Pipeline{Steps: []runner.Step{
		{Name: "build", Run: "make build"},
		{Name: "test", Run: "make test", Results: runner.ResultsGoTestJSON, Env: map[string]string{"GOFLAGS": "-race"}},
		{Name: "junit", Run: "./t.sh", Results: "junit:*.xml", RetryRun: "./t.sh --only"},
		{Name: "lint", Run: "make lint"},
		{Name: "renamed", Run: "make x"},
		{Name: "after", Run: "make after"},
	}}
	first := newRun(1, 0)
	step(first.ID, 0, "build", triage.StepSucceeded, "")
	step(first.ID, 1, "test", triage.StepFailed, "", tc("TestA", triage.OutcomeFail), tc("TestB", triage.OutcomeFail), tc("TestC", triage.OutcomePass))
	step(first.ID, 1, "test", triage.StepFailed, "", tc("TestA", triage.OutcomeFail), tc("TestB", triage.OutcomePass)) // its retry
	step(first.ID, 2, "junit", triage.StepFailed, "", tc("slow", triage.OutcomeError), tc("fast", triage.OutcomePass))
	step(first.ID, 3, "lint", triage.StepFailed, "")
	step(first.ID, 4, "was-named-otherwise", triage.StepSucceeded, "")
	step(first.ID, 5, "after", triage.StepSkipped, "an earlier step failed")

	second := newRun(2, first.ID)
	ex := &execution{w: &RunExecuteWorker{DB: db}, run: second}
	plan, err := ex.failedOnlyPlan(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != len(p.Steps) {
		t.Fatalf("plan of %d steps for %d", len(plan), len(p.Steps))
	}
	if plan[0].skip != "passed in attempt 1" || plan[0].plan != nil {
		t.Errorf("build: %+v, want skipped as passed in attempt 1", plan[0])
	}
	if g := plan[1].plan; g == nil || g.command != "make test" || g.env["GOFLAGS"] != "-race -run=^(TestA)$ -count=1" ||
		!strings.Contains(g.note, "what failed in attempt 1") {
		t.Errorf("test: %+v, want TestA selected through GOFLAGS", g)
	}
	if j := plan[2].plan; j == nil || j.command != "./t.sh --only" || j.env[envRetryTests] != "slow" || j.env["GOFLAGS"] != "" {
		t.Errorf("junit: %+v, want retry_run with SENTINEL_RETRY_TESTS=slow", j)
	}
	for i := 3; i < len(p.Steps); i++ {
		if plan[i] != (carried{}) {
			t.Errorf("%s: %+v, want run whole", p.Steps[i].Name, plan[i])
		}
	}

	// The attempt after: build is still skipped for attempt 1.
	step(second.ID, 0, "build", triage.StepSkipped, plan[0].skip)
	step(second.ID, 1, "test", triage.StepFailed, "", tc("TestA", triage.OutcomeFail))
	third := newRun(3, second.ID)
	ex.run = third
	plan, err = ex.failedOnlyPlan(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if plan[0].skip != "passed in attempt 1" {
		t.Errorf("build in attempt 3: %+v, want still skipped as passed in attempt 1", plan[0])
	}
	if g := plan[1].plan; g == nil || g.env["GOFLAGS"] != "-race -run=^(TestA)$ -count=1" || !strings.Contains(g.note, "attempt 2") {
		t.Errorf("test in attempt 3: %+v", g)
	}

	// A whole run has no plan.
	ex.run = first
	if plan, err := ex.failedOnlyPlan(ctx, p); err != nil || plan != nil {
		t.Errorf("plan of a whole run: %v %v", plan, err)
	}
}
