package intake_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/app"
	"github.com/sentinel-ci/sentinel/app/apptest"
	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

// benchEvent is the event the benchmark's deliveries claim to be. "ping"
// posts the same payloads as deliveries the intake verifies, parses and
// stores, and routes nowhere: no run, no job, no audit. Its rate is the
// floor of what a push could cost, so that a goal for the push's ratio can
// be weighed against what storing a delivery alone achieves.
var benchEvent = flag.String("intake.event", "push", "the X-GitHub-Event of BenchmarkIntake's deliveries (push or ping)")

const (
	benchSenders = 64
	benchBlocks  = 5   // interleaved blocks of each phase
	minBlock     = 250 // deliveries per block when b.N is smaller
)

// BenchmarkIntake posts signed, realistic push deliveries (distinct commits
// on 64 branches, each superseding the branch's previous run) from 64
// concurrent senders through HTTP and compares their rate with an anchor
// measured on the same PostgreSQL in the same run: bare single-row INSERTs
// through the same pool at the same concurrency. The phases alternate in
// benchBlocks blocks of b.N (at least minBlock) each, so that the machine's
// noise falls on both sides; the ratio is reported as min/median/max over
// the blocks.
//
// The cluster is the benchmark's own, started with initdb like Sentinel's
// managed one: durable (fsync and synchronous_commit on), as a production
// database is, and with no other client, so that the CPU of its processes
// (from /proc, the exited ones through the postmaster's cutime) is the
// intake's. CPU per delivery is that PostgreSQL CPU plus this process's,
// less the process CPU of the same requests answered by a handler that only
// drains them (a third interleaved phase): what the senders and net/http
// cost is not the intake's. Missing PostgreSQL binaries fail the benchmark.
//
// After the blocks, b.N deliveries are offered open-loop at 1,000/s
// (GitHub does not wait for one answer before sending the next); the
// achieved rate is reported beside the latencies, which count from each
// delivery's due time so that queueing is included.
//
//	go test ./app/intake -run '^$' -bench Intake -benchtime 2000x -v
//	go test ./app/intake -run '^$' -bench Intake -benchtime 2000x -v -args -intake.event=ping
func BenchmarkIntake(b *testing.B) {
	ctx := context.Background()
	want := map[string]int{"push": http.StatusAccepted, "ping": http.StatusOK}[*benchEvent] // stored and routed; stored and ignored
	if want == 0 {
		b.Fatalf("-intake.event %q: push or ping", *benchEvent)
	}
	n := max(b.N, minBlock)
	pg := startDurablePostgres(b)
	db, err := store.Open(ctx, pg.URL(), 24, slog.New(slog.DiscardHandler)) // serve's pool size
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		b.Fatal(err)
	}
	for setting, want := range map[string]string{"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"} {
		var got string
		if err := db.QueryRow(ctx, "SELECT current_setting($1)", setting).Scan(&got); err != nil || got != want {
			b.Fatalf("the benchmark's cluster is not durable: %s = %q (%v)", setting, got, err)
		}
	}
	rc, err := jobs.NewClient(db, nil, jobs.ClientConfig{}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	s := app.NewServer(db, rc, slog.New(slog.DiscardHandler), app.Options{WebhookSecret: apptest.Secret})
	intakeServer := httptest.NewServer(s.Handler())
	defer intakeServer.Close()
	// The anchor of the process's own CPU: the same requests, drained and
	// answered without verifying, parsing or storing anything.
	nullServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(want)
	}))
	defer nullServer.Close()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchSenders}}
	template := apptest.PushPayload(b, "BRANCH", "SHA", "realistic change")
	var seq atomic.Int64
	post := func(url string) func() error {
		return func() error {
			i := seq.Add(1)
			body := bytes.Replace(template, []byte(`"SHA"`), []byte(fmt.Sprintf(`"%040x"`, i)), 1)
			body = bytes.Replace(body, []byte(`refs/heads/BRANCH`), []byte(fmt.Sprintf("refs/heads/b%d", i%benchSenders)), 1)
			req, _ := http.NewRequest("POST", url+"/webhooks/github", bytes.NewReader(body))
			req.Header.Set("X-GitHub-Event", *benchEvent)
			req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d", i))
			req.Header.Set("X-Hub-Signature-256", app.Sign(apptest.Secret, body))
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			// Drained so that the connection is reused: a sender dialling
			// anew for each delivery would spend the CPU measured here.
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				return fmt.Errorf("status %d, want %d", resp.StatusCode, want)
			}
			return nil
		}
	}
	deliver, drain := post(intakeServer.URL), post(nullServer.URL)
	if _, err := db.Exec(ctx, `CREATE TABLE bench_anchor (id bigserial PRIMARY KEY, v text)`); err != nil {
		b.Fatal(err)
	}
	insert := func() error {
		_, err := db.Exec(ctx, `INSERT INTO bench_anchor (v) VALUES ($1)`, "x")
		return err
	}

	// A production database has history and statistics about it; an empty
	// one makes the planner scan tables it believes tiny. So the measured
	// deliveries follow as many earlier ones, then ANALYZE (autovacuum's).
	// The anchor's table and the null handler's connections are warmed too.
	runConcurrently(b, n, deliver)
	runConcurrently(b, n, insert)
	runConcurrently(b, n, drain)
	if _, err := db.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}

	cpu := cpuMeter{b: b, postmaster: postmasterPID(b, pg)}
	var anchors, nulls, intakes []block
	var walBytes int64 // written by the intake blocks: what durability costs, and a count of writes the noise leaves alone
	walPosition := func() (lsn string) {
		if err := db.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&lsn); err != nil {
			b.Fatal(err)
		}
		return lsn
	}
	b.ResetTimer()
	for range benchBlocks {
		anchors = append(anchors, cpu.measure(n, insert))
		nulls = append(nulls, cpu.measure(n, drain))
		from := walPosition()
		b.StartTimer()
		intakes = append(intakes, cpu.measure(n, deliver))
		b.StopTimer()
		var bytes int64
		if err := db.QueryRow(ctx, `SELECT pg_wal_lsn_diff($1::text::pg_lsn, $2::text::pg_lsn)::bigint`, walPosition(), from).Scan(&bytes); err != nil {
			b.Fatal(err)
		}
		walBytes += bytes
	}
	start := time.Now()
	paced := runPaced(b, n, 1000, deliver)
	pacedRate := float64(n) / time.Since(start).Seconds()
	// Every answer said stored; the table must say so too, or the rate
	// counted deliveries the intake did not keep.
	var stored int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE event = $1`, *benchEvent).Scan(&stored); err != nil || stored != (benchBlocks+2)*n {
		b.Fatalf("%d %s deliveries stored, want %d (%v)", stored, *benchEvent, (benchBlocks+2)*n, err)
	}

	ratios, goCPU, pgCPU, anchorPG := make([]float64, benchBlocks), make([]float64, benchBlocks), make([]float64, benchBlocks), make([]float64, benchBlocks)
	var lat []time.Duration
	for i, in := range intakes {
		ratios[i] = in.rate / anchors[i].rate
		goCPU[i] = perOp(in.goCPU-nulls[i].goCPU, n)
		pgCPU[i] = perOp(in.pgCPU, n)
		anchorPG[i] = perOp(anchors[i].pgCPU, n)
		lat = append(lat, in.lat...)
		b.Logf("block %d: intake %.0f/s, bare INSERT %.0f/s, ratio %.2f; CPU per delivery: PostgreSQL %.3f ms, Go %.3f ms (%.3f less %.3f of the null handler); per INSERT: PostgreSQL %.3f ms",
			i+1, in.rate, anchors[i].rate, ratios[i], pgCPU[i], goCPU[i], perOp(in.goCPU, n), perOp(nulls[i].goCPU, n), anchorPG[i])
	}
	lo, med, hi := spread(ratios)
	b.Logf("ratio to bare INSERT over %d blocks of %d: min %.2f, median %.2f, max %.2f", benchBlocks, n, lo, med, hi)
	b.Logf("offered 1000/s for %d deliveries: achieved %.0f/s, p50 %v, p99 %v", n, pacedRate, percentile(paced, 50), percentile(paced, 99))
	// make bench's table reads the ratio to the anchor as x-anchor-min/-med/-max.
	b.ReportMetric(lo, "x-anchor-min")
	b.ReportMetric(med, "x-anchor-med")
	b.ReportMetric(hi, "x-anchor-max")
	b.ReportMetric(median(rates(intakes)), "deliveries/s")
	b.ReportMetric(median(rates(anchors)), "inserts/s")
	b.ReportMetric(float64(percentile(lat, 50).Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(percentile(lat, 99).Microseconds())/1000, "p99_ms")
	b.ReportMetric(median(pgCPU), "pg_cpu_ms/delivery")
	b.ReportMetric(median(goCPU), "go_cpu_ms/delivery")
	b.ReportMetric(median(pgCPU)+median(goCPU), "cpu_ms/delivery")
	b.ReportMetric(float64(walBytes)/float64(benchBlocks*n), "wal_bytes/delivery")
	b.ReportMetric(pacedRate, "achieved/s_at_1000/s")
	b.ReportMetric(float64(percentile(paced, 50).Microseconds())/1000, "p50_ms_at_1000/s")
	b.ReportMetric(float64(percentile(paced, 99).Microseconds())/1000, "p99_ms_at_1000/s")
	b.ReportMetric(0, "ns/op")
}

// startDurablePostgres starts a cluster of the benchmark's own under a
// temporary directory, with Sentinel's managed defaults (durable), and
// removes it when the benchmark ends.
func startDurablePostgres(b *testing.B) *store.ManagedPostgres {
	dir, err := os.MkdirTemp("", "sentinel-bench-pg-")
	if err != nil {
		b.Fatal(err)
	}
	os.Chmod(dir, 0o755) // the server runs as the postgres user when we are root
	pg, err := store.StartManagedPostgres(context.Background(), filepath.Join(dir, "pg"), store.ManagedOptions{}, slog.New(slog.DiscardHandler))
	if err != nil {
		os.RemoveAll(dir)
		b.Fatalf("the benchmark needs PostgreSQL's server binaries (initdb) to start a durable cluster of its own: %v", err)
	}
	b.Cleanup(func() {
		pg.Stop()
		os.RemoveAll(dir)
	})
	return pg
}

// postmasterPID reads the cluster's postmaster.pid.
func postmasterPID(b *testing.B, pg *store.ManagedPostgres) int {
	data, err := os.ReadFile(filepath.Join(pg.Dir, "data", "postmaster.pid"))
	if err != nil {
		b.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0]))
	if err != nil {
		b.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}

// block is one phase's block: its rate, each call's latency, and the CPU
// this process and the cluster spent on it.
type block struct {
	rate         float64
	lat          []time.Duration
	goCPU, pgCPU time.Duration
}

// cpuMeter reads the CPU time of this process and of the cluster.
type cpuMeter struct {
	b          *testing.B
	postmaster int
}

func (m cpuMeter) measure(n int, fn func() error) block {
	// Reading the cluster's CPU walks /proc: done outside the process's
	// own measurement.
	pg0 := m.clusterCPU()
	go0 := processCPU(m.b)
	start := time.Now()
	lat := runConcurrently(m.b, n, fn)
	elapsed := time.Since(start)
	goCPU := processCPU(m.b) - go0
	return block{rate: float64(n) / elapsed.Seconds(), lat: lat, goCPU: goCPU, pgCPU: m.clusterCPU() - pg0}
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clusterCPU is the CPU time of the postmaster and every process it
// started: the living ones from /proc/PID/schedstat (nanoseconds), the
// exited ones (connections closed, autovacuum workers) from the
// postmaster's cutime and cstime, which count its reaped children.
func (m cpuMeter) clusterCPU() time.Duration {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		m.b.Fatal(err)
	}
	var total time.Duration
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // exited meanwhile
		}
		// Fields after the command name, which is in parentheses: state,
		// ppid, ..., utime (14), stime, cutime, cstime (17).
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if ppid, _ := strconv.Atoi(f[1]); pid != m.postmaster && ppid != m.postmaster {
			continue
		}
		sched, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
		if err != nil {
			continue
		}
		ns, _ := strconv.ParseInt(strings.Fields(string(sched))[0], 10, 64)
		total += time.Duration(ns)
		if pid == m.postmaster {
			cutime, _ := strconv.ParseInt(f[13], 10, 64)
			cstime, _ := strconv.ParseInt(f[14], 10, 64)
			total += time.Duration(cutime+cstime) * 10 * time.Millisecond // USER_HZ is 100 on Linux
		}
	}
	return total
}

func perOp(d time.Duration, n int) float64 {
	return float64(d) / float64(time.Millisecond) / float64(n)
}

func rates(bs []block) []float64 {
	out := make([]float64, len(bs))
	for i, bl := range bs {
		out[i] = bl.rate
	}
	return out
}

func median(v []float64) float64 {
	_, m, _ := spread(v)
	return m
}

func spread(v []float64) (lo, med, hi float64) {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[0], s[len(s)/2], s[len(s)-1]
}

// runConcurrently runs fn n times from benchSenders goroutines and returns
// each call's latency; any error fails the benchmark.
func runConcurrently(b *testing.B, n int, fn func() error) []time.Duration {
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
		b.Fatal(err)
	}
	return lat
}

// runPaced starts fn n times at perSecond, from up to benchSenders
// goroutines, and returns each call's latency from its due time.
func runPaced(b *testing.B, n int, perSecond float64, fn func() error) []time.Duration {
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
		b.Fatal(err)
	}
	return lat
}

func percentile(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100]
}
