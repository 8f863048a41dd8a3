package githubapp

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// seedRecordedHistory records n earlier check runs of testRepo (each created,
// then completed), as a server in recorded mode accumulates them, and the
// statistics autovacuum would have gathered.
func seedRecordedHistory(b *testing.B, db *store.DB, n int) {
	b.Helper()
	ctx := context.Background()
	for _, st := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO outbound_calls (method, path, request, status, response, seq)
			SELECT 'POST', '/repos/octo/calc/check-runs',
				jsonb_build_object('name', 'sentinel', 'head_sha', md5(g::text), 'external_id', g::text, 'status', 'queued'),
				201, jsonb_build_object('id', g, 'name', 'sentinel', 'head_sha', md5(g::text), 'external_id', g::text, 'status', 'queued'), g
			FROM generate_series(1, $1::int) g`, []any{n}},
		{`INSERT INTO outbound_calls (method, path, request, status, response, seq)
			SELECT 'PATCH', '/repos/octo/calc/check-runs/' || c.id, '{"name": "sentinel", "conclusion": "success"}', 200,
				c.response || '{"status": "completed", "conclusion": "success"}', 1
			FROM outbound_calls c WHERE c.method = 'POST'`, nil},
		{`ANALYZE outbound_calls`, nil},
	} {
		if _, err := db.Exec(ctx, st.sql, st.args...); err != nil {
			b.Fatal(err)
		}
	}
}

// reportOnce does what one run's report jobs ask of GitHub: find the commit's
// check run, create it, mark it in progress, read it and complete it.
func reportOnce(ctx context.Context, rec *Recorder, sha string) error {
	existing, err := rec.ListCheckRunsForRef(ctx, testRepo, sha, jobs.CheckName)
	if err != nil || len(existing) != 0 {
		return fmt.Errorf("list: %d %v", len(existing), err)
	}
	cr, err := rec.CreateCheckRun(ctx, testRepo, github.CreateCheckRunOptions{Name: jobs.CheckName, HeadSHA: sha, Status: github.String("queued")})
	if err != nil {
		return err
	}
	if _, err := rec.UpdateCheckRun(ctx, testRepo, cr.GetID(), github.UpdateCheckRunOptions{Name: jobs.CheckName, Status: github.String("in_progress")}); err != nil {
		return err
	}
	done, err := rec.UpdateCheckRun(ctx, testRepo, cr.GetID(), github.UpdateCheckRunOptions{Name: jobs.CheckName, Conclusion: github.String("success")})
	if err != nil || done.GetStatus() != "completed" {
		return fmt.Errorf("complete: %v %v", done.GetStatus(), err)
	}
	return nil
}

// BenchmarkRecorderHistory measures one run's reporting in recorded mode
// against a repository with 20,000 earlier check runs, as a ratio to the
// same work against one with 1,000 (the anchor), in interleaved blocks of
// b.N reports each: a ratio near 1 means the cost does not grow with history.
//
//	go test ./app/githubapp -run '^$' -bench RecorderHistory -benchtime 40x
func BenchmarkRecorderHistory(b *testing.B) {
	ctx := context.Background()
	small, large := storetest.NewDB(b), storetest.NewDB(b)
	seedRecordedHistory(b, small, 1_000)
	seedRecordedHistory(b, large, 20_000)
	recs := []*Recorder{NewRecorder(small), NewRecorder(large)}
	const blocks = 5
	n := b.N
	sha := 0
	block := func(rec *Recorder) time.Duration {
		start := time.Now()
		for range n {
			sha++
			if err := reportOnce(ctx, rec, fmt.Sprintf("%040x", sha)); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start) / time.Duration(n)
	}
	var ratios, per [2][]float64
	b.ResetTimer()
	for i := range blocks {
		order := []int{0, 1}
		if i%2 == 1 {
			order = []int{1, 0}
		}
		var d [2]time.Duration
		for _, k := range order {
			d[k] = block(recs[k])
			per[k] = append(per[k], float64(d[k].Microseconds())/1000)
		}
		ratios[0] = append(ratios[0], float64(d[1])/float64(d[0]))
	}
	b.StopTimer()
	// make bench's names (cmd/benchtable): the figure at 20k, its anchor at
	// 1k, and their ratio, each min/med/max over the blocks.
	report := func(name string, v []float64) {
		slices.Sort(v)
		b.ReportMetric(v[0], name+"-min")
		b.ReportMetric(v[len(v)/2], name+"-med")
		b.ReportMetric(v[len(v)-1], name+"-max")
	}
	report("ms/report", per[1])
	report("anchor-ms/report", per[0])
	report("x-anchor", ratios[0])
	b.ReportMetric(0, "ns/op")
}
