package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// TestSupersedePlanIsALookUpPerLane: a push's supersession reads the lane index
// with the branch in its condition, by a plain index scan. Superseded runs
// leave dead entries in the partial index until vacuum; a scan of the whole
// repository's entries, or a bitmap scan (which never marks entries dead as
// an index scan does), then visited every one of them on each push of a
// busy repository. Their waiting jobs are looked up by run id, each, not
// filtered out of all waiting jobs.
func TestSupersedePlanIsALookUpPerLane(t *testing.T) {
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
	// The plan is checked as the server runs it, a prepared statement, both
	// before the table was ever analysed (a fresh install under its first
	// load) and after, generic and custom.
	for _, analysed := range []bool{false, true} {
		if analysed {
			if _, err := db.Exec(ctx, `ANALYZE runs`); err != nil {
				t.Fatal(err)
			}
		}
		for _, mode := range []string{"force_generic_plan", "force_custom_plan"} {
			t.Run(fmt.Sprintf("analysed=%v/%s", analysed, mode), func(t *testing.T) {
				checkSupersedePlan(t, supersedePlan(t, db, mode))
			})
		}
	}
}

// supersedePlan explains the supersession of branch b0 as a prepared
// statement planned in mode (plan_cache_mode), in the intake's transaction.
func supersedePlan(t *testing.T, db *store.DB, mode string) []string {
	t.Helper()
	return explainPrepared(t, db, []string{store.SQLIntakeIndexesOnly, "SET LOCAL plan_cache_mode = " + mode},
		"(bigint[], text[], int[], bigint[], bigint[]) AS "+store.SQLSupersede,
		"('{1}', '{b0}', '{0}', '{1099511627776}', '{}')")
}

// explainPrepared explains a statement as the server runs it: prepared
// (signature "(types) AS sql"), then executed with args, in a transaction
// that first runs setup.
func explainPrepared(t *testing.T, db *store.DB, setup []string, signature, args string) []string {
	t.Helper()
	var plan []string
	err := db.InTx(context.Background(), func(tx pgx.Tx) error {
		ctx := context.Background()
		for _, s := range setup {
			if _, err := tx.Exec(ctx, s); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "PREPARE explained "+signature); err != nil {
			return err
		}
		defer tx.Exec(ctx, "DEALLOCATE explained") //nolint:errcheck // the transaction ends anyway
		rows, err := tx.Query(ctx, "EXPLAIN EXECUTE explained "+args)
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
			var line string
			err := r.Scan(&line)
			return strings.TrimSpace(line), err
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestIntakePlansUseIndexesWhileTablesGrow: a plan the intake caches while
// a table is tiny (analysed at 30 rows, as on a fresh install) still looks
// rows up by index, so that it stays cheap as the table grows before the
// next analysis. Without the intake's setting PostgreSQL caches a
// sequential scan, which the first half checks so that the second means
// something.
func TestIntakePlansUseIndexesWhileTablesGrow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.NewDB(t)
	if _, err := db.Exec(ctx, `INSERT INTO deliveries (delivery_id, event, payload)
		SELECT 'd' || g, 'push', '\x7b7d' FROM generate_series(1, 30) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `ANALYZE deliveries`); err != nil {
		t.Fatal(err)
	}
	generic := "SET LOCAL plan_cache_mode = force_generic_plan"
	seen := func(setup ...string) string {
		return strings.Join(explainPrepared(t, db, setup, "(text[]) AS "+store.SQLSeenDeliveries, "('{d1,x}')"), "\n")
	}
	if plan := seen(generic); !strings.Contains(plan, "Seq Scan on deliveries") {
		t.Fatalf("the hazard is gone: a generic plan at 30 rows no longer scans the table, so this test checks nothing:\n%s", plan)
	}
	if plan := seen(generic, store.SQLIntakeIndexesOnly); strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "deliveries_delivery_id_key") {
		t.Errorf("the intake's look-up of seen deliveries does not use the index:\n%s", plan)
	}
}

func checkSupersedePlan(t *testing.T, plan []string) {
	t.Helper()
	found, jobs := false, false
	for i, line := range plan {
		if strings.Contains(line, "Index Scan using river_job_waiting_run_idx") && i+1 < len(plan) &&
			strings.HasPrefix(plan[i+1], "Index Cond: ((args ->> 'run_id'::text) =") {
			jobs = true
		}
		if strings.HasPrefix(line, "->  Index Scan using runs_active_lane_idx") && i+1 < len(plan) &&
			strings.HasPrefix(plan[i+1], "Index Cond:") && strings.Contains(plan[i+1], "(branch = ") &&
			strings.Contains(plan[i+1], "(repository_id = ") {
			found = true
		}
	}
	if i := slices.IndexFunc(plan, func(l string) bool { return strings.Contains(l, "Seq Scan") }); i >= 0 {
		t.Errorf("a sequential scan, whose cost grows with the table (%s):\n%s", plan[i], strings.Join(plan, "\n"))
	}
	if !found {
		t.Errorf("no index scan of runs_active_lane_idx by branch:\n%s", strings.Join(plan, "\n"))
	}
	if !jobs {
		t.Errorf("the superseded runs' waiting jobs are not looked up by run id:\n%s", strings.Join(plan, "\n"))
	}
}
