package app_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/app"
	"github.com/sentinel-ci/sentinel/app/apptest"
)

// TestWebhookFloodKeepsMemoryBounded sends 40 parallel 24 MiB posts without
// a signature, then 40 with a well-formed but wrong one, while a signed push
// arrives: the heap stays within the body budget (64 MiB) plus slack, where
// reading every body first took about a gigabyte, and the signed push is
// accepted.
func TestWebhookFloodKeepsMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("sends about 2 GB through loopback")
	}
	ts := apptest.NewServer(t)
	big := bytes.Repeat([]byte("x"), 24<<20)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, DisableKeepAlives: true}}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()

	flood := func(signature string) map[int]int {
		var mu sync.Mutex
		statuses := map[int]int{}
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() {
				req, _ := http.NewRequest("POST", ts.URL+"/webhooks/github", bytes.NewReader(big))
				req.Header.Set("X-GitHub-Event", "push")
				req.Header.Set("X-GitHub-Delivery", "flood")
				if signature != "" {
					req.Header.Set("X-Hub-Signature-256", signature)
				}
				status := -1 // the server may close the connection while the client still writes
				if resp, err := client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				mu.Lock()
				statuses[status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		return statuses
	}

	unsigned := flood("")
	var signed apptest.Reply
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(50 * time.Millisecond) // arrive while the flood holds its share of the budget
		signed = ts.Deliver(t, "push", "", apptest.PushPayload(t, "main", strings.Repeat("ab", 20), "during the flood"))
	})
	forged := flood("sha256=" + strings.Repeat("0", 64))
	wg.Wait()
	close(stop)
	<-sampled

	grew := int64(peak.Load()) - int64(before.HeapInuse)
	t.Logf("heap in use: %d MiB before, peak %d MiB (+%d MiB); unsigned %v, forged %v",
		before.HeapInuse>>20, peak.Load()>>20, grew>>20, unsigned, forged)
	if unsigned[http.StatusUnauthorized] == 0 || unsigned[http.StatusOK]+unsigned[http.StatusAccepted] != 0 {
		t.Errorf("unsigned posts answered %v, want 401s", unsigned)
	}
	// The client often sees a refusal as a broken pipe (the server answers
	// before reading and closes), so the server's count says what it did.
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	busy := regexp.MustCompile(`sentinel_webhook_deliveries_total\{event="push",outcome="busy"\} (\d+)`).FindSubmatch(metrics)
	if busy == nil || forged[http.StatusOK]+forged[http.StatusAccepted] != 0 {
		t.Errorf("forged posts answered %v (%s over the budget), want 401s and 503s beyond the budget", forged, busy)
	}
	if limit := int64(64<<20 + 48<<20); grew > limit {
		t.Errorf("heap grew by %d MiB under the flood, want at most %d MiB", grew>>20, limit>>20)
	}
	if signed.Status != http.StatusAccepted {
		t.Errorf("signed push during the flood: %d %v, want 202", signed.Status, signed.Body)
	}
}

// TestWebhookBodyBudget: a delivery that does not fit in the budget of
// bodies in flight is answered 503 with Retry-After, unread; a malformed
// signature header is answered 401 whatever the body.
func TestWebhookBodyBudget(t *testing.T) {
	ts := apptest.NewServer(t)
	small := apptest.Serve(t, app.NewServer(ts.DB, ts.River, slog.New(slog.DiscardHandler),
		app.Options{WebhookSecret: apptest.Secret, WebhookBodyBudget: 1024}))

	if r := small.Deliver(t, "ping", "over-budget", bytes.Repeat([]byte(" "), 2048)); r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Errorf("over the budget: %d Retry-After %q, want 503 with Retry-After", r.Status, r.Header.Get("Retry-After"))
	}
	ping := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	if r := small.Deliver(t, "ping", "", ping); r.Status != http.StatusOK {
		t.Errorf("signed ping within the budget: %d %v, want 200", r.Status, r.Body)
	}
	for _, sig := range []string{"sha256=abc", "sha1=" + strings.Repeat("0", 40), "sha256=" + strings.Repeat("g", 64), strings.Repeat("0", 64)} {
		if r := small.Post(t, "ping", "bad-form", ping, sig); r.Status != http.StatusUnauthorized {
			t.Errorf("signature %q: %d, want 401", sig, r.Status)
		}
	}
}
