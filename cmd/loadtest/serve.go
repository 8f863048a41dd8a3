package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sentinel-ci/sentinel/jobs/runner"
)

// gitServer serves the load test's repositories over HTTP on loopback, as
// GitHub serves clone URLs.
type gitServer struct {
	root, url string
	stop      func()
}

func startGitServer(dir string) (*gitServer, error) {
	root := filepath.Join(dir, "git")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: runner.GitHTTPHandler(root), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	return &gitServer{root: root, url: "http://" + l.Addr().String(), stop: func() { srv.Close() }}, nil
}

// serveProc is the `sentinel serve` under test.
type serveProc struct {
	cmd  *exec.Cmd
	addr string
	logs *tailBuffer
	// problems counts the warnings and errors of its log (serveProblems).
	problems *problemLog
	done     chan struct{}
}

// startServe starts bin serve as users run it, with its defaults, except:
// recorded GitHub mode (no App settings), the shell executor, local clone
// URLs allowed (the git server is on loopback), and warnings only in its
// log. It returns once /readyz answers 200.
func startServe(ctx context.Context, bin, dir, databaseURL, secret string) (*serveProc, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	p := &serveProc{addr: addr, logs: &tailBuffer{}, problems: newProblemLog(serveProblems), done: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Env = append(environWithoutSettings(),
		"DATABASE_URL="+databaseURL, "SENTINEL_ADDR="+addr, "SENTINEL_DATA_DIR="+filepath.Join(dir, "data"),
		"SENTINEL_EXECUTOR=shell", "GITHUB_WEBHOOK_SECRET="+secret, "SENTINEL_ALLOW_LOCAL_REPOS=true",
		"SENTINEL_LOG_LEVEL=warn")
	out := io.MultiWriter(p.logs, p.problems)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.cmd.Wait(); close(p.done) }() //nolint:errcheck // seen through done
	for deadline := time.Now().Add(90 * time.Second); ; {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("serve exited before it was ready:\n%s", p.logTail())
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("serve not ready within 90 s:\n%s", p.logTail())
		}
	}
}

// environWithoutSettings is this process's environment without Sentinel's
// and GitHub's settings, so that the server runs with the load test's
// settings and its defaults, never with App credentials (recorded mode).
func environWithoutSettings() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "SENTINEL_") || strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "DATABASE_URL") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (p *serveProc) webhookURL() string { return "http://" + p.addr + "/webhooks/github" }

func (p *serveProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks serve to stop, then kills it after its grace period.
func (p *serveProc) stop() {
	if p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
	select {
	case <-p.done:
	case <-time.After(45 * time.Second):
		p.cmd.Process.Kill() //nolint:errcheck
		<-p.done
	}
}

func (p *serveProc) logTail() string { return p.logs.String() }

// tailBuffer keeps the last 16 KiB written to it: serve's log, shown when
// it fails.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - 16<<10; over > 0 {
		b.buf = b.buf[over:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(bytes.Clone(b.buf))
}
