package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTunnelCommandForwardsUntilInterrupted(t *testing.T) {
	got := make(chan http.Header, 1)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/webhooks/github" {
			got <- r.Header.Clone()
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer target.Close()
	relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: ready\ndata: {}\n\n")
		io.WriteString(w, `data: {"x-github-event":"ping","x-github-delivery":"d-cmd","content-type":"application/json","body":{"zen":"Speak like a human."}}`+"\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer relay.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr strings.Builder
	exit := make(chan int, 1)
	// SENTINEL_ADDR alone says where Sentinel listens; the tunnel derives the webhook URL from it.
	env := map[string]string{"SENTINEL_SMEE_URL": relay.URL + "/AbCdEf123456", "SENTINEL_ADDR": strings.TrimPrefix(target.URL, "http://")}
	go func() { exit <- runTunnel(ctx, nil, io.Discard, &stderr, func(k string) string { return env[k] }) }()
	select {
	case h := <-got:
		if h.Get("X-GitHub-Delivery") != "d-cmd" || h.Get("X-GitHub-Event") != "ping" {
			t.Errorf("forwarded headers = %v", h)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery forwarded")
	}
	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("exit %d after interrupt; want 0. stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tunnel did not stop after interrupt")
	}
}

func TestTunnelCommandUsageErrors(t *testing.T) {
	t.Parallel()
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no channel", nil, nil, "no channel"},
		{"channel not a URL", []string{"--from", "smee.io/abc"}, nil, "want an http or https URL"},
		{"bad log level", []string{"--from", "https://smee.io/abc", "--log-level", "loud"}, nil, "--log-level"},
		{"secret twice", []string{"--from", "https://smee.io/abc"}, map[string]string{"GITHUB_WEBHOOK_SECRET": "a", "GITHUB_WEBHOOK_SECRET_FILE": secretFile}, "both set"},
		{"secret file missing", []string{"--from", "https://smee.io/abc"}, map[string]string{"GITHUB_WEBHOOK_SECRET_FILE": secretFile + ".nope"}, "GITHUB_WEBHOOK_SECRET_FILE"},
	}
	for _, tt := range tests {
		var stderr strings.Builder
		code := runTunnel(context.Background(), tt.args, io.Discard, &stderr, func(k string) string { return tt.env[k] })
		if code != 2 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tt.name, code, stderr.String(), tt.want)
		}
	}
}

func TestDefaultWebhookTarget(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"":               "http://127.0.0.1:8080/webhooks/github",
		"127.0.0.1:9000": "http://127.0.0.1:9000/webhooks/github",
		"0.0.0.0:8080":   "http://127.0.0.1:8080/webhooks/github",
		":8081":          "http://127.0.0.1:8081/webhooks/github",
		"[::]:8082":      "http://127.0.0.1:8082/webhooks/github",
		"[::1]:8083":     "http://[::1]:8083/webhooks/github",
		"localhost:80":   "http://localhost:80/webhooks/github",
		"garbage":        "http://127.0.0.1:8080/webhooks/github",
	} {
		if got := defaultWebhookTarget(addr); got != want {
			t.Errorf("defaultWebhookTarget(%q) = %q; want %q", addr, got, want)
		}
	}
}
