package intake

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// countingTx counts the round trips a transaction makes: each statement
// sent alone, and each pgx.Batch (however many statements it holds).
// River's notification of inserted jobs is left out: River sends it at most
// once per queue in a while (its insert notify limiter), so under load it
// is shared by many batches, and whether a test's batch sends it depends on
// the clock.
type countingTx struct {
	pgx.Tx
	roundTrips, statements int
}

func (c *countingTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if !strings.HasPrefix(sql, "-- name: PGNotifyMany") {
		c.roundTrips++
		c.statements++
	}
	return c.Tx.Exec(ctx, sql, args...)
}

func (c *countingTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.roundTrips++
	c.statements++
	return c.Tx.Query(ctx, sql, args...)
}

func (c *countingTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	c.roundTrips++
	c.statements++
	return c.Tx.QueryRow(ctx, sql, args...)
}

func (c *countingTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	c.roundTrips++
	c.statements += b.Len()
	return c.Tx.SendBatch(ctx, b)
}

// TestPushWrites pins what one push that supersedes its branch's previous
// run costs the database: the rows it writes (PostgreSQL's own count for the
// transaction, pg_stat_xact_user_tables) and the round trips inside its
// transaction. Each row and round trip is CPU on both sides of every
// delivery; the budget is the intake's (issue #23).
func TestPushWrites(t *testing.T) {
	in := newBatchIntake(t)
	ctx := context.Background()
	// The view holds the backend's counts not yet flushed, earlier
	// transactions' included: the push's rows are the difference.
	written := func(tx pgx.Tx) (map[string]int64, error) {
		rows, err := tx.Query(ctx, `SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables`)
		if err != nil {
			return nil, err
		}
		m := map[string]int64{}
		for rows.Next() {
			var name string
			var n int64
			if err := rows.Scan(&name, &n); err != nil {
				return nil, err
			}
			m[name] = n
		}
		return m, rows.Err()
	}
	deliver := func(id, sha string) (rows map[string]int64, c *countingTx) {
		err := in.DB.InTx(ctx, func(tx pgx.Tx) error {
			before, err := written(tx)
			if err != nil {
				return err
			}
			c = &countingTx{Tx: tx}
			p := pending(id, "push", testPush("main", sha))
			res, err := in.recordBatch(ctx, c, []*pendingDelivery{p})
			if err != nil {
				return err
			}
			if res[0].Outcome != OutcomeAccepted {
				return fmt.Errorf("%s: %+v", id, res[0])
			}
			after, err := written(tx)
			if err != nil {
				return err
			}
			rows = map[string]int64{}
			for name, n := range after {
				if n > before[name] {
					rows[name] = n - before[name]
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return rows, c
	}
	deliver("first", fmt.Sprintf("%040x", 1))
	rows, c := deliver("second", fmt.Sprintf("%040x", 2))
	var total int64
	for _, n := range rows {
		total += n
	}
	t.Logf("a superseding push: %d rows written %v, %d statements in %d round trips", total, rows, c.statements, c.roundTrips)
	// Before issue #23: 11 rows (the delivery and the new run each updated
	// after their insert, three River jobs) in 5 round trips.
	const maxRows, maxRoundTrips = 9, 5
	if total > maxRows || c.roundTrips > maxRoundTrips {
		t.Errorf("a superseding push wrote %d rows (budget %d) in %d round trips (budget %d)", total, maxRows, c.roundTrips, maxRoundTrips)
	}
}
