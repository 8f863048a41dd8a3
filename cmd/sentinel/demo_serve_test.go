package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/store/storetest"
)

// lockedBuffer is an io.Writer the test can read while the demo writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

// TestDemoServesUntilInterrupted runs one scenario without --exit: after the
// summary the dashboard the summary links to is still served, and Ctrl-C
// (the context) ends the demo with exit code 0.
func TestDemoServesUntilInterrupted(t *testing.T) {
	env := map[string]string{"DATABASE_URL": storetest.URL(t), "SENTINEL_ADDR": "127.0.0.1:0", "SENTINEL_DATA_DIR": t.TempDir(), "SENTINEL_EXECUTOR": "shell"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out lockedBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"demo", "--pushes", "1", "--samples", "../../samples", "disk"}, &out, testWriter{t}, func(k string) string { return env[k] })
	}()
	link := regexp.MustCompile(`see:\s+(http://\S+/runs/\d+)`)
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(out.String(), "until Ctrl-C") {
		select {
		case c := <-code:
			t.Fatalf("demo exited %d before serving:\n%s", c, out.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no summary within 3 minutes:\n%s", out.String())
		}
	}
	// `make down` finds this instance's containers by the id it wrote.
	if b, err := os.ReadFile(filepath.Join(env["SENTINEL_DATA_DIR"], instanceFile)); err != nil || len(strings.TrimSpace(string(b))) != 12 {
		t.Errorf("instance file: %q (%v)", b, err)
	}
	if !strings.Contains(out.String(), "1 of 1 scenarios concluded as expected") {
		t.Errorf("summary:\n%s", out.String())
	}
	m := link.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no run link in the summary:\n%s", out.String())
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatalf("the summary's link after the summary: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %d", m[1], resp.StatusCode)
	}
	select {
	case c := <-code:
		t.Fatalf("demo exited %d while it should serve", c)
	case <-time.After(time.Second):
	}
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("demo exited %d after Ctrl-C", c)
		}
	case <-time.After(time.Minute):
		t.Fatal("demo still running a minute after Ctrl-C")
	}
	if _, err := http.Get(m[1]); err == nil {
		t.Error("the dashboard still answers after Ctrl-C")
	}
}
