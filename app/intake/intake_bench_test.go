package intake_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/app"
	"github.com/sentinel-ci/sentinel/app/apptest"
	"github.com/sentinel-ci/sentinel/app/intake"
	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

const benchSenders = 64

// BenchmarkIntake posts signed, realistic push deliveries (distinct commits
// on 64 branches, each superseding the branch's previous run) from 64
// concurrent senders through HTTP, after as many earlier deliveries, and reports
// accepted deliveries/s with p50/p99 latency to the 202, beside a baseline
// measured in the same run: bare single-row inserts through the same pool at
// the same concurrency. A second reference shows the ceiling of any intake
// here: the same requests answered once verified and parsed, without the
// database.
//
//	go test ./app/intake -run '^$' -bench Intake -benchtime 4000x
func BenchmarkIntake(b *testing.B) {
	db, err := store.Open(context.Background(), storetest.URL(b), 24, slog.New(slog.DiscardHandler)) // serve's pool size
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rc, err := jobs.NewClient(db, nil, jobs.ClientConfig{}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	s := app.NewServer(db, rc, slog.New(slog.DiscardHandler), app.Options{WebhookSecret: apptest.Secret})
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchSenders}}
	template := apptest.PushPayload(b, "BRANCH", "SHA", "realistic change")

	var seq atomic.Int64
	url := hs.URL
	post := func() error {
		i := seq.Add(1)
		body := bytes.Replace(template, []byte(`"SHA"`), []byte(fmt.Sprintf(`"%040x"`, i)), 1)
		body = bytes.Replace(body, []byte(`refs/heads/BRANCH`), []byte(fmt.Sprintf("refs/heads/b%d", i%benchSenders)), 1)
		req, _ := http.NewRequest("POST", url+"/webhooks/github", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d-%d", b.N, i))
		req.Header.Set("X-Hub-Signature-256", app.Sign(apptest.Secret, body))
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		// Drained so that the connection is reused: a sender dialling anew
		// for each delivery would spend the CPU the server is measured on.
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	// A production database has history and statistics about it; an empty
	// one makes the planner scan tables it believes tiny. So the measured
	// deliveries follow as many earlier ones, then ANALYZE (autovacuum's).
	runConcurrently(b.N, post)
	if _, err := db.Exec(context.Background(), `ANALYZE`); err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	start := time.Now()
	lat := runConcurrently(b.N, post)
	elapsed := time.Since(start)
	b.StopTimer()

	// The same deliveries offered open-loop at a fixed 1,000/s (GitHub does
	// not wait for one answer before sending the next), latency counted from
	// each delivery's due time so that queueing is included.
	paced := runPaced(b.N, 1000, post)

	if _, err := db.Exec(context.Background(), `CREATE TABLE IF NOT EXISTS bench_baseline (id bigserial PRIMARY KEY, v text)`); err != nil {
		b.Fatal(err)
	}
	baseStart := time.Now()
	runConcurrently(b.N, func() error {
		_, err := db.Exec(context.Background(), `INSERT INTO bench_baseline (v) VALUES ($1)`, "x")
		return err
	})
	baseRate := float64(b.N) / time.Since(baseStart).Seconds()

	// A ceiling without the database: the same requests, answered once
	// verified and parsed. No intake can beat it on this machine.
	verifyOnly := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !app.ValidSignature(apptest.Secret, body, r.Header.Get("X-Hub-Signature-256")) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if _, err := intake.ParseEvent(r.Header.Get("X-GitHub-Event"), body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer verifyOnly.Close()
	url = verifyOnly.URL
	ceilingStart := time.Now()
	runConcurrently(b.N, post)
	ceiling := float64(b.N) / time.Since(ceilingStart).Seconds()

	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "deliveries/s")
	b.ReportMetric(float64(percentile(lat, 50).Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(percentile(lat, 99).Microseconds())/1000, "p99_ms")
	b.ReportMetric(baseRate, "baseline_inserts/s")
	b.ReportMetric(rate/baseRate, "ratio_to_baseline")
	b.ReportMetric(ceiling, "verify_parse_only/s")
	b.ReportMetric(float64(percentile(paced, 50).Microseconds())/1000, "p50_ms_at_1000/s")
	b.ReportMetric(float64(percentile(paced, 99).Microseconds())/1000, "p99_ms_at_1000/s")
	b.ReportMetric(0, "ns/op")
}

// runConcurrently runs fn n times from benchSenders goroutines and returns
// each call's latency; any error fails loudly.
func runConcurrently(n int, fn func() error) []time.Duration {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range benchSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t0 := time.Now()
				if err := fn(); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		panic(err)
	}
	return lat
}

// runPaced starts fn n times at perSecond, from up to benchSenders
// goroutines, and returns each call's latency from its due time.
func runPaced(n int, perSecond float64, fn func() error) []time.Duration {
	lat := make([]time.Duration, n)
	start := time.Now()
	due := func(i int) time.Time { return start.Add(time.Duration(float64(i) / perSecond * float64(time.Second))) }
	work := make(chan int)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range benchSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := fn(); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
				lat[i] = time.Since(due(i))
			}
		}()
	}
	for i := range n {
		time.Sleep(time.Until(due(i)))
		work <- i
	}
	close(work)
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		panic(err)
	}
	return lat
}

func percentile(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100]
}
