package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

func TestOverviewPassRatesAndRecovery(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	var repo int64
	if err := db.QueryRow(ctx, `INSERT INTO repositories (full_name) VALUES ('o/r') RETURNING id`).Scan(&repo); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	// main: green, red, red, green 3 h after the first red; a cancelled run
	// that does not count; and a red → green 10 days ago (1 h to recover)
	// that counts for recovery (30 days) but not for the 7-day pass rate.
	runs := []struct {
		branch, state string
		ago           time.Duration
	}{ // in the order they were created, as ids are
		{"main", "failed", 240 * time.Hour},
		{"main", "succeeded", 239 * time.Hour},
		{"dev", "failed", 30 * time.Hour},
		{"main", "succeeded", 10 * time.Hour},
		{"main", "failed", 8 * time.Hour},
		{"main", "failed", 6 * time.Hour},
		{"main", "cancelled", 5*time.Hour + 30*time.Minute},
		{"main", "succeeded", 5 * time.Hour},
		{"main", "failed", 1 * time.Hour}, // red now: a break without recovery
	}
	ids := make([]int64, len(runs))
	for i, r := range runs {
		at := now.Add(-r.ago)
		if err := db.QueryRow(ctx, `INSERT INTO runs (repository_id, sha, branch, trigger, state, created_at, started_at, finished_at)
			VALUES ($1, $2, $3, 'push', $4, $5, $5, $5) RETURNING id`, repo, string(rune('a'+i)), r.branch, r.state, at).Scan(&ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	o, err := store.GetOverview(ctx, db, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.PassRate{
		{RepositoryID: repo, Repository: "o/r", Branch: "main", Runs24h: 5, Passed24h: 2, Runs7d: 5, Passed7d: 2, Recoveries: 2, MTTR: 2 * time.Hour,
			Failing: true, FailingSince: now.Add(-time.Hour), LastRunID: ids[8]},
		{RepositoryID: repo, Repository: "o/r", Branch: "dev", Runs24h: 0, Passed24h: 0, Runs7d: 1, Passed7d: 0,
			Failing: true, FailingSince: now.Add(-30 * time.Hour), LastRunID: ids[2]},
	}
	if diff := cmp.Diff(want, o.PassRates); diff != "" {
		t.Errorf("pass rates (-want +got)\n%s", diff)
	}
	if o.Recoveries != 2 || o.MTTR != 2*time.Hour {
		t.Errorf("overall recovery: %d, %s", o.Recoveries, o.MTTR)
	}
	if len(o.Durations) == 0 {
		t.Error("no duration trend")
	}
	// What to look at: both branches are red, the latest runs first.
	if got := o.FailingBranches(); len(got) != 2 {
		t.Errorf("failing branches: %v", got)
	}
	if len(o.RecentRuns) != 8 || o.RecentRuns[0].ID != ids[8] {
		t.Errorf("recent runs: %d, first %v", len(o.RecentRuns), o.RecentRuns)
	}
}
