package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// BenchmarkRecordAndScoreRun records a run of N test results (1,000 and
// 5,000) and runs triage.analyze on it (failures, clusters, every test's
// flaky score, incident policy) with 1M historical results already in the
// table, on a durable PostgreSQL cluster of its own (fsync on, as in
// production). "steady": the tests' windows are full, as after a long
// history, so only the tests whose state moved are written; "all-written":
// every window still grows, so every test's row is written each run.
//
// The anchor is the bare cost of the same rows: one COPY of N rows into a
// table without constraints or indexes, committed. Anchor and run alternate
// in blocks (which goes first alternates too); each figure is the
// min/median/max over the blocks, and x-anchor is the median of each
// block's ratio. The goal: record + score of 5,000 results within 150 ms.
//
//	go test ./jobs/ -run '^$' -bench RecordAndScore -benchtime 1x
func BenchmarkRecordAndScoreRun(b *testing.B) {
	const tests, history = 5000, 1_000_000
	s := newScenarioOn(b, durableDB(b))
	// The tests exist once, from a first real run.
	s.run("seed", "main", 1, suiteN(tests, -1))
	// 200 earlier runs of 5,000 results each, in one statement.
	_, err := s.db.Exec(s.ctx, `
		WITH r AS (
			INSERT INTO runs (repository_id, sha, branch, trigger, external_id, state, finished_at)
			SELECT $1, 'hist' || g, 'main', 'external', 'hist' || g, 'succeeded', now()
			FROM generate_series(1, $2::int / $3::int) g RETURNING id)
		INSERT INTO test_results (run_id, test_id, attempt, outcome)
		SELECT r.id, t.id, 1, CASE WHEN (r.id + t.id) % 97 = 0 THEN 'fail' ELSE 'pass' END
		FROM r CROSS JOIN (SELECT id FROM tests WHERE repository_id = $1) t`, s.repoID, history, tests)
	if err != nil {
		b.Fatal(err)
	}
	for _, sql := range []string{`CREATE TABLE bench_anchor (LIKE test_results INCLUDING DEFAULTS)`, `VACUUM ANALYZE`} {
		if _, err := s.db.Exec(s.ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
	var n int
	if err := s.db.QueryRow(s.ctx, `SELECT count(*) FROM test_results`).Scan(&n); err != nil || n < history {
		b.Fatalf("seeded %d results: %v", n, err)
	}
	full := triage.ScoreOutcomes(make([]bool, 50), triage.FlakyConfig{})
	if _, err := s.db.Exec(s.ctx, `UPDATE tests SET window_n = 50, runs = 50, score = $1`, full.Probability); err != nil {
		b.Fatal(err)
	}
	runs := 0
	for _, size := range []int{1000, tests} {
		b.Run(fmt.Sprintf("steady/results=%d", size), func(b *testing.B) { benchRuns(b, s, size, &runs) })
	}
	if _, err := s.db.Exec(s.ctx, `UPDATE tests SET window_n = 0, window_bits = 0, runs = 0`); err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{1000, tests} {
		b.Run(fmt.Sprintf("all-written/results=%d", size), func(b *testing.B) { benchRuns(b, s, size, &runs) })
	}
}

// benchRuns measures blocks of (anchor, record + score) for runs of size
// results, five blocks per iteration.
func benchRuns(b *testing.B, s *scenario, size int, runs *int) {
	const blocks = 5
	var anchor, record, score, total, ratio []float64
	for b.Loop() {
		for block := range blocks {
			*runs++
			i := *runs
			var a, rec, sc time.Duration
			if block%2 == 0 {
				a = benchAnchor(b, s, size)
			}
			rec, sc = benchRecordAndScore(b, s, size, i)
			if block%2 == 1 {
				a = benchAnchor(b, s, size)
			}
			anchor, record, score = append(anchor, ms(a)), append(record, ms(rec)), append(score, ms(sc))
			total, ratio = append(total, ms(rec+sc)), append(ratio, float64(rec+sc)/float64(a))
		}
	}
	report := func(name string, v []float64) {
		slices.Sort(v)
		b.ReportMetric(v[0], name+"-min")
		b.ReportMetric(v[len(v)/2], name+"-med")
		b.ReportMetric(v[len(v)-1], name+"-max")
	}
	report("anchor-ms", anchor)
	report("record-ms", record)
	report("score-ms", score)
	report("record+score-ms", total)
	report("x-anchor", ratio)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchRecordAndScore records run i of size results (one failing) as an
// external run and analyses it, returning the time of each.
func benchRecordAndScore(b *testing.B, s *scenario, size, i int) (record, score time.Duration) {
	cases := suiteN(size, i%size)
	start := time.Now()
	var id int64
	err := s.db.InTx(s.ctx, func(tx pgx.Tx) error {
		var err error
		id, _, err = RecordExternalRun(s.ctx, tx, s.rc, ExternalResults{RepositoryID: s.repoID, SHA: fmt.Sprintf("bench%d", i),
			Branch: "main", ExternalID: fmt.Sprint("bench", i), Results: &triage.Results{Format: "junit", Tests: cases}})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	mid := time.Now()
	res, err := s.w.Analyze(s.ctx, s.rc, id)
	if err != nil || res.Tests != size {
		b.Fatalf("analyze: %d tests, %v", res.Tests, err)
	}
	return mid.Sub(start), time.Since(mid)
}

// benchAnchor copies size result rows into bench_anchor, a table without
// constraints or indexes, in a transaction of its own.
func benchAnchor(b *testing.B, s *scenario, size int) time.Duration {
	rows := make([][]any, size)
	for i := range rows {
		rows[i] = []any{int64(1), nil, int64(i + 1), int32(1), "pass", int32(0), "", int32(0), ""}
	}
	start := time.Now()
	err := s.db.InTx(s.ctx, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(s.ctx, pgx.Identifier{"bench_anchor"},
			[]string{"run_id", "step_id", "test_id", "attempt", "outcome", "duration_ms", "file", "line", "message"},
			pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// durableDB starts a PostgreSQL cluster of the benchmark's own with the
// durability of production (fsync and synchronous commit on; the shared
// test server runs without them) and returns a pool on it, migrated.
func durableDB(b *testing.B) *store.DB {
	b.Helper()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sentinel-bench-pg-")
	if err != nil {
		b.Fatal(err)
	}
	os.Chmod(dir, 0o755) // the server runs as the postgres user when the benchmark runs as root
	b.Cleanup(func() { os.RemoveAll(dir) })
	pg, err := store.StartManagedPostgres(ctx, filepath.Join(dir, "pg"), store.ManagedOptions{}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatalf("durable cluster: %v", err)
	}
	b.Cleanup(func() { pg.Stop() })
	var fsync, sync string
	db, err := store.Open(ctx, pg.URL(), 10, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	if err := db.QueryRow(ctx, `SELECT current_setting('fsync'), current_setting('synchronous_commit')`).Scan(&fsync, &sync); err != nil || fsync != "on" || sync != "on" {
		b.Fatalf("durable cluster: fsync %q, synchronous_commit %q, %v", fsync, sync, err)
	}
	if err := db.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		b.Fatal(err)
	}
	return db
}

func suiteN(n, failing int) []triage.TestCase {
	out := make([]triage.TestCase, n)
	for i := range out {
		out[i] = triage.TestCase{Package: fmt.Sprintf("example.com/pkg%02d", i%50), Name: fmt.Sprintf("Test%04d", i),
			Attempt: 1, Outcome: triage.OutcomePass}
		if i == failing {
			out[i].Outcome, out[i].Message = triage.OutcomeFail, "expected 3, got 4"
		}
	}
	return out
}
