package githubapp

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sentinel-ci/sentinel/app/githubapp/githubtest"
	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// prRun adds a run of pull request pr at sha to the seeded repository.
func (s seededRun) prRun(t *testing.T, pr int, sha string) seededRun {
	t.Helper()
	id, _, err := store.InsertRun(context.Background(), s.db, store.NewRun{RepositoryID: s.repo, SHA: sha, Ref: "refs/pull/1/head",
		Branch: "feature", PRNumber: pr, Trigger: store.TriggerPullRequest})
	if err != nil {
		t.Fatal(err)
	}
	return seededRun{db: s.db, runID: id, repo: s.repo}
}

// workComment runs one report.pr_comment job as River would, retried on
// errors until it succeeds; a cancelled job fails the test.
func workComment(t *testing.T, w *jobs.PRCommentWorker, repo int64, pr int) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		job := &river.Job[jobs.PRCommentArgs]{JobRow: &rivertype.JobRow{ID: int64(attempt), Attempt: attempt}, Args: jobs.PRCommentArgs{RepositoryID: repo, PRNumber: pr}}
		err := w.Work(context.Background(), job)
		if err == nil {
			return
		}
		var cancel *rivertype.JobCancelError
		if errors.As(err, &cancel) || attempt == 50 {
			t.Fatalf("pr comment job: %v (attempt %d)", err, attempt)
		}
	}
}

func commentCalls(fake *githubtest.Server) (creates, edits int) {
	for _, r := range fake.Requests() {
		switch {
		case r.Method == "POST" && strings.HasSuffix(r.Path, "/comments"):
			creates++
		case r.Method == "PATCH" && strings.Contains(r.Path, "/issues/comments/"):
			edits++
		}
	}
	return creates, edits
}

func sentinelComments(t *testing.T, fake *githubtest.Server, pr int) []githubtest.Comment {
	t.Helper()
	var out []githubtest.Comment
	for _, is := range fake.Issues("octo/calc") {
		if is.Number != pr {
			continue
		}
		for _, c := range is.Comments {
			if strings.HasPrefix(c.Body, jobs.PRCommentMarker) {
				out = append(out, c)
			}
		}
	}
	return out
}

// One comment per pull request: created when a run fails, left alone while
// nothing changes, edited when a later run of the pull request passes, and
// found by its marker when GitHub's answer to the creation was lost.
func TestPRCommentCreatedOnceThenEdited(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t)
	db := storetest.NewDB(t)
	base := seedRun(t, db)
	pr := fake.AddPullRequest("octo/calc", "Faster rounding")
	w := &jobs.PRCommentWorker{DB: db, GitHub: newTestClient(t, fake.URL), PublicURL: "http://sentinel.test", Log: testLog(t)}

	first := base.prRun(t, pr, "1111111111111111111111111111111111111111")
	first.start(t)
	first.finish(t, store.RunFailed, 2, true)
	// The creation happens on GitHub but its answer is lost: the retry
	// must find the comment by its marker instead of posting a second.
	fake.FailNext(githubtest.Fault{Kind: githubtest.LostAnswer, Method: "POST", PathPrefix: "/repos/octo/calc/issues/"})
	workComment(t, w, base.repo, pr)
	got := sentinelComments(t, fake, pr)
	if len(got) != 1 {
		t.Fatalf("%d Sentinel comments after the first run, want 1", len(got))
	}
	for _, want := range []string{"New failures", "TestCase000", "Flaky", "TestCase001", "known flaky", "[Run #"} {
		if !strings.Contains(got[0].Body, want) {
			t.Errorf("comment lacks %q:\n%s", want, got[0].Body)
		}
	}

	workComment(t, w, base.repo, pr) // nothing changed
	if creates, edits := commentCalls(fake); creates != 1 || edits != 1 {
		// the one edit: the retry after the lost answer brought the found comment up to date
		t.Errorf("%d creations and %d edits after an unchanged second job, want 1 and 1", creates, edits)
	}

	second := base.prRun(t, pr, "2222222222222222222222222222222222222222")
	second.start(t)
	second.finish(t, store.RunSucceeded, 0, false)
	workComment(t, w, base.repo, pr)
	got = sentinelComments(t, fake, pr)
	if len(got) != 1 || !strings.Contains(got[0].Body, "all steps passed") || !strings.Contains(got[0].Body, "2222222") {
		t.Fatalf("after a green run: comments %+v, want the one comment saying all steps passed at 2222222", got)
	}
	if creates, edits := commentCalls(fake); creates != 1 || edits != 2 {
		t.Errorf("%d creations and %d edits, want 1 and 2", creates, edits)
	}

	// A person deletes the comment: the next change comments anew.
	fake.DeleteComment("octo/calc", got[0].ID)
	third := base.prRun(t, pr, "3333333333333333333333333333333333333333")
	third.start(t)
	third.finish(t, store.RunFailed, 0, false)
	workComment(t, w, base.repo, pr)
	if got := sentinelComments(t, fake, pr); len(got) != 1 || !strings.Contains(got[0].Body, "3333333") {
		t.Errorf("after deletion: comments %+v, want one new comment about 3333333", got)
	}
}

// A pull request whose run passed without help gets no comment, and a run
// still in progress leaves the comment as it is.
func TestPRCommentNoneWhenGreen(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t)
	db := storetest.NewDB(t)
	base := seedRun(t, db)
	pr := fake.AddPullRequest("octo/calc", "Docs")
	w := &jobs.PRCommentWorker{DB: db, GitHub: newTestClient(t, fake.URL), PublicURL: "http://sentinel.test", Log: testLog(t)}

	run := base.prRun(t, pr, "4444444444444444444444444444444444444444")
	run.start(t)
	workComment(t, w, base.repo, pr) // still running
	run.finish(t, store.RunSucceeded, 0, false)
	workComment(t, w, base.repo, pr)
	if creates, edits := commentCalls(fake); creates != 0 || edits != 0 {
		t.Errorf("%d creations and %d edits for a green pull request, want none", creates, edits)
	}
}

// Without App credentials the recorder keeps the comment: created once,
// then edited, and listed as its last edit left it.
func TestPRCommentRecorded(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	base := seedRun(t, db)
	rec := NewRecorder(db)
	w := &jobs.PRCommentWorker{DB: db, GitHub: rec, PublicURL: "http://sentinel.test", Log: testLog(t)}

	first := base.prRun(t, 12, "5555555555555555555555555555555555555555")
	first.start(t)
	first.finish(t, store.RunFailed, 1, false)
	workComment(t, w, base.repo, 12)
	second := base.prRun(t, 12, "6666666666666666666666666666666666666666")
	second.start(t)
	second.finish(t, store.RunSucceeded, 0, false)
	workComment(t, w, base.repo, 12)

	comments, err := rec.ListComments(context.Background(), testRepo, 12)
	if err != nil {
		t.Fatal(err)
	}
	if len(comments) != 1 || !strings.Contains(comments[0].GetBody(), "6666666") {
		t.Fatalf("recorded comments %+v, want one, edited to the green run", comments)
	}
	if _, err := rec.EditComment(context.Background(), testRepo, 999999, "x"); err == nil {
		t.Error("editing a comment that was never made succeeded, want 404")
	}
}
