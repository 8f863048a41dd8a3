package main

// Drills run real `sentinel serve` and `sentinel worker` processes (this
// package's binary, built once) against a real PostgreSQL and Docker, with
// the fake GitHub, and print what they measure. SENTINEL_DRILL=full (make
// drill) runs them at full size; otherwise a bounded form runs with the
// package's tests.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/app"
	"github.com/sentinel-ci/sentinel/app/githubapp/githubtest"
	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
)

const drillAdminToken = "drill-admin"

// drillFull reports whether the drills run at full size.
func drillFull() bool { return os.Getenv("SENTINEL_DRILL") == "full" }

// drillSize picks the full or the bounded form of a number.
func drillSize(full, ci int) int {
	if drillFull() {
		return full
	}
	return ci
}

var (
	drillBinOnce sync.Once
	drillBin     string
	drillBinErr  error
)

// sentinelBinary builds the binary once per test run.
func sentinelBinary(t *testing.T) string {
	t.Helper()
	drillBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sentinel-drill-bin-")
		if err != nil {
			drillBinErr = err
			return
		}
		drillBin = filepath.Join(dir, "sentinel")
		out, err := exec.Command("go", "build", "-o", drillBin, ".").CombinedOutput()
		if err != nil {
			drillBinErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if drillBinErr != nil {
		t.Fatal(drillBinErr)
	}
	return drillBin
}

// drill is one drill's world: a database, a data directory shared by its
// processes (as processes on one host share SENTINEL_DATA_DIR), the fake
// GitHub, a git server and the environment every process gets.
type drill struct {
	t       *testing.T
	bin     string
	dbURL   string
	dataDir string
	secret  string
	fake    *githubtest.Server
	gitRoot string
	gitURL  string
	env     []string
	procs   []*drillProc
}

func newDrill(t *testing.T, dbURL string, env ...string) *drill {
	t.Helper()
	d := &drill{t: t, bin: sentinelBinary(t), dbURL: dbURL, secret: "drill-secret", fake: githubtest.New(t)}
	d.dataDir = t.TempDir()
	d.gitRoot = t.TempDir()
	gitURL, stop, err := serveGit(d.gitRoot)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	d.gitURL = gitURL
	d.env = append([]string{
		"DATABASE_URL=" + dbURL, "SENTINEL_DATA_DIR=" + d.dataDir, "SENTINEL_EXECUTOR=docker",
		"GITHUB_APP_ID=1", "GITHUB_APP_PRIVATE_KEY=" + string(githubtest.AppKey(t)), "GITHUB_API_URL=" + d.fake.URL + "/",
		"GITHUB_WEBHOOK_SECRET=" + d.secret, "SENTINEL_SHUTDOWN_GRACE=5s", "SENTINEL_LOG_LEVEL=warn",
		"SENTINEL_ADMIN_TOKEN=" + drillAdminToken,
		"SENTINEL_CONFIRM_BUDGET=0", // the drills measure faults, not confirmation re-runs
		// The git server and clone URLs are on loopback.
		"SENTINEL_ALLOW_LOCAL_REPOS=true",
	}, env...)
	t.Cleanup(func() {
		for _, p := range d.procs {
			p.stop()
		}
	})
	return d
}

// drillProc is one running sentinel process.
type drillProc struct {
	cmd  *exec.Cmd
	name string
	addr string // serve only
	logs *syncBuffer
	done chan struct{}
}

// start runs `sentinel command` with the drill's environment and extra
// variables; serve waits until /readyz answers.
func (d *drill) start(command string, env ...string) *drillProc {
	d.t.Helper()
	p := &drillProc{name: command, logs: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(d.bin, command)
	p.cmd.Env = append(append(os.Environ(), d.env...), env...)
	if command == "serve" {
		p.addr = fmt.Sprintf("127.0.0.1:%d", freeTCPPort(d.t))
		p.cmd.Env = append(p.cmd.Env, "SENTINEL_ADDR="+p.addr)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }() //nolint:errcheck // exit seen through done
	d.procs = append(d.procs, p)
	if command == "serve" {
		for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			resp, err := http.Get("http://" + p.addr + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			select {
			case <-p.done:
				d.t.Fatalf("serve exited:\n%s", p.logs)
			default:
			}
			if time.Now().After(deadline) {
				d.t.Fatalf("serve not ready within 90s:\n%s", p.logs)
			}
		}
	}
	return p
}

func (p *drillProc) pid() int { return p.cmd.Process.Pid }

func (p *drillProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill9 ends the process without a chance to clean up.
func (p *drillProc) kill9() {
	p.cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck
	<-p.done
}

// stop asks for a clean stop, then kills.
func (p *drillProc) stop() {
	if p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.kill9()
	}
}

// commit creates (once) the repository name with files, commits a change
// and returns the commit's SHA.
func (d *drill) commit(name string, files map[string]string) string {
	d.t.Helper()
	ctx := context.Background()
	work := filepath.Join(d.gitRoot, "work", name)
	bare := filepath.Join(d.gitRoot, name+".git")
	if _, err := os.Stat(bare); err != nil {
		for _, args := range [][]string{
			{"init", "-q", "--bare", "--initial-branch=main", bare},
			{"init", "-q", "--initial-branch=main", work},
			{"-C", work, "remote", "add", "origin", bare},
		} {
			if _, err := git(ctx, args...); err != nil {
				d.t.Fatal(err)
			}
		}
		os.WriteFile(filepath.Join(bare, "git-daemon-export-ok"), nil, 0o644)
	}
	for path, content := range files {
		if err := os.WriteFile(filepath.Join(work, path), []byte(content), 0o644); err != nil {
			d.t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(work, "stamp"), []byte(time.Now().String()), 0o644)
	for _, args := range [][]string{
		{"-C", work, "add", "-A"},
		{"-C", work, "-c", "user.name=Drill", "-c", "user.email=drill@sentinel.invalid", "commit", "-q", "-m", "drill"},
		{"-C", work, "push", "-q", "origin", "main"},
	} {
		if _, err := git(ctx, args...); err != nil {
			d.t.Fatal(err)
		}
	}
	sha, err := git(ctx, "-C", work, "rev-parse", "HEAD")
	if err != nil {
		d.t.Fatal(err)
	}
	return strings.TrimSpace(sha)
}

// pushBody is the push delivery GitHub sends for sha on repository name
// (repository id repoID), on branch.
func (d *drill) pushBody(name string, repoID int64, branch, sha string) []byte {
	body, err := json.Marshal(map[string]any{
		"ref": "refs/heads/" + branch, "before": strings.Repeat("0", 40), "after": sha, "deleted": false,
		"head_commit": map[string]any{"id": sha, "message": "drill", "author": map[string]any{"name": "Drill", "username": "drill"}},
		"repository": map[string]any{"id": repoID, "name": name, "full_name": "drill/" + name,
			"owner": map[string]any{"login": "drill"}, "clone_url": d.gitURL + "/" + name + ".git", "default_branch": "main"},
		"installation": map[string]any{"id": 1},
	})
	if err != nil {
		d.t.Fatal(err)
	}
	return body
}

// deliver posts a signed delivery; it returns the status, or 0 when no
// answer came.
func (d *drill) deliver(client *http.Client, serve *drillProc, id string, body []byte) int {
	req, err := http.NewRequest("POST", "http://"+serve.addr+"/webhooks/github", bytes.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", app.Sign(d.secret, body))
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// cancelRun cancels a run through the API, as a person would.
func (d *drill) cancelRun(serve *drillProc, runID int64) {
	d.t.Helper()
	req, _ := http.NewRequest("POST", "http://"+serve.addr+"/api/runs/"+itoa(runID)+"/cancel", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+drillAdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		d.t.Fatalf("cancel run %d: %d", runID, resp.StatusCode)
	}
}

// openDB connects the drill itself to the database, to observe.
func (d *drill) openDB() *store.DB {
	d.t.Helper()
	db, err := store.Open(context.Background(), d.dbURL, 4, newLogger(testWriter{d.t}, "error"))
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(db.Close)
	return db
}

// leftovers counts the runs that still have containers, and the
// workspaces in the shared data directory.
func (d *drill) leftovers(db *store.DB) (containers []int64, workspaces []string) {
	d.t.Helper()
	ctx := context.Background()
	instance, err := runner.InstanceID(ctx, db)
	if err != nil {
		d.t.Fatal(err)
	}
	docker, err := runner.NewDocker()
	if err != nil {
		d.t.Fatal(err)
	}
	defer docker.Close()
	containers, err = docker.WithInstance(instance).Leftovers(ctx)
	if err != nil {
		d.t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(d.dataDir, "workspaces"))
	for _, e := range entries {
		workspaces = append(workspaces, e.Name())
	}
	return containers, workspaces
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
