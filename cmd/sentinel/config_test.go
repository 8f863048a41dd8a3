package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/jobs/runner"
)

func testKeyPEM(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
}

func load(env map[string]string, args ...string) (Config, error) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return LoadConfig(fs, args, func(k string) string { return env[k] })
}

func TestConfigDefaults(t *testing.T) {
	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.PublicURL != "http://localhost:8080" || c.DataDir != "./data" ||
		c.Concurrency != 2 || c.GitHubAPIURL != "https://api.github.com/" || c.ShutdownGrace != 30*time.Second ||
		c.WebhookBodyBudget != 64<<20 {
		t.Errorf("unexpected defaults: %+v", c)
	}
	if c.GitHubConfigured() {
		t.Error("no App configured, yet GitHubConfigured")
	}
	wantCPUs := int64(min(2, runtime.NumCPU())) * 1e9
	if want := (runner.Limits{Memory: 4 << 30, NanoCPUs: wantCPUs, Pids: 4096, Disk: 10 << 30}); c.StepLimits != want {
		t.Errorf("step limits %+v, want %+v", c.StepLimits, want)
	}
	if want := (runner.Limits{Memory: 8 << 30, NanoCPUs: int64(runtime.NumCPU()) * 1e9, Pids: 8192, Disk: 20 << 30}); c.StepMaxLimits != want {
		t.Errorf("step ceilings %+v, want %+v", c.StepMaxLimits, want)
	}
}

func TestConfigStepLimits(t *testing.T) {
	c, err := load(map[string]string{"SENTINEL_STEP_MEMORY": "1.5GiB", "SENTINEL_STEP_CPUS": "0.5", "SENTINEL_STEP_PIDS": "300",
		"SENTINEL_STEP_MAX_MEMORY": "2g", "SENTINEL_STEP_MAX_CPUS": "1", "SENTINEL_STEP_DISK": "3g", "SENTINEL_STEP_MAX_DISK": "4g"}, "-step-max-pids", "600")
	if err != nil {
		t.Fatal(err)
	}
	if want := (runner.Limits{Memory: 1536 << 20, NanoCPUs: 5e8, Pids: 300, Disk: 3 << 30}); c.StepLimits != want {
		t.Errorf("step limits %+v, want %+v", c.StepLimits, want)
	}
	if want := (runner.Limits{Memory: 2 << 30, NanoCPUs: 1e9, Pids: 600, Disk: 4 << 30}); c.StepMaxLimits != want {
		t.Errorf("step ceilings %+v, want %+v", c.StepMaxLimits, want)
	}
}

// TestStepLimitsWired: the run worker gets the settings' defaults under
// Docker, and the ceilings under every runtime; the shell gets every default
// but memory.
func TestStepLimitsWired(t *testing.T) {
	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMain(c, newLogger(io.Discard, "error"))
	d, err := runner.NewDocker()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rc := m.runnerConfig(d, t.TempDir(), nil)
	if rc.DefaultLimits != c.StepLimits || rc.MaxLimits != c.StepMaxLimits || rc.DefaultLimits.Memory != 4<<30 {
		t.Errorf("docker: defaults %+v ceilings %+v, want %+v and %+v", rc.DefaultLimits, rc.MaxLimits, c.StepLimits, c.StepMaxLimits)
	}
	rc = m.runnerConfig(runner.NewShell(), t.TempDir(), nil)
	shellWant := c.StepLimits
	shellWant.Memory = 0
	if rc.DefaultLimits != shellWant || rc.MaxLimits != c.StepMaxLimits {
		t.Errorf("shell: defaults %+v ceilings %+v, want %+v (no memory) and %+v", rc.DefaultLimits, rc.MaxLimits, shellWant, c.StepMaxLimits)
	}
	if rc.MaxTestResults != 50000 || rc.MaxResultFileBytes != 64<<20 {
		t.Errorf("result caps %d and %d, want 50000 and 64 MiB", rc.MaxTestResults, rc.MaxResultFileBytes)
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	key := testKeyPEM(t)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"concurrency not a number", map[string]string{"SENTINEL_CONCURRENCY": "two"}, nil, `SENTINEL_CONCURRENCY: "two" is not a whole number`},
		{"concurrency zero", map[string]string{"SENTINEL_CONCURRENCY": "0"}, nil, "SENTINEL_CONCURRENCY: 0 is out of range"},
		{"addr", map[string]string{"SENTINEL_ADDR": "8080"}, nil, `SENTINEL_ADDR: "8080" is not host:port`},
		{"public url", map[string]string{"SENTINEL_PUBLIC_URL": "localhost:8080"}, nil, "SENTINEL_PUBLIC_URL"},
		{"executor", map[string]string{"SENTINEL_EXECUTOR": "podman"}, nil, `SENTINEL_EXECUTOR: "podman" is neither docker nor shell`},
		{"app id", map[string]string{"GITHUB_APP_ID": "abc"}, nil, `GITHUB_APP_ID: "abc" is not a positive App id`},
		{"app without key", map[string]string{"GITHUB_APP_ID": "12", "GITHUB_WEBHOOK_SECRET": "s"}, nil, "GITHUB_APP_PRIVATE_KEY: must be set"},
		{"bad key", map[string]string{"GITHUB_APP_ID": "12", "GITHUB_APP_PRIVATE_KEY": "nope", "GITHUB_WEBHOOK_SECRET": "s"}, nil, "GITHUB_APP_PRIVATE_KEY: is not PEM"},
		{"app without secret", map[string]string{"GITHUB_APP_ID": "12", "GITHUB_APP_PRIVATE_KEY": key}, nil, "GITHUB_WEBHOOK_SECRET: must be set when a GitHub App is configured"},
		{"grace", map[string]string{"SENTINEL_SHUTDOWN_GRACE": "soon"}, nil, `SENTINEL_SHUTDOWN_GRACE: "soon" is not a duration`},
		{"api url", map[string]string{"GITHUB_API_URL": "api.github.com"}, nil, "GITHUB_API_URL"},
		{"log level", map[string]string{"SENTINEL_LOG_LEVEL": "loud"}, nil, "SENTINEL_LOG_LEVEL"},
		{"allow local repos", map[string]string{"SENTINEL_ALLOW_LOCAL_REPOS": "maybe"}, nil, `SENTINEL_ALLOW_LOCAL_REPOS: "maybe" is neither true nor false`},
		{"webhook body budget", map[string]string{"SENTINEL_WEBHOOK_BODY_BUDGET": "lots"}, nil, `SENTINEL_WEBHOOK_BODY_BUDGET: bad size "lots"`},
		{"webhook body budget too small", map[string]string{"SENTINEL_WEBHOOK_BODY_BUDGET": "1m"}, nil, "SENTINEL_WEBHOOK_BODY_BUDGET: 1048576 bytes is less than one 25 MiB delivery"},
		{"database url", map[string]string{"DATABASE_URL": "mysql:thing"}, nil, "DATABASE_URL"},
		{"step memory", map[string]string{"SENTINEL_STEP_MEMORY": "lots"}, nil, `SENTINEL_STEP_MEMORY: bad size "lots"`},
		{"step memory zero", map[string]string{"SENTINEL_STEP_MEMORY": "0"}, nil, `SENTINEL_STEP_MEMORY: bad size "0"`},
		{"step memory tiny", map[string]string{"SENTINEL_STEP_MEMORY": "1m"}, nil, "SENTINEL_STEP_MEMORY: 1 MiB is below Docker's minimum of 6 MiB"},
		{"step memory above ceiling", map[string]string{"SENTINEL_STEP_MEMORY": "16g"}, nil, "SENTINEL_STEP_MEMORY: 16 GiB is above SENTINEL_STEP_MAX_MEMORY (8 GiB)"},
		{"step max memory below default", map[string]string{"SENTINEL_STEP_MAX_MEMORY": "2g"}, nil, "SENTINEL_STEP_MEMORY: 4 GiB is above SENTINEL_STEP_MAX_MEMORY (2 GiB)"},
		{"step cpus", map[string]string{"SENTINEL_STEP_CPUS": "two"}, nil, `SENTINEL_STEP_CPUS: bad cpus "two"`},
		{"step cpus zero", map[string]string{"SENTINEL_STEP_CPUS": "0"}, nil, `SENTINEL_STEP_CPUS: bad cpus "0"`},
		{"step cpus above ceiling", map[string]string{"SENTINEL_STEP_CPUS": "1.5", "SENTINEL_STEP_MAX_CPUS": "1"}, nil, "SENTINEL_STEP_CPUS: 1.5 is above SENTINEL_STEP_MAX_CPUS (1)"},
		{"step pids", map[string]string{"SENTINEL_STEP_PIDS": "many"}, nil, `SENTINEL_STEP_PIDS: "many" is not a whole number`},
		{"step pids negative", map[string]string{"SENTINEL_STEP_PIDS": "-1"}, nil, "SENTINEL_STEP_PIDS: must be positive"},
		{"step max pids zero", map[string]string{"SENTINEL_STEP_MAX_PIDS": "0"}, nil, "SENTINEL_STEP_MAX_PIDS: must be positive"},
		{"step max pids below default", map[string]string{"SENTINEL_STEP_MAX_PIDS": "100"}, nil, "SENTINEL_STEP_PIDS: 4096 is above SENTINEL_STEP_MAX_PIDS (100)"},
		{"step limit flag names variable", nil, []string{"-step-max-memory", "x"}, "$SENTINEL_STEP_MAX_MEMORY"},
		{"flag names variable", nil, []string{"-concurrency", "x"}, "$SENTINEL_CONCURRENCY"},
		{"both secret and file", map[string]string{"GITHUB_WEBHOOK_SECRET": "a", "GITHUB_WEBHOOK_SECRET_FILE": "/x"}, nil, "GITHUB_WEBHOOK_SECRET and GITHUB_WEBHOOK_SECRET_FILE are both set"},
		{"missing file", map[string]string{"SENTINEL_ADMIN_TOKEN_FILE": "/nonexistent/token"}, nil, "SENTINEL_ADMIN_TOKEN_FILE"},
		{"notify url", map[string]string{"SENTINEL_NOTIFY_URL": "https://hooks.slack.com/services/T/B/X, ftp://x"}, nil, `SENTINEL_NOTIFY_URL: "ftp://x" is not an http(s) URL`},
		{"notify without secret", map[string]string{"SENTINEL_NOTIFY_URL": "https://hooks.slack.com/services/T/B/X,https://ops.example.com/hook"}, nil, "SENTINEL_NOTIFY_SECRET: must be set when SENTINEL_NOTIFY_URL names an endpoint other than Slack (ops.example.com)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(tt.env, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestConfigNotify: the URL list is split and trimmed; Slack alone needs no
// secret.
func TestConfigNotify(t *testing.T) {
	c, err := load(map[string]string{"SENTINEL_NOTIFY_URL": " https://hooks.slack.com/services/T/B/X ,"})
	if err != nil || !slices.Equal(c.NotifyURLs, []string{"https://hooks.slack.com/services/T/B/X"}) {
		t.Fatalf("slack only: %v %q", err, c.NotifyURLs)
	}
	c, err = load(map[string]string{"SENTINEL_NOTIFY_URL": "https://a.example/h,https://b.example/h", "SENTINEL_NOTIFY_SECRET": "s3"})
	if err != nil || len(c.NotifyURLs) != 2 || c.NotifySecret != "s3" {
		t.Fatalf("signed: %v %q %q", err, c.NotifyURLs, c.NotifySecret)
	}
}

func TestConfigSecretsFromFilesAndFlagsOverride(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	secretFile := filepath.Join(dir, "secret")
	os.WriteFile(keyFile, []byte(testKeyPEM(t)), 0o600)
	os.WriteFile(secretFile, []byte("s3cret\n"), 0o600)
	c, err := load(map[string]string{
		"GITHUB_APP_ID": "42", "GITHUB_APP_PRIVATE_KEY_FILE": keyFile, "GITHUB_WEBHOOK_SECRET_FILE": secretFile,
		"SENTINEL_CONCURRENCY": "3", "GITHUB_API_URL": "http://127.0.0.1:9999/api/v3",
	}, "-concurrency", "5")
	if err != nil {
		t.Fatal(err)
	}
	if c.WebhookSecret != "s3cret" {
		t.Errorf("secret = %q, want the file's content without the newline", c.WebhookSecret)
	}
	if c.Concurrency != 5 {
		t.Errorf("concurrency = %d, want the flag's 5 over the environment's 3", c.Concurrency)
	}
	if c.GitHubAPIURL != "http://127.0.0.1:9999/api/v3/" {
		t.Errorf("api url = %q, want a trailing slash added", c.GitHubAPIURL)
	}
	if !c.GitHubConfigured() {
		t.Error("App configured, yet not GitHubConfigured")
	}
}

func TestRunExitCodes(t *testing.T) {
	var out, errOut strings.Builder
	env := func(k string) string { return map[string]string{"SENTINEL_CONCURRENCY": "x"}[k] }
	if code := run(t.Context(), []string{"serve"}, &out, &errOut, env); code != 2 {
		t.Errorf("bad config: exit %d, want 2", code)
	}
	if got := errOut.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "SENTINEL_CONCURRENCY") {
		t.Errorf("want one line naming the variable, got %q", got)
	}
	if code := run(t.Context(), []string{"frobnicate"}, &out, &errOut, env); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	out.Reset()
	if code := run(t.Context(), []string{"help"}, &out, &errOut, env); code != 0 || !strings.Contains(out.String(), "serve") {
		t.Errorf("help: exit %d, output %q", code, out.String())
	}
}
