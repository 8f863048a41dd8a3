package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// exactQueueDepths is what the dashboard ran before QueueDepths was bounded:
// every unfinished job counted. It is the anchor of BenchmarkQueueDepths.
const exactQueueDepths = `SELECT queue,
		count(*) FILTER (WHERE state = 'available'), count(*) FILTER (WHERE state = 'scheduled'),
		count(*) FILTER (WHERE state = 'retryable'), count(*) FILTER (WHERE state = 'running'),
		count(*) FILTER (WHERE state = 'discarded')
	FROM river_job WHERE state IN ('available', 'scheduled', 'retryable', 'running', 'discarded')
	GROUP BY queue ORDER BY queue`

// BenchmarkQueueDepths reads the dashboard's queue depths with 21,000 jobs
// waiting (and 100,000 finished), as a ratio to counting them exactly (the
// query it replaced), both timed in 5 interleaved blocks of b.N reads.
//
//	go test ./store -run '^$' -bench QueueDepths -benchtime 50x
func BenchmarkQueueDepths(b *testing.B) {
	db := storetest.NewDB(b)
	ctx := context.Background()
	for _, sql := range []string{
		`INSERT INTO river_job (kind, args, queue, state, finalized_at)
			SELECT 'bench', '{}', (ARRAY['runs', 'github', 'triage'])[1 + g % 3],
				CASE WHEN g <= 21000 THEN 'available' ELSE 'completed' END::river_job_state,
				CASE WHEN g > 21000 THEN now() END
			FROM generate_series(1, 121000) g`,
		`VACUUM ANALYZE river_job`,
	} {
		if _, err := db.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
	exact := func() {
		rows, err := db.Query(ctx, exactQueueDepths)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
		}
		if rows.Close(); rows.Err() != nil {
			b.Fatal(rows.Err())
		}
	}
	bounded := func() {
		d, err := store.QueueDepths(ctx, db)
		if err != nil || len(d) != 3 || d[0].Available != store.MaxQueueDepth+1 {
			b.Fatalf("queue depths %+v, %v", d, err)
		}
	}
	timed := func(f func()) time.Duration {
		start := time.Now()
		for range b.N {
			f()
		}
		return time.Since(start) / time.Duration(b.N)
	}
	const blocks = 5
	var ratios, ms, anchorMS []float64
	b.ResetTimer()
	for i := range blocks {
		var a, n time.Duration
		if i%2 == 0 {
			a, n = timed(exact), timed(bounded)
		} else {
			n, a = timed(bounded), timed(exact)
		}
		ratios = append(ratios, float64(n)/float64(a))
		ms = append(ms, float64(n.Microseconds())/1000)
		anchorMS = append(anchorMS, float64(a.Microseconds())/1000)
	}
	b.StopTimer()
	slices.Sort(ratios)
	slices.Sort(ms)
	slices.Sort(anchorMS)
	b.ReportMetric(ms[blocks/2], "ms/read")
	b.ReportMetric(anchorMS[blocks/2], "ms/exact-count")
	b.ReportMetric(ratios[0], "ratio-to-exact-min")
	b.ReportMetric(ratios[blocks/2], "ratio-to-exact-median")
	b.ReportMetric(ratios[blocks-1], "ratio-to-exact-max")
	b.ReportMetric(0, "ns/op")
}
