package store_test

import (
	"context"
	"fmt"
	"log/slog"
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
			if _, err := store.SupersedeRunsBatch(ctx, db, []store.Supersession{{RepositoryID: repo, Branch: n.Branch, NewRunID: ids[b]}}, nil); err != nil {
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
	return explainPrepared(t, db, []string{store.SQLIntakePlans, "SET LOCAL plan_cache_mode = " + mode},
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
	if plan := seen(generic, store.SQLIntakePlans); strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "deliveries_delivery_id_key") {
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

// TestIntakePlansOncePerConnection: the intake's statements are planned once
// per connection and the plan reused, not planned again on every batch.
// Under PostgreSQL's default (plan_cache_mode auto) the supersession, whose
// generic plan the planner rates dearer than the custom ones it tried
// first, was planned anew on every batch: 0.64 ms each, more than it took
// to run, the largest cost of a delivery under load.
func TestIntakePlansOncePerConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.URL(t), 1, slog.New(slog.DiscardHandler)) // one connection: its plans are the ones counted
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	repo, err := store.UpsertRepository(ctx, db, store.Repository{GitHubID: 1, FullName: "o/r"})
	if err != nil {
		t.Fatal(err)
	}
	const batches = 12 // PostgreSQL tries five custom plans before it may settle on the generic one
	for i := range batches {
		err := db.InTx(ctx, func(tx pgx.Tx) error {
			if _, _, err := store.LookupDeliveries(ctx, tx, []string{fmt.Sprint("d", i)}, []int64{1}, []store.RepoRef{{GitHubID: 1}}); err != nil {
				return err
			}
			var news []store.NewRun
			for b := range 2 {
				news = append(news, store.NewRun{RepositoryID: repo, SHA: fmt.Sprintf("%040x", i*2+b), Branch: fmt.Sprint("b", b), Trigger: "push"})
			}
			ids, _, err := store.InsertRuns(ctx, tx, news)
			if err != nil {
				return err
			}
			_, err = store.SupersedeRunsBatch(ctx, tx, []store.Supersession{
				{RepositoryID: repo, Branch: "b0", NewRunID: ids[0]}, {RepositoryID: repo, Branch: "b1", NewRunID: ids[1]},
			}, ids)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The statements run once per batch; the set-up's ran once.
	rows, err := db.Query(ctx, `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements
		WHERE NOT from_sql AND generic_plans + custom_plans >= $1`, batches)
	if err != nil {
		t.Fatal(err)
	}
	type prepared struct {
		sql             string
		generic, custom int64
	}
	stmts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (p prepared, err error) {
		err = r.Scan(&p.sql, &p.generic, &p.custom)
		return p, err
	})
	if err != nil {
		t.Fatal(err)
	}
	supersession := false
	for _, p := range stmts {
		if p.custom > 0 {
			t.Errorf("planned anew for %d of its %d executions:\n%s", p.custom, p.generic+p.custom, p.sql)
		}
		supersession = supersession || p.sql == store.SQLSupersede
	}
	if !supersession {
		t.Fatalf("the supersession is not among the connection's prepared statements, so this test checks nothing: %d statements", len(stmts))
	}
}
