package jobs

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
	"github.com/sentinel-ci/sentinel/triage"
)

// A plain go test log whose package a panic ended has its stopped package
// counted by the triage worker; a Go program that panicked outside go test
// stopped no package of tests.
func TestTriageCountsStoppedPackagesOfPlainLogs(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	repoID, err := store.UpsertRepository(ctx, db, store.Repository{FullName: "acme/stopped", CloneURL: "file:///x"})
	if err != nil {
		t.Fatal(err)
	}
	frames := "\ngoroutine 7 [running]:\nexample.com/demo/cache.(*Cache).Put(...)\n\t/workspace/cache/cache.go:6\n"
	goTest := "--- FAIL: TestPut (0.00s)\npanic: assignment to entry in nil map [recovered, repanicked]\n" + frames +
		"FAIL\texample.com/demo/cache\t0.008s\nFAIL\n"
	program := "starting server\npanic: assignment to entry in nil map\n" + frames + "exit status 2\n"
	w := &TriageAnalyzeWorker{DB: db, Log: slog.New(slog.DiscardHandler)}
	rc, err := NewClient(db, nil, ClientConfig{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		log  string
		want int
	}{{goTest, 1}, {program, 0}} {
		runID, _, err := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repoID, SHA: strings.Repeat(string(rune('a'+i)), 40), Trigger: "api"})
		if err != nil {
			t.Fatal(err)
		}
		stepID, _, err := store.InsertStep(ctx, db, store.NewStep{RunID: runID, Name: "test", State: triage.StepRunning})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.AppendLogChunk(ctx, db, runID, store.LogChunk{StepID: stepID, Seq: 1, FirstLine: 1, Data: []byte(tc.log)}); err != nil {
			t.Fatal(err)
		}
		one := 1
		if err := store.FinishStep(ctx, db, stepID, store.StepEnd{State: triage.StepFailed, ExitCode: &one}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.TransitionRun(ctx, db, runID, []store.RunState{store.RunQueued}, store.RunFailed, "", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Analyze(ctx, rc, runID); err != nil {
			t.Fatal(err)
		}
		s, err := store.GetStep(ctx, db, stepID)
		if err != nil {
			t.Fatal(err)
		}
		if s.StoppedPackages != tc.want {
			t.Errorf("log %d: %d packages stopped, want %d", i, s.StoppedPackages, tc.want)
		}
	}
}
