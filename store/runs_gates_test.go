package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
	"github.com/sentinel-ci/sentinel/triage"
)

// TestInfraFailuresPerRepository: the infrastructure rate is counted per
// repository, as its incident is filed: a repository of the same
// installation whose runs all errored does not raise a quiet one's rate,
// and a configuration failure (a missing commit) is not infrastructure.
func TestInfraFailuresPerRepository(t *testing.T) {
	db := storetest.NewDB(t)
	ctx := context.Background()
	quiet := seedRepo(t, db)
	busy, err := store.UpsertRepository(ctx, db, store.Repository{GitHubID: 100, InstallationID: 7, FullName: "octo/busy", CloneURL: "https://example.invalid/octo/busy.git"})
	if err != nil {
		t.Fatal(err)
	}
	finish := func(repo int64, sha string, state store.RunState, cat triage.Category) {
		t.Helper()
		id, _, err := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repo, SHA: sha, Branch: "main", Trigger: "push"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.TransitionRun(ctx, db, id, []store.RunState{store.RunQueued}, state, cat, "x"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		finish(busy, fmt.Sprint("b", i), store.RunErrored, triage.CategoryInfrastructure)
		finish(quiet, fmt.Sprint("q", i), store.RunSucceeded, "")
	}
	finish(quiet, "missing", store.RunFailed, triage.CategoryConfiguration)
	since := time.Now().Add(-time.Hour)
	if total, infra, err := store.InfraFailures(ctx, db, quiet, since); err != nil || total != 6 || infra != 0 {
		t.Errorf("quiet repository: %d of %d (%v), want 0 of 6", infra, total, err)
	}
	if total, infra, err := store.InfraFailures(ctx, db, busy, since); err != nil || total != 5 || infra != 5 {
		t.Errorf("busy repository: %d of %d (%v), want 5 of 5", infra, total, err)
	}
}
