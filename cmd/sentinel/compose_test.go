package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sentinel-ci/sentinel/app"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// imageUID is the user the Dockerfile's image runs as.
const imageUID = 10001

// composeFile is what this test reads of docker-compose.yml: the init
// service's command and environment, the sentinel service's entrypoint.
type composeFile struct {
	Services map[string]struct {
		Command     []string          `yaml:"command"`
		Entrypoint  []string          `yaml:"entrypoint"`
		Environment map[string]string `yaml:"environment"`
	} `yaml:"services"`
}

// unescapeCompose undoes compose's escaping of $ in command text.
func unescapeCompose(s string) string { return strings.ReplaceAll(s, "$$", "$") }

// TestComposeInitLetsImageUserCompleteARun is what CI can prove of
// docker-compose.yml without pulling an image: on a data directory created
// by root (as Docker creates a missing bind-mount source) and a webhook
// secret file only root can read (as `sentinel setup` leaves it, 0600),
// the compose file's init command, run as root, lets the binary run as the
// image's uid 10001 through the sentinel service's entrypoint: it starts
// with the secret, verifies a delivery signed with it, and completes a run
// with the shell executor, its step running as uid 10001.
func TestComposeInitLetsImageUserCompleteARun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and completes a run")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("CI runs as root: this test switches to uid 10001")
		}
		t.Skip("needs root to create the data directory as root and run the binary as uid 10001")
	}
	for _, tool := range []string{"git", "sh", "install", "chown"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required: %v", tool, err)
		}
	}
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose composeFile
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatal(err)
	}
	initSvc, sentinelSvc := compose.Services["init"], compose.Services["sentinel"]
	if len(initSvc.Command) != 1 || len(sentinelSvc.Entrypoint) != 4 || sentinelSvc.Entrypoint[1] != "-c" {
		t.Fatalf("docker-compose.yml: init command %q, sentinel entrypoint %q: not the shape this test runs", initSvc.Command, sentinelSvc.Entrypoint)
	}

	// Everything the unprivileged user must reach lives under a 0755 base.
	base, err := os.MkdirTemp("", "sentinel-compose-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	bin := filepath.Join(base, "sentinel")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := filepath.Join(base, "data")
	secretsIn, secretsOut := filepath.Join(base, "secrets-in"), filepath.Join(base, "secrets-out")
	for _, dir := range []string{data, secretsOut} {
		if err := os.Mkdir(dir, 0o755); err != nil { // root's, as Docker makes them
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(secretsIn, 0o700); err != nil {
		t.Fatal(err)
	}
	const secret = "compose-webhook-secret"
	if err := os.WriteFile(filepath.Join(secretsIn, "github_webhook_secret"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// The init service, as root.
	initCmd := exec.Command("sh", "-c", unescapeCompose(initSvc.Command[0]))
	initCmd.Env = append(os.Environ(), "SENTINEL_DATA_DIR="+data, "SECRETS_IN="+secretsIn, "SECRETS_OUT="+secretsOut)
	if out, err := initCmd.CombinedOutput(); err != nil {
		t.Fatalf("init command: %v\n%s", err, out)
	}
	if fi, err := os.Stat(filepath.Join(secretsOut, "github_webhook_secret")); err != nil || fi.Sys().(*syscall.Stat_t).Uid != imageUID || fi.Mode().Perm() != 0o400 {
		t.Fatalf("the secret's copy: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(secretsOut, "github_app_private_key")); err == nil {
		t.Error("a secret that was not given was copied")
	}

	// A repository served over HTTP, as GitHub serves clone URLs.
	samples := filepath.Join(base, "samples")
	os.MkdirAll(filepath.Join(samples, "hello"), 0o755)
	os.WriteFile(filepath.Join(samples, "hello", ".sentinel.yml"), []byte("image: busybox:stable\nsteps:\n  - name: hello\n    run: echo \"hello from uid $(id -u)\"\n"), 0o644)
	gitRoot := filepath.Join(base, "git")
	gitURL, stopGit, err := serveGit(gitRoot)
	if err != nil {
		t.Fatal(err)
	}
	defer stopGit()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d := &demo{gitRoot: gitRoot, gitURL: gitURL, samples: samples, workDir: filepath.Join(base, "src")}
	work, err := d.prepareRepo(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.commit(ctx, work, "hello"); err != nil {
		t.Fatal(err)
	}

	// The sentinel service's entrypoint, as the image's user, with the
	// paths of the image and the secrets volume mapped to this machine's.
	entry := unescapeCompose(sentinelSvc.Entrypoint[2])
	entry = strings.ReplaceAll(entry, "/run/sentinel-secrets", secretsOut)
	entry = strings.ReplaceAll(entry, "/usr/local/bin/sentinel", bin)
	port := freeTCPPort(t)
	srv := exec.Command("sh", "-c", entry, sentinelSvc.Entrypoint[3], "serve")
	srv.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: imageUID, Gid: imageUID}}
	srv.Env = append(os.Environ(), "DATABASE_URL="+storetest.URL(t), "SENTINEL_DATA_DIR="+data,
		fmt.Sprintf("SENTINEL_ADDR=127.0.0.1:%d", port), "SENTINEL_EXECUTOR=shell", "HOME="+base,
		"SENTINEL_ALLOW_LOCAL_REPOS=true") // the test's git server is on loopback
	var logs lockedBuffer
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
		if t.Failed() {
			t.Logf("sentinel's log:\n%s", logs.String())
		}
	}()
	s := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if code, _ := composeCall(t, "GET", s+"/readyz", nil, nil); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
	}

	// The secret read from the file verifies deliveries.
	ping := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	for _, tc := range []struct {
		secret string
		want   int
	}{{secret, http.StatusOK}, {"another secret", http.StatusUnauthorized}} {
		hdr := map[string]string{"X-GitHub-Event": "ping", "X-GitHub-Delivery": randomSecret()[:32], "X-Hub-Signature-256": app.Sign(tc.secret, ping)}
		if code, body := composeCall(t, "POST", s+"/webhooks/github", ping, hdr); code != tc.want {
			t.Errorf("ping signed with %q: %d %s, want %d", tc.secret, code, body, tc.want)
		}
	}

	// A run, start to finish, in the data directory root created.
	if code, body := composeCall(t, "POST", s+"/api/repos", []byte(`{"full_name": "compose/hello", "clone_url": "`+gitURL+`/hello.git", "default_branch": "main"}`), nil); code != http.StatusCreated {
		t.Fatalf("add repository: %d %s", code, body)
	}
	code, body := composeCall(t, "POST", s+"/api/runs", []byte(`{"repo": "compose/hello", "ref": "main"}`), nil)
	var created struct {
		Run struct{ ID int64 } `json:"run"`
	}
	if code != http.StatusCreated || json.Unmarshal(body, &created) != nil {
		t.Fatalf("create run: %d %s", code, body)
	}
	var run struct {
		State string `json:"state"`
		Steps []struct {
			LogURL string `json:"log_url"`
		} `json:"steps"`
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(300 * time.Millisecond) {
		_, body := composeCall(t, "GET", fmt.Sprintf("%s/api/runs/%d", s, created.Run.ID), nil, nil)
		json.Unmarshal(body, &run)
		if st := run.State; st != "queued" && st != "running" && st != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d not finished: %s", created.Run.ID, body)
		}
	}
	if run.State != "succeeded" || len(run.Steps) == 0 {
		t.Fatalf("run %d ended %q with %d steps", created.Run.ID, run.State, len(run.Steps))
	}
	logURL, err := url.Parse(run.Steps[0].LogURL) // on SENTINEL_PUBLIC_URL
	if err != nil {
		t.Fatal(err)
	}
	if _, log := composeCall(t, "GET", s+logURL.Path, nil, nil); !strings.Contains(string(log), fmt.Sprintf("hello from uid %d", imageUID)) {
		t.Errorf("step log: %q", log)
	}
}

func composeCall(t *testing.T, method, url string, body []byte, hdr map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
