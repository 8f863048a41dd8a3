package jobs

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/triage"
)

// BenchmarkRecordAndScoreRun records a run of 5,000 test results and runs
// triage.analyze on it (failures, clusters, every test's flaky score,
// incident policy) with 1M historical results already in the table.
// "steady": the tests' windows are full, as after a long history, so only
// the tests whose state moved are written; "all-written": every window
// still grows, so all 5,000 rows are written each run.
//
//	go test ./jobs/ -run '^$' -bench RecordAndScore -benchtime 20x
func BenchmarkRecordAndScoreRun(b *testing.B) {
	const tests, history = 5000, 1_000_000
	s := newScenario(b)
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
	if _, err := s.db.Exec(s.ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
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
	b.Run("steady", func(b *testing.B) { benchRuns(b, s, &runs) })
	if _, err := s.db.Exec(s.ctx, `UPDATE tests SET window_n = 0, window_bits = 0, runs = 0`); err != nil {
		b.Fatal(err)
	}
	b.Run("all-written", func(b *testing.B) { benchRuns(b, s, &runs) })
}

func benchRuns(b *testing.B, s *scenario, runs *int) {
	const tests = 5000
	var record, analyze time.Duration
	for i := 0; i < b.N; i++ {
		*runs++
		i := *runs
		start := time.Now()
		cases := suiteN(tests, i%tests) // one failing test per run
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
		if err != nil || res.Tests != tests {
			b.Fatalf("analyze: %d tests, %v", res.Tests, err)
		}
		record += mid.Sub(start)
		analyze += time.Since(mid)
	}
	b.ReportMetric(float64(record.Milliseconds())/float64(b.N), "record-ms/op")
	b.ReportMetric(float64(analyze.Milliseconds())/float64(b.N), "analyze-ms/op")
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
