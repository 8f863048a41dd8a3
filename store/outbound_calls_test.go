package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// TestOutboundCallLookups: sequence numbers count per method and path, and
// each look-up answers from its own method and path only, among calls to
// other paths and repositories.
func TestOutboundCallLookups(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	record := func(method, path, req string) store.OutboundCall {
		t.Helper()
		c, err := store.RecordOutboundCall(ctx, db, store.OutboundCall{Method: method, Path: path, Request: json.RawMessage(req), Recorded: true},
			func(id int64, seq int) (int, json.RawMessage, error) {
				return 201, json.RawMessage(fmt.Sprintf(`{"id": %d, "number": %d}`, id, seq)), nil
			})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	const runs, runs2, issues = "/repos/o/r/check-runs", "/repos/o/r2/check-runs", "/repos/o/r/issues"
	a1 := record("POST", runs, `{"head_sha": "aaa", "name": "x"}`)
	issue1 := record("POST", issues, `{"title": "one"}`)
	other := record("POST", runs2, `{"head_sha": "aaa", "name": "x"}`)
	b1 := record("POST", runs, `{"head_sha": "bbb", "name": "x"}`)
	issue2 := record("POST", issues, `{"title": "two"}`)
	a2 := record("POST", runs, `{"head_sha": "aaa", "name": "y"}`)
	record("PATCH", fmt.Sprintf("%s/%d", runs, a1.ID), `{"status": "in_progress"}`)
	done := record("PATCH", fmt.Sprintf("%s/%d", runs, a1.ID), `{"status": "completed"}`)

	for _, c := range []struct {
		name string
		call store.OutboundCall
		seq  int
	}{{"first check run", a1, 1}, {"other repository", other, 1}, {"second check run", b1, 2}, {"third check run", a2, 3},
		{"first issue", issue1, 1}, {"second issue", issue2, 2}, {"second patch", done, 2}} {
		if c.call.Seq != c.seq {
			t.Errorf("%s: seq %d, want %d", c.name, c.call.Seq, c.seq)
		}
	}

	last, err := store.LastOutboundCallAt(ctx, db, "PATCH", fmt.Sprintf("%s/%d", runs, a1.ID))
	if err != nil || last.ID != done.ID || string(last.Request) != `{"status": "completed"}` {
		t.Errorf("last PATCH of check run %d: %d %s %v, want %d", a1.ID, last.ID, last.Request, err, done.ID)
	}
	if _, err := store.LastOutboundCallAt(ctx, db, "PATCH", fmt.Sprintf("%s/%d", runs, b1.ID)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("last PATCH of a check run never updated: %v, want ErrNotFound", err)
	}
	if got, err := store.OutboundCallAtID(ctx, db, "POST", runs, b1.ID); err != nil || got.ID != b1.ID {
		t.Errorf("check run %d by id: %d %v", b1.ID, got.ID, err)
	}
	if _, err := store.OutboundCallAtID(ctx, db, "POST", runs, other.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another repository's check run by id: %v, want ErrNotFound", err)
	}
	if got, err := store.OutboundCallAtSeq(ctx, db, "POST", issues, 2); err != nil || got.ID != issue2.ID {
		t.Errorf("issue #2: call %d %v, want %d", got.ID, err, issue2.ID)
	}
	if _, err := store.OutboundCallAtSeq(ctx, db, "POST", issues, 3); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("issue #3, never created: %v, want ErrNotFound", err)
	}
	shaCalls, err := store.OutboundCheckRunsFor(ctx, db, runs, "aaa")
	if err != nil || len(shaCalls) != 2 || shaCalls[0].ID != a1.ID || shaCalls[1].ID != a2.ID {
		t.Errorf("check runs of aaa: %+v %v, want calls %d and %d", shaCalls, err, a1.ID, a2.ID)
	}
	all, err := store.OutboundCallsAt(ctx, db, "POST", runs)
	if err != nil || len(all) != 3 || all[0].ID != a1.ID || all[2].ID != a2.ID {
		t.Errorf("calls at %s: %d %v, want 3 oldest first", runs, len(all), err)
	}
}

// TestOutboundLookupsUseIndexes: with sequential scans priced out, every
// query of recorded mode reads the index made for it (not the whole table in
// id order through the primary key), so its cost does not grow with the
// number of recorded calls.
func TestOutboundLookupsUseIndexes(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	// Some history and its statistics, as a server has: on an empty table
	// the planner's choice says nothing.
	if _, err := db.Exec(ctx, `INSERT INTO outbound_calls (method, path, request, seq)
		SELECT CASE WHEN g % 3 = 0 THEN 'PATCH' ELSE 'POST' END, '/repos/o/r' || (g % 20) || '/check-runs',
			jsonb_build_object('head_sha', md5(g::text)), g
		FROM generate_series(1, 5000) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `ANALYZE outbound_calls`); err != nil {
		t.Fatal(err)
	}
	for _, q := range store.OutboundLookups {
		var plan []string
		err := db.InTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, "EXPLAIN "+q.SQL, q.Args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					return err
				}
				plan = append(plan, line)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		text := strings.Join(plan, "\n")
		if strings.Contains(text, "Seq Scan") || !strings.Contains(text, " "+q.Index+" ") && !strings.HasSuffix(text, " "+q.Index) && !strings.Contains(text, " "+q.Index+"\n") {
			t.Errorf("%s does not read outbound_calls through %s:\n%s", q.Name, q.Index, text)
		}
	}
}
