package githubapp

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// TestRecorderReportsARun: without App credentials the whole check run
// flow runs against the database; the dashboard sees what would have been sent.
func TestRecorderReportsARun(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	gh, err := New(Config{}, db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := gh.(*Recorder); !ok {
		t.Fatalf("without credentials New returned %T, want a recorder", gh)
	}
	run := seedRun(t, db)
	w := newWorker(t, db, gh)
	work(t, w, run.runID, jobs.PhaseQueued)
	run.start(t)
	work(t, w, run.runID, jobs.PhaseInProgress)
	run.finish(t, store.RunFailed, 120, false)
	work(t, w, run.runID, jobs.PhaseCompleted)
	work(t, w, run.runID, jobs.PhaseCompleted) // a repeated job sends no annotation twice

	ctx := context.Background()
	calls, err := store.ListOutboundCalls(ctx, db, store.OutboundFilter{RunID: run.runID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	annotations := 0
	for i := len(calls) - 1; i >= 0; i-- {
		c := calls[i]
		if !c.Recorded || c.InstallationID != 7 {
			t.Errorf("call %d: recorded %v, installation %d", c.ID, c.Recorded, c.InstallationID)
		}
		var body struct {
			Status, Conclusion string
			Output             struct{ Annotations []json.RawMessage }
		}
		if err := json.Unmarshal(c.Request, &body); err != nil {
			t.Fatal(err)
		}
		annotations += len(body.Output.Annotations)
		got = append(got, strings.TrimSpace(c.Method+" "+body.Status+" "+body.Conclusion))
	}
	want := []string{"POST queued", "PATCH in_progress", "PATCH completed failure", "PATCH", "PATCH", "PATCH completed failure"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recorded calls (-want +got):\n%s", diff)
	}
	if annotations != 120 {
		t.Errorf("%d annotations recorded, want 120", annotations)
	}
	stored, _ := store.GetRun(ctx, db, run.runID)
	if stored.CheckRunID != calls[len(calls)-1].ID {
		t.Errorf("check run id %d, want the id of the recorded create (%d)", stored.CheckRunID, calls[len(calls)-1].ID)
	}
	cr, err := gh.GetCheckRun(ctx, jobs.GitHubRepo{InstallationID: 7, Owner: "octo", Name: "calc"}, stored.CheckRunID)
	if err != nil || cr.GetStatus() != "completed" || cr.GetConclusion() != "failure" || cr.GetOutput().GetAnnotationsCount() != 120 {
		t.Errorf("recorded state: %v %+v", err, cr)
	}
}

func TestRecorderIssueLifecycle(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	rec := NewRecorder(db)
	incidentLifecycle(t, rec)
	incidentLifecycle(t, rec) // a second incident of the same fingerprint finds the open issue

	ctx := context.Background()
	issues, err := rec.ListIssues(ctx, testRepo, jobs.IssueLabel, "all")
	if err != nil || len(issues) != 1 {
		t.Fatalf("%d issues (%v), want 1", len(issues), err)
	}
	is := issues[0]
	if is.GetNumber() != 1 || is.GetState() != "open" || !strings.Contains(is.GetBody(), "sentinel:fingerprint=fp-abc123") {
		t.Errorf("issue: %+v", is)
	}
	comments, err := rec.ListComments(ctx, testRepo, 1)
	if err != nil || len(comments) != 5 {
		t.Errorf("%d comments (%v), want 5 (the second lifecycle repeats none)", len(comments), err)
	}
	if _, err := rec.CreateComment(ctx, testRepo, 99, "x"); err == nil {
		t.Error("a comment on an issue never created was accepted")
	}
}

// TestRecorderHasNoInstallationToken: without credentials the runner gets ""
// and clones unauthenticated, as it did before the token was part of jobs.GitHub.
func TestRecorderHasNoInstallationToken(t *testing.T) {
	t.Parallel()
	tok, err := NewRecorder(nil).InstallationToken(context.Background(), 7)
	if tok != "" || err != nil {
		t.Errorf("InstallationToken = %q, %v; want \"\" and no error", tok, err)
	}
}
