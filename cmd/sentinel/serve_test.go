package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/app"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// startServe runs `serve` in-process against a fresh test database and
// returns its base URL; the process stops when the test ends.
func startServe(t *testing.T, mutate func(*Config)) (*Main, string) {
	t.Helper()
	cfg, err := load(map[string]string{"DATABASE_URL": storetest.URL(t), "SENTINEL_ADDR": "127.0.0.1:0", "SENTINEL_SHUTDOWN_GRACE": "5s",
		"SENTINEL_DATA_DIR": t.TempDir()}) // not ./data beside the sources
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(&cfg)
	}
	m := NewMain(cfg, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, "serve") }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v", err)
		}
		m.Close()
	})
	select {
	case <-m.Listening:
	case err := <-done:
		t.Fatalf("serve ended before listening: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not listen within 60s")
	}
	return m, "http://" + m.Addr
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeHealthReadyMetrics(t *testing.T) {
	m, base := startServe(t, nil)
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if code, body := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz = %d %s", code, body)
	}
	code, body := get(t, base+"/metrics")
	if code != 200 || !strings.Contains(body, "sentinel_http_request_duration_seconds") {
		t.Errorf("/metrics = %d, missing the HTTP latency histogram", code)
	}
	// Queue depth comes from River's table: the retention job is enqueued on start.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(body, `sentinel_river_jobs{queue="triage"`) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		_, body = get(t, base+"/metrics")
	}
	if !strings.Contains(body, `sentinel_river_jobs{queue="triage"`) {
		t.Errorf("/metrics has no River queue depth:\n%s", body)
	}

	// A database that stops answering makes /readyz fail, not hang.
	m.DB.Close()
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "database") {
		t.Errorf("/readyz with a closed pool = %d %s, want 503 naming the database", code, body)
	}
}

// The binary with no DATABASE_URL starts its own Postgres, migrates, answers
// /readyz, and leaves no server process behind after SIGTERM — as root (the
// server then runs as postgres) and as an ordinary user.
func TestServeManagedPostgresSubprocess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts a cluster")
	}
	// Not t.TempDir: its parent is private to root, and the binary must be
	// executable by the unprivileged user too.
	binDir, err := os.MkdirTemp("", "sentinel-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(binDir) })
	os.Chmod(binDir, 0o755)
	bin := filepath.Join(binDir, "sentinel")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	users := []string{""}
	if os.Geteuid() == 0 {
		users = append(users, "postgres") // an ordinary user, via runuser
	}
	for _, as := range users {
		name := "current-user"
		if as != "" {
			name = "as-" + as
		}
		t.Run(name, func(t *testing.T) { serveManaged(t, bin, as) })
	}
}

func serveManaged(t *testing.T, bin, as string) {
	dir, err := os.MkdirTemp("", "sentinel-serve-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	port := freeTCPPort(t)
	cmd := exec.Command(bin, "serve")
	if as != "" {
		u, err := user.Lookup(as)
		if err != nil {
			t.Skipf("no %s user", as)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		os.Chown(dir, uid, gid)
		// Run the binary itself as that user (not through runuser, which
		// would receive our SIGTERM instead of sentinel).
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	// The shell executor, named: this test runs no step, and the postgres
	// user cannot reach Docker's socket, which serve now refuses to start
	// without unless told to use the shell.
	cmd.Env = append(os.Environ(), "DATABASE_URL=", "SENTINEL_DATA_DIR="+dir+"/data", fmt.Sprintf("SENTINEL_ADDR=127.0.0.1:%d", port),
		"SENTINEL_EXECUTOR=shell")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	ready := false
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				ready = true
				break
			}
		}
	}
	if !ready {
		t.Fatalf("never ready; logs:\n%s", logs.String())
	}
	pid := postmasterPID(t, dir+"/data/postgres/data")
	cmd.Process.Signal(syscall.SIGTERM)
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("no exit within 60s of SIGTERM\n%s", logs.String())
	}
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("postgres (pid %d) still running after sentinel exited", pid)
	}
}

func postmasterPID(t *testing.T, dataDir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// A signed push posted to a running serve produces one run and its River
// jobs, visible through GET /api/runs; the same delivery again is a duplicate.
func TestServeAcceptsSignedPush(t *testing.T) {
	m, base := startServe(t, func(c *Config) { c.WebhookSecret = "s3cret"; c.Executor = "shell"; c.AllowLocalRepos = true })
	body := []byte(`{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567","deleted":false,
		"head_commit":{"id":"0123456789abcdef0123456789abcdef01234567","message":"change","author":{"name":"Mona","username":"octocat"}},
		"repository":{"id":42,"full_name":"octo/app","clone_url":"http://127.0.0.1:1/octo/app.git","default_branch":"main"},
		"installation":{"id":7}}`)
	post := func() int {
		req, _ := http.NewRequest("POST", base+"/webhooks/github", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", "delivery-1")
		req.Header.Set("X-Hub-Signature-256", app.Sign("s3cret", body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(); code != http.StatusAccepted {
		t.Fatalf("push: %d, want 202", code)
	}
	if code := post(); code != http.StatusOK {
		t.Errorf("same delivery again: %d, want 200 duplicate", code)
	}
	code, list := get(t, base+"/api/runs")
	var runs struct {
		Runs []struct {
			ID         int64  `json:"id"`
			Repository string `json:"repository"`
			SHA        string `json:"sha"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(list), &runs); code != 200 || err != nil {
		t.Fatalf("GET /api/runs: %d %v\n%s", code, err, list)
	}
	if len(runs.Runs) != 1 || runs.Runs[0].Repository != "octo/app" || runs.Runs[0].SHA != "0123456789abcdef0123456789abcdef01234567" {
		t.Fatalf("runs = %+v, want the one run of the push", runs.Runs)
	}
	var jobs int
	m.DB.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE (args->>'run_id')::bigint = $1 AND kind IN ('run.execute', 'report.check')`, runs.Runs[0].ID).Scan(&jobs)
	if jobs < 2 {
		t.Errorf("%d jobs for the run, want run.execute and report.check", jobs)
	}
}
