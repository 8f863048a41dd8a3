package jobs

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
	"github.com/sentinel-ci/sentinel/triage"
)

// The last green log of a step and the failing one print the same error
// behind other timestamps: the worker's baseline must hash lines as the
// scanner cleans them, so that the line is recognised and left out.
func TestTriageBaselineMatchesCleanedLines(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	repoID, err := store.UpsertRepository(ctx, db, store.Repository{FullName: "acme/baseline", CloneURL: "file:///x"})
	if err != nil {
		t.Fatal(err)
	}
	const shared = "Exception in thread \"telemetry\" java.net.UnknownHostException: metrics.internal.example"
	pass := "2024-03-01T10:00:01.1000000Z [INFO] Building billing\n" +
		"2024-03-01T10:00:02.0000000Z \x1b[31m" + shared + "\x1b[0m\r\n" +
		"2024-03-01T10:00:05.0000000Z [INFO] BUILD SUCCESS\n"
	fail := "2024-03-02T11:20:02.0000000Z " + shared + "\n" +
		"2024-03-02T11:20:04.0100000Z [ERROR] com.acme.billing.InvoiceTest.totalIncludesVat -- Time elapsed: 0.018 s <<< FAILURE!\n" +
		"2024-03-02T11:20:04.0200000Z org.opentest4j.AssertionFailedError: expected: <119.00> but was: <100.00>\n"
	zero := 0
	var runs [2]store.Run
	for i, log := range []string{pass, fail} {
		runID, _, err := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repoID, SHA: strings.Repeat(string(rune('a'+i)), 40), Trigger: "api"})
		if err != nil {
			t.Fatal(err)
		}
		stepID, _, err := store.InsertStep(ctx, db, store.NewStep{RunID: runID, Name: "test", State: triage.StepRunning})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.AppendLogChunk(ctx, db, runID, store.LogChunk{StepID: stepID, Seq: 1, FirstLine: 1, Data: []byte(log)}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := store.FinishStep(ctx, db, stepID, store.StepEnd{State: triage.StepSucceeded, ExitCode: &zero}); err != nil {
				t.Fatal(err)
			}
		}
		if runs[i], err = store.GetRun(ctx, db, runID); err != nil {
			t.Fatal(err)
		}
	}
	w := &TriageAnalyzeWorker{DB: db, Log: slog.New(slog.DiscardHandler)}
	var base triage.Baseline
	if err := db.InTx(ctx, func(tx pgx.Tx) error {
		base = w.baseline(ctx, tx, runs[1], "test")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !base.Has(triage.LineHash(shared)) {
		t.Fatalf("baseline of %d hashes lacks the cleaned line %q", len(base), shared)
	}
	fs, err := triage.Analyze([]triage.StepInput{{Facts: triage.StepFacts{Step: "test", ExitCode: 1, State: "failed"},
		Log: strings.NewReader(fail), Baseline: base}}, triage.Options{})
	if err != nil || len(fs) == 0 {
		t.Fatalf("analyze: %v %v", fs, err)
	}
	if fs[0].Category != triage.CategoryTest {
		t.Errorf("category %s (%s), want test", fs[0].Category, fs[0].Title)
	}
	for _, e := range fs[0].Evidence {
		if strings.Contains(e.Text, "UnknownHostException") {
			t.Errorf("evidence line %d was in the green run too: %s", e.Line, e.Text)
		}
	}
}

// A pipeline file the runner rejected is a configuration failure that says
// what is wrong, not an unknown one.
func TestTriageNamesPipelineConfigError(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	id, _, err := store.InsertRun(s.ctx, s.db, store.NewRun{RepositoryID: s.repoID, SHA: "cfg", Branch: "main", Trigger: "push"})
	if err != nil {
		t.Fatal(err)
	}
	const msg = `.sentinel.yml line 5: bad duration "soon"`
	for _, to := range []store.RunState{store.RunRunning, store.RunFailed} {
		if _, err := store.TransitionRun(s.ctx, s.db, id, []store.RunState{store.RunQueued, store.RunRunning}, to, triage.CategoryConfiguration, msg); err != nil {
			t.Fatal(err)
		}
	}
	var fs []stepFailure
	if err := s.db.InTx(s.ctx, func(tx pgx.Tx) error {
		run, err := store.GetRun(s.ctx, tx, id)
		if err != nil {
			return err
		}
		fs, err = s.w.findFailures(s.ctx, tx, run, s.w.repoTriage(nil))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 {
		t.Fatalf("failures = %+v, want one", fs)
	}
	f := fs[0].f
	if f.Category != triage.CategoryConfiguration || !strings.Contains(f.Title, msg) || f.Source != "runner" {
		t.Errorf("failure = %s %q (%s), want configuration naming %q", f.Category, f.Title, f.Source, msg)
	}
}
