package githubapp

import (
	"context"
	"testing"

	"github.com/sentinel-ci/sentinel/app/githubapp/githubtest"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// The pull request that brought a commit: from GitHub (the fake, which
// checks the request against GitHub's description), and from the runs the
// recorder's database holds.
func TestPullRequestOfCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := githubtest.New(t)
	fake.SetFile("octo/calc", "main", "README.md", "calc\n")
	sha := "0123456789abcdef0123456789abcdef01234567"
	n := fake.MergedPull("octo/calc", "feature", "Add a feature", sha)
	gh := newTestClient(t, fake.URL)
	pr, err := gh.PullRequestOfCommit(ctx, testRepo, sha)
	if err != nil || pr.GetNumber() != n || !pr.GetMerged() {
		t.Fatalf("pull request of %s: %+v (%v), want #%d merged", sha, pr, err, n)
	}
	if pr, err := gh.PullRequestOfCommit(ctx, testRepo, "fedcba9876543210fedcba9876543210fedcba98"); err != nil || pr != nil {
		t.Errorf("a commit of no pull request: %+v (%v)", pr, err)
	}

	db := storetest.NewDB(t)
	run := seedRun(t, db)
	rec := NewRecorder(db)
	if pr, err := rec.PullRequestOfCommit(ctx, testRepo, sha); err != nil || pr != nil {
		t.Errorf("recorder, only a push run of the commit: %+v (%v)", pr, err)
	}
	if _, _, err := store.InsertRun(ctx, db, store.NewRun{RepositoryID: run.repo, SHA: sha, Ref: "refs/pull/12/head", Branch: "feature",
		Trigger: "pull_request", PRNumber: 12}); err != nil {
		t.Fatal(err)
	}
	if pr, err := rec.PullRequestOfCommit(ctx, testRepo, sha); err != nil || pr.GetNumber() != 12 {
		t.Errorf("recorder: %+v (%v), want #12", pr, err)
	}
}
