package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// TestSupersedeReadsOneBranch: a push's supersession reads the lane index
// with the branch in its condition, by a plain index scan. Superseded runs
// leave dead entries in the partial index until vacuum; a scan of the whole
// repository's entries, or a bitmap scan (which never marks entries dead as
// an index scan does), then visited every one of them on each push of a
// busy repository. Their waiting jobs are looked up by run id, each, not
// filtered out of all waiting jobs.
func TestSupersedeReadsOneBranch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.NewDB(t)
	repo, err := store.UpsertRepository(ctx, db, store.Repository{GitHubID: 1, FullName: "o/r"})
	if err != nil {
		t.Fatal(err)
	}
	// A history of pushes to four branches, each superseding the last.
	for i := range 40 {
		var news []store.NewRun
		for b := range 4 {
			news = append(news, store.NewRun{RepositoryID: repo, SHA: fmt.Sprintf("%040x", i*4+b), Branch: fmt.Sprint("b", b), Trigger: "push"})
		}
		ids, _, err := store.InsertRuns(ctx, db, news)
		if err != nil {
			t.Fatal(err)
		}
		for b, n := range news {
			if _, err := store.SupersedeRuns(ctx, db, repo, n.Branch, 0, ids[b]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := db.Exec(ctx, `ANALYZE runs`); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(ctx, "EXPLAIN "+store.SQLSupersede, []int64{repo}, []string{"b0"}, []int32{0}, []int64{1 << 40}, []int64{})
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, strings.TrimSpace(line))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	found, jobs := false, false
	for i, line := range plan {
		if strings.Contains(line, "Index Scan using river_job_waiting_run_idx") && i+1 < len(plan) &&
			strings.HasPrefix(plan[i+1], "Index Cond: ((args ->> 'run_id'::text) =") {
			jobs = true
		}
		if strings.HasPrefix(line, "->  Index Scan using runs_active_lane_idx") && i+1 < len(plan) &&
			strings.HasPrefix(plan[i+1], "Index Cond:") && strings.Contains(plan[i+1], "(branch = ") {
			found = true
		}
	}
	if !found {
		t.Errorf("no index scan of runs_active_lane_idx by branch:\n%s", strings.Join(plan, "\n"))
	}
	if !jobs {
		t.Errorf("the superseded runs' waiting jobs are not looked up by run id:\n%s", strings.Join(plan, "\n"))
	}
}
