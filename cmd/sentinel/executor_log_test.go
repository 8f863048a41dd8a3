package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// namedRuntime is a runtime known only by its name.
type namedRuntime struct{ runner.Runtime }

func (namedRuntime) Name() string { return "fake" }

func TestExecutorAttrs(t *testing.T) {
	t.Parallel()
	shell := runner.NewShell()
	shell.Home = "/data/shell-home"
	for _, tc := range []struct {
		name string
		rt   func(t *testing.T) runner.Runtime
		want []string
	}{
		{"shell", func(*testing.T) runner.Runtime { return shell },
			[]string{"executor shell", "isolation none: steps run as host processes", "home /data/shell-home"}},
		{"other", func(*testing.T) runner.Runtime { return namedRuntime{} }, []string{"executor fake"}},
		{"docker", func(t *testing.T) runner.Runtime {
			d, err := runner.NewDocker()
			if err == nil {
				err = d.Ping(context.Background())
			}
			if err != nil {
				t.Skipf("no Docker daemon answers (%v): the docker case needs one", err)
			}
			t.Cleanup(func() { d.Close() })
			return d
		}, []string{"executor docker", "docker_version ", "docker_api "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attrs := executorAttrs(context.Background(), tc.rt(t))
			var pairs []string
			for i := 0; i+1 < len(attrs); i += 2 {
				pairs = append(pairs, fmt.Sprintf("%v %v", attrs[i], attrs[i+1]))
			}
			got := strings.Join(pairs, "\n")
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("attrs lack %q:\n%s", w, got)
				}
			}
		})
	}
}

// syncBuffer is a log destination read while the process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWorkerLogsExecutor: a worker says at start which executor it runs
// steps on, in one line.
func TestWorkerLogsExecutor(t *testing.T) {
	cfg, err := load(map[string]string{"DATABASE_URL": storetest.URL(t), "SENTINEL_DATA_DIR": t.TempDir(), "SENTINEL_SHUTDOWN_GRACE": "5s"})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	m := NewMain(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	m.Runtime = runner.NewShell()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, "worker") }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(logs.String(), "worker started") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("worker returned %v", err)
	}
	m.Close()
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "executor=") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "msg=executor executor=shell") {
		t.Errorf("want one line naming the shell executor, got %q in:\n%s", lines, logs.String())
	}
}
