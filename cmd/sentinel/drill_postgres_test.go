package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/store"
)

// Drill b: a stream of signed push deliveries to a real serve while its
// PostgreSQL (a private cluster) is restarted twice, fast then immediate.
// Every delivery answered 2xx must be stored afterwards (none lost), and of
// the deliveries sent while the fast restart was under way at least 90%
// must be acknowledged, after the intake's retries (≤ 8 s, then 503).
func TestDrillPostgresRestart(t *testing.T) {
	total, rate := drillSize(2000, 300), drillSize(100, 60) // deliveries, per second
	dir, err := os.MkdirTemp("", "sentinel-drill-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // the server runs as postgres when we are root
	ctx := context.Background()
	pgLog := newLogger(testWriter{t}, "warn")
	pg, err := store.StartManagedPostgres(ctx, filepath.Join(dir, "pg"), store.ManagedOptions{}, pgLog)
	if err != nil {
		t.Fatal(err)
	}
	var pgMu sync.Mutex
	t.Cleanup(func() { pgMu.Lock(); pg.Stop(); pgMu.Unlock() })
	// Runs of these deliveries fail fast at checkout (their commits do not
	// exist) and later pushes supersede earlier ones: the drill loads the
	// intake, not the runner.
	d := newDrill(t, pg.URL(), "SENTINEL_EXECUTOR=shell", "SENTINEL_CONCURRENCY=1")
	serve := d.start("serve")
	d.commit("stream", map[string]string{"README": "drill"}) // the repository exists; the pushed commits do not

	type result struct {
		id     string
		sent   time.Time
		status int
	}
	results := make([]result, total)
	type window struct{ from, to time.Time }
	windows := map[string]*window{}
	restart := func(mode string) {
		pgMu.Lock()
		defer pgMu.Unlock()
		w := &window{from: time.Now()}
		windows[mode] = w
		var err error
		if mode == "fast" {
			err = pg.Stop()
		} else {
			err = pg.StopImmediate()
		}
		if err != nil {
			t.Errorf("%s stop: %v", mode, err)
		}
		next, err := store.StartManagedPostgres(ctx, pg.Dir, store.ManagedOptions{Port: pg.Port}, pgLog)
		if err != nil {
			t.Errorf("restart after %s stop: %v", mode, err)
			return
		}
		pg = next
		w.to = time.Now()
	}

	client := &http.Client{Timeout: 30 * time.Second}
	var sends, restarts sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	start := time.Now()
	for i := range total {
		switch i {
		case total / 3:
			restarts.Add(1)
			go func() { defer restarts.Done(); restart("fast") }()
		case 2 * total / 3:
			restarts.Wait() // one restart at a time
			restarts.Add(1)
			go func() { defer restarts.Done(); restart("immediate") }()
		}
		<-tick.C
		sends.Add(1)
		go func() {
			defer sends.Done()
			var b [8]byte
			rand.Read(b[:])
			sha := hex.EncodeToString(b[:]) + hex.EncodeToString(b[:]) + hex.EncodeToString(b[:4])
			branch := fmt.Sprintf("b%d", i%20)
			r := result{id: fmt.Sprintf("pg-%d-%s", i, hex.EncodeToString(b[:4])), sent: time.Now()}
			r.status = d.deliver(client, serve, r.id, d.pushBody("stream", 77, branch, sha))
			results[i] = r
		}()
	}
	sends.Wait()
	restarts.Wait()
	elapsed := time.Since(start)

	db := d.openDB()
	var acked []string
	codes := map[int]int{}
	inWindow := map[string][2]int{} // mode → {sent, acknowledged}
	for _, r := range results {
		codes[r.status]++
		ok := r.status >= 200 && r.status < 300
		if ok {
			acked = append(acked, r.id)
		}
		for mode, w := range windows {
			if !r.sent.Before(w.from) && !r.sent.After(w.to) {
				n := inWindow[mode]
				n[0]++
				if ok {
					n[1]++
				}
				inWindow[mode] = n
			}
		}
	}
	var stored int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE delivery_id = ANY($1)`, acked).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	lost := len(acked) - stored
	t.Logf("drill postgres restart: %d deliveries at %d/s in %v; answers %v (0 = no answer)", total, rate, elapsed.Round(time.Millisecond), codes)
	for _, mode := range []string{"fast", "immediate"} {
		w, n := windows[mode], inWindow[mode]
		if w == nil {
			continue
		}
		pct := 0.0
		if n[0] > 0 {
			pct = 100 * float64(n[1]) / float64(n[0])
		}
		t.Logf("drill postgres restart: %s restart took %v; %d deliveries sent during it, %d acknowledged (%.1f%%)",
			mode, w.to.Sub(w.from).Round(time.Millisecond), n[0], n[1], pct)
		if mode == "fast" && (n[0] == 0 || pct < 90) {
			t.Errorf("fast restart: %d of %d deliveries sent during it acknowledged, want ≥ 90%%", n[1], n[0])
		}
	}
	t.Logf("drill postgres restart: %d acknowledged, %d stored, %d lost", len(acked), stored, lost)
	if lost != 0 {
		t.Errorf("%d acknowledged deliveries lost", lost)
	}
	if serve.exited() {
		t.Errorf("serve exited:\n%s", serve.logs)
	}
}
