package tunnel

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v62/github"
)

const tunnelTestSecret = "It's a Secret to Everybody"

// tunnelFixture reads a copied GitHub fixture from testdata; a missing one
// fails the test.
func tunnelFixture(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", rel))
	if err != nil {
		t.Fatalf("fixture %s: %v", rel, err)
	}
	return b
}

type signatureVector struct {
	Secret    string `json:"secret"`
	Payload   string `json:"payload"`
	Signature string `json:"x_hub_signature_256"`
}

func readSignatureVector(t *testing.T) signatureVector {
	t.Helper()
	var v signatureVector
	if err := json.Unmarshal(tunnelFixture(t, "webhooks/signature-test-vector.json"), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// smeeEvent renders one relayed delivery the way smee.io does: headers flattened with lower-case
// names next to the body the relay parsed (and, with rawB64, gosmee's base64 raw body too).
func smeeEvent(t *testing.T, id, event, delivery, signature string, parsedBody []byte, rawB64 []byte) string {
	t.Helper()
	m := map[string]any{
		"x-github-event": event, "x-github-delivery": delivery, "x-hub-signature-256": signature,
		"content-type": "application/json", "host": "smee.io", "timestamp": 1700000000000,
	}
	if parsedBody != nil {
		m["body"] = json.RawMessage(parsedBody)
	}
	if rawB64 != nil {
		m["bodyB64"] = base64.StdEncoding.EncodeToString(rawB64)
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("id: %s\ndata: %s\n\n", id, data)
}

// fakeRelay is an event-stream server. Each connection plays the next script; a script that
// returns true keeps the connection open until the client leaves, false drops it. A nil script
// answers with an HTML page instead, as smee.io does for a browser.
type fakeRelay struct {
	scripts []func(w io.Writer) (keepOpen bool)

	mu           sync.Mutex
	connects     int
	lastEventIDs []string
}

func (f *fakeRelay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	n := f.connects
	f.connects++
	f.lastEventIDs = append(f.lastEventIDs, r.Header.Get("Last-Event-ID"))
	f.mu.Unlock()
	if r.Header.Get("Accept") != "text/event-stream" {
		http.Error(w, "want an event stream", http.StatusNotAcceptable)
		return
	}
	if n < len(f.scripts) && f.scripts[n] == nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<html>smee</html>")
		return
	}
	keepOpen := true
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	if n < len(f.scripts) {
		keepOpen = f.scripts[n](w)
	}
	w.(http.Flusher).Flush()
	if keepOpen {
		<-r.Context().Done()
	}
}

func (f *fakeRelay) state() (int, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connects, append([]string(nil), f.lastEventIDs...)
}

// receivedDelivery is what the fake Sentinel endpoint saw.
type receivedDelivery struct {
	Event, Delivery string
	Status          int
	Body            []byte
}

// fakeWebhookEndpoint verifies signatures the way Sentinel's handler does (go-github's
// ValidatePayload) and records each delivery with the status it answered.
type fakeWebhookEndpoint struct {
	mu       sync.Mutex
	got      []receivedDelivery
	failNext int // answer this many requests with 503 first
}

func (e *fakeWebhookEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failNext > 0 {
		e.failNext--
		http.Error(w, "starting up", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	status := http.StatusAccepted
	r.Body = io.NopCloser(bytes.NewReader(body))
	if _, err := github.ValidatePayload(r, []byte(tunnelTestSecret)); err != nil {
		status = http.StatusUnauthorized
	}
	e.got = append(e.got, receivedDelivery{
		Event: r.Header.Get("X-GitHub-Event"), Delivery: r.Header.Get("X-GitHub-Delivery"), Status: status, Body: body,
	})
	w.WriteHeader(status)
}

func (e *fakeWebhookEndpoint) deliveries() []receivedDelivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]receivedDelivery(nil), e.got...)
}

// lockedBuffer collects log output written from the tunnel's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startTunnel runs a tunnel from relay to endpoint until the test ends.
func startTunnel(t *testing.T, relay *fakeRelay, endpoint http.Handler, configure func(*Tunnel)) *lockedBuffer {
	t.Helper()
	relaySrv := httptest.NewServer(relay)
	t.Cleanup(relaySrv.Close)
	target := httptest.NewServer(endpoint)
	t.Cleanup(target.Close)
	logs := &lockedBuffer{}
	tun := &Tunnel{
		Source:      relaySrv.URL + "/AbCdEf123456",
		Target:      target.URL + "/webhooks/github",
		Secret:      []byte(tunnelTestSecret),
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MinBackoff:  5 * time.Millisecond,
		MaxBackoff:  20 * time.Millisecond,
		IdleTimeout: 10 * time.Second,
	}
	if configure != nil {
		configure(tun)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tun.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel = %v; want nil", err)
		}
		if t.Failed() {
			t.Logf("tunnel log:\n%s", logs)
		}
	})
	return logs
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTunnelForwardsAndReconnects(t *testing.T) {
	t.Parallel()
	// GitHub's bytes as they left GitHub: pretty-printed, so any re-serialisation changes them.
	raw := tunnelFixture(t, "webhooks/push/payload.json")
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatal(err)
	}
	relay := &fakeRelay{scripts: []func(io.Writer) bool{
		func(w io.Writer) bool {
			io.WriteString(w, "id: 0\nevent: ready\ndata: {}\n\n")
			// gosmee-style: the parsed body (re-serialised) plus the raw bytes in base64.
			io.WriteString(w, smeeEvent(t, "1", "push", "d-raw", sign(tunnelTestSecret, raw), compact.Bytes(), raw))
			return false // drop the connection: the tunnel must come back
		},
		func(w io.Writer) bool {
			io.WriteString(w, ": keep-alive comment\n\nid: 2\nevent: ready\ndata: {}\n\n")
			io.WriteString(w, "id: 3\nevent: ping\ndata: {}\n\n")
			// smee.io with a body GitHub sent compactly: the relay's re-serialisation is identical.
			io.WriteString(w, smeeEvent(t, "4", "push", "d-compact", sign(tunnelTestSecret, compact.Bytes()), compact.Bytes(), nil))
			// smee.io with a body whose serialisation the relay changed: no raw body to recover.
			io.WriteString(w, smeeEvent(t, "5", "push", "d-reserialised", sign(tunnelTestSecret, raw), compact.Bytes(), nil))
			return true
		},
	}}
	endpoint := &fakeWebhookEndpoint{}
	logs := startTunnel(t, relay, endpoint, nil)

	waitFor(t, "three deliveries", func() bool { return len(endpoint.deliveries()) == 3 })
	got := endpoint.deliveries()
	want := []receivedDelivery{
		{Event: "push", Delivery: "d-raw", Status: http.StatusAccepted, Body: raw},
		{Event: "push", Delivery: "d-compact", Status: http.StatusAccepted, Body: compact.Bytes()},
		{Event: "push", Delivery: "d-reserialised", Status: http.StatusUnauthorized, Body: compact.Bytes()},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	connects, lastIDs := relay.state()
	if connects != 2 {
		t.Errorf("relay saw %d connections; want 2 (one drop, one reconnect)", connects)
	}
	if diff := cmp.Diff([]string{"", "1"}, lastIDs); diff != "" {
		t.Errorf("Last-Event-ID per connection (-want +got):\n%s", diff)
	}
	if !strings.Contains(logs.String(), "re-serialised this JSON body and its signature no longer matches") {
		t.Errorf("log does not explain the re-serialised body:\n%s", logs)
	}
}

func TestTunnelReconnectsWhenIdle(t *testing.T) {
	t.Parallel()
	body := []byte(`{"zen":"Half measures are as bad as nothing at all."}`)
	relay := &fakeRelay{scripts: []func(io.Writer) bool{
		func(w io.Writer) bool {
			io.WriteString(w, "event: ready\ndata: {}\n\n")
			return true // then silence: a half-open connection looks like this
		},
		func(w io.Writer) bool {
			io.WriteString(w, smeeEvent(t, "1", "ping", "d-after-idle", sign(tunnelTestSecret, body), body, nil))
			return true
		},
	}}
	endpoint := &fakeWebhookEndpoint{}
	logs := startTunnel(t, relay, endpoint, func(tun *Tunnel) { tun.IdleTimeout = 100 * time.Millisecond })
	waitFor(t, "a delivery after the idle reconnect", func() bool { return len(endpoint.deliveries()) == 1 })
	if got := endpoint.deliveries()[0]; got.Delivery != "d-after-idle" || got.Status != http.StatusAccepted {
		t.Errorf("delivery = %+v; want d-after-idle accepted", got)
	}
	if !strings.Contains(logs.String(), "event stream idle") {
		t.Errorf("log does not name the idle timeout:\n%s", logs)
	}
}

func TestTunnelRetriesRelayAndTarget(t *testing.T) {
	t.Parallel()
	body := []byte(`{"zen":"Design for failure."}`)
	// The first answer is an HTML page, as when the URL is not a channel: the tunnel must keep
	// trying rather than parse HTML. Then the endpoint answers 503 twice before accepting.
	relay := &fakeRelay{scripts: []func(io.Writer) bool{nil, func(w io.Writer) bool {
		io.WriteString(w, smeeEvent(t, "1", "ping", "d-retried", sign(tunnelTestSecret, body), body, nil))
		return true
	}}}
	endpoint := &fakeWebhookEndpoint{failNext: 2}
	logs := startTunnel(t, relay, endpoint, nil)
	waitFor(t, "the retried delivery", func() bool { return len(endpoint.deliveries()) == 1 })
	if got := endpoint.deliveries()[0]; got.Delivery != "d-retried" || got.Status != http.StatusAccepted {
		t.Errorf("delivery = %+v; want d-retried accepted after two 503s", got)
	}
	if !strings.Contains(logs.String(), `not an event stream`) {
		t.Errorf("log does not explain the HTML answer:\n%s", logs)
	}
}

func TestTunnelRejectsBadURLs(t *testing.T) {
	t.Parallel()
	tests := []struct{ source, target string }{
		{"smee.io/abc", "http://127.0.0.1:8080/webhooks/github"},
		{"https://smee.io/abc", "ftp://127.0.0.1/webhooks"},
		{"https://", "http://127.0.0.1:8080/webhooks/github"},
	}
	for _, tt := range tests {
		tun := &Tunnel{Source: tt.source, Target: tt.target}
		if err := tun.Run(context.Background()); err == nil {
			t.Errorf("Run(%q -> %q) = nil; want an error", tt.source, tt.target)
		}
	}
}

func TestTunnelBackoff(t *testing.T) {
	t.Parallel()
	tun := &Tunnel{MinBackoff: time.Second, MaxBackoff: 8 * time.Second}
	tests := []struct {
		failures    int
		serverRetry time.Duration
		base        time.Duration
	}{
		{1, 0, time.Second},
		{2, 0, 2 * time.Second},
		{4, 0, 8 * time.Second},
		{30, 0, 8 * time.Second},
		{1, 3 * time.Second, 3 * time.Second},
	}
	for _, tt := range tests {
		for range 20 {
			got := tun.backoff(tt.failures, tt.serverRetry)
			lo, hi := time.Duration(float64(tt.base)*0.8), time.Duration(float64(tt.base)*1.2)
			if got < lo || got > hi {
				t.Errorf("backoff(%d, %v) = %v; want within [%v, %v]", tt.failures, tt.serverRetry, got, lo, hi)
			}
		}
	}
}
