package main

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/jobs/runner"
)

// Config is everything Sentinel reads from its environment and flags, read
// once at start-up and passed down explicitly.
type Config struct {
	DatabaseURL   string
	Addr          string
	PublicURL     string
	DataDir       string
	Executor      string // docker, shell, or "" to pick docker when a daemon answers
	Concurrency   int
	GitHubWorkers int
	TriageWorkers int
	AdminToken    string
	// SecretKey seals repository secrets (32 bytes, base64 or hex); unset,
	// a key file under DataDir is created on first use.
	SecretKey string
	// CacheMax caps each repository's step caches; least recently used go first.
	CacheMax       int64
	GitHubAppID    int64
	GitHubKeyPEM   string
	WebhookSecret  string
	GitHubAPIURL   string
	SmeeURL        string
	ShutdownGrace  time.Duration
	MaxRunDuration time.Duration
	LogLevel       string
	// WebhookBodyBudget caps the bytes of webhook bodies held in memory at
	// once, across all deliveries.
	WebhookBodyBudget int64
	// AllowLocalRepos lets POST /api/repos add local paths and file:// URLs.
	AllowLocalRepos bool
	// StepLimits apply to every Docker step whose pipeline sets no limits;
	// StepMaxLimits are the most a pipeline's limits may ask for.
	StepLimits, StepMaxLimits runner.Limits
	// WorkerLostAfter is how long a process may miss heartbeats before
	// another rescues its runs.
	WorkerLostAfter time.Duration
	// ConfirmBudget is each repository's time per 24 hours for re-running
	// failed tests to confirm them flaky or broken; 0: no re-runs.
	ConfirmBudget time.Duration
	// MaxTestResults caps the test results stored per step;
	// MaxResultFileBytes the size of a result file read.
	MaxTestResults, MaxResultFileBytes int64
	// NotifyURLs receive team notifications (jobs/notify.go); NotifySecret
	// signs those not sent to Slack.
	NotifyURLs   []string
	NotifySecret string
}

// setting binds one variable to its flag and its field.
type setting struct {
	env    string
	flag   string
	help   string
	secret bool // also readable from $ENV_FILE
	def    string
	parse  func(c *Config, v string) error
}

func settings() []setting {
	str := func(f func(c *Config) *string) func(*Config, string) error {
		return func(c *Config, v string) error { *f(c) = v; return nil }
	}
	num := func(f func(c *Config) *int) func(*Config, string) error {
		return func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			*f(c) = n
			return nil
		}
	}
	dur := func(f func(c *Config) *time.Duration) func(*Config, string) error {
		return func(c *Config, v string) error {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is not a duration (e.g. 30s, 10m)", v)
			}
			*f(c) = d
			return nil
		}
	}
	size := func(f func(c *Config) *int64) func(*Config, string) error {
		return func(c *Config, v string) error {
			n, err := runner.ParseBytes(v)
			if err != nil {
				return err
			}
			*f(c) = n
			return nil
		}
	}
	cpus := func(f func(c *Config) *int64) func(*Config, string) error {
		return func(c *Config, v string) error {
			n, err := runner.ParseCPUs(v)
			if err != nil {
				return err
			}
			*f(c) = n
			return nil
		}
	}
	count := func(f func(c *Config) *int64) func(*Config, string) error {
		return func(c *Config, v string) error {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			*f(c) = n
			return nil
		}
	}
	// Docker refuses more CPUs than the machine has.
	defCPUs, maxCPUs := strconv.Itoa(min(2, runtime.NumCPU())), strconv.Itoa(runtime.NumCPU())
	boolean := func(f func(c *Config) *bool) func(*Config, string) error {
		return func(c *Config, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is neither true nor false", v)
			}
			*f(c) = b
			return nil
		}
	}
	return []setting{
		{env: "DATABASE_URL", flag: "database-url", secret: true, help: "Postgres connection string; unset runs a managed cluster under the data dir", parse: str(func(c *Config) *string { return &c.DatabaseURL })},
		{env: "SENTINEL_ADDR", flag: "addr", def: "127.0.0.1:8080", help: "listen address", parse: str(func(c *Config) *string { return &c.Addr })},
		{env: "SENTINEL_PUBLIC_URL", flag: "public-url", def: "http://localhost:8080", help: "base of links placed in check runs and issues", parse: str(func(c *Config) *string { return &c.PublicURL })},
		{env: "SENTINEL_DATA_DIR", flag: "data-dir", def: "./data", help: "managed Postgres and workspaces", parse: str(func(c *Config) *string { return &c.DataDir })},
		{env: "SENTINEL_EXECUTOR", flag: "executor", help: "docker or shell (default: docker; without a daemon serve and worker refuse to start, the demo falls back to shell)", parse: str(func(c *Config) *string { return &c.Executor })},
		{env: "SENTINEL_CONCURRENCY", flag: "concurrency", def: "2", help: "runs executed at once by this process", parse: num(func(c *Config) *int { return &c.Concurrency })},
		{env: "SENTINEL_GITHUB_WORKERS", flag: "github-workers", def: "4", help: "GitHub reporting jobs at once", parse: num(func(c *Config) *int { return &c.GitHubWorkers })},
		{env: "SENTINEL_TRIAGE_WORKERS", flag: "triage-workers", def: "2", help: "triage jobs at once", parse: num(func(c *Config) *int { return &c.TriageWorkers })},
		{env: "SENTINEL_ADMIN_TOKEN", flag: "admin-token", secret: true, help: "required for dashboard/API actions when set", parse: str(func(c *Config) *string { return &c.AdminToken })},
		{env: "SENTINEL_SECRET_KEY", flag: "secret-key", secret: true, help: "key sealing repository secrets: 32 random bytes, base64 or hex (unset: $SENTINEL_DATA_DIR/secret.key, created with mode 0600 on first use)", parse: str(func(c *Config) *string { return &c.SecretKey })},
		{env: "GITHUB_APP_ID", flag: "github-app-id", help: "the GitHub App's id; unset records GitHub calls instead of sending them", parse: func(c *Config, v string) error {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n <= 0 {
				return fmt.Errorf("%q is not a positive App id", v)
			}
			c.GitHubAppID = n
			return nil
		}},
		{env: "GITHUB_APP_PRIVATE_KEY", flag: "github-app-private-key", secret: true, help: "the App's private key (PEM)", parse: str(func(c *Config) *string { return &c.GitHubKeyPEM })},
		{env: "GITHUB_WEBHOOK_SECRET", flag: "github-webhook-secret", secret: true, help: "HMAC secret of webhook deliveries", parse: str(func(c *Config) *string { return &c.WebhookSecret })},
		{env: "GITHUB_API_URL", flag: "github-api-url", def: "https://api.github.com/", help: "REST base URL (GitHub Enterprise Server: https://HOST/api/v3/)", parse: str(func(c *Config) *string { return &c.GitHubAPIURL })},
		{env: "SENTINEL_SMEE_URL", flag: "smee-url", help: "forward webhooks from this smee.io channel (development)", parse: str(func(c *Config) *string { return &c.SmeeURL })},
		{env: "SENTINEL_NOTIFY_URL", flag: "notify-url", help: "comma-separated endpoints told when an incident opens, resolves or reopens and when a test becomes flaky or broken (hooks.slack.com: Slack's payload; else a signed JSON event)", parse: func(c *Config, v string) error {
			c.NotifyURLs = nil
			for _, u := range strings.Split(v, ",") {
				if u = strings.TrimSpace(u); u != "" {
					c.NotifyURLs = append(c.NotifyURLs, u)
				}
			}
			return nil
		}},
		{env: "SENTINEL_NOTIFY_SECRET", flag: "notify-secret", secret: true, help: "HMAC-SHA256 key signing notifications (X-Sentinel-Signature-256) to endpoints other than Slack", parse: str(func(c *Config) *string { return &c.NotifySecret })},
		{env: "SENTINEL_SHUTDOWN_GRACE", flag: "shutdown-grace", def: "30s", help: "how long running jobs may finish after SIGTERM", parse: dur(func(c *Config) *time.Duration { return &c.ShutdownGrace })},
		{env: "SENTINEL_MAX_RUN_DURATION", flag: "max-run-duration", def: "2h", help: "cap on any run's timeout", parse: dur(func(c *Config) *time.Duration { return &c.MaxRunDuration })},
		{env: "SENTINEL_CONFIRM_BUDGET", flag: "confirm-budget", def: "1h", help: "re-run time each repository gets per 24 hours for confirming failed tests flaky or broken by re-running them alone at their commit, and for bisecting a broken test to its first bad commit (0: no confirmation re-runs, no bisection)", parse: dur(func(c *Config) *time.Duration { return &c.ConfirmBudget })},
		{env: "SENTINEL_WORKER_LOST_AFTER", flag: "worker-lost-after", def: "60s", help: "a serve or worker process silent this long is lost: another rescues its runs (heartbeats every sixth of it)", parse: dur(func(c *Config) *time.Duration { return &c.WorkerLostAfter })},
		{env: "SENTINEL_WEBHOOK_BODY_BUDGET", flag: "webhook-body-budget", def: "64m", help: "webhook bodies held at once across all deliveries; beyond it deliveries are answered 503", parse: size(func(c *Config) *int64 { return &c.WebhookBodyBudget })},
		{env: "SENTINEL_STEP_MEMORY", flag: "step-memory", def: "4g", help: "memory of each Docker step whose pipeline sets no limits.memory (no swap beyond it)", parse: size(func(c *Config) *int64 { return &c.StepLimits.Memory })},
		{env: "SENTINEL_STEP_CPUS", flag: "step-cpus", def: defCPUs, help: "CPUs of each Docker step whose pipeline sets no limits.cpus (default 2, or the machine's CPUs when fewer)", parse: cpus(func(c *Config) *int64 { return &c.StepLimits.NanoCPUs })},
		{env: "SENTINEL_STEP_PIDS", flag: "step-pids", def: "4096", help: "processes and threads of each Docker step whose pipeline sets no limits.pids", parse: count(func(c *Config) *int64 { return &c.StepLimits.Pids })},
		{env: "SENTINEL_STEP_DISK", flag: "step-disk", def: "10g", help: "workspace size of each step whose pipeline sets no limits.disk; past it the step is stopped (disk)", parse: size(func(c *Config) *int64 { return &c.StepLimits.Disk })},
		{env: "SENTINEL_STEP_MAX_MEMORY", flag: "step-max-memory", def: "8g", help: "the most memory a pipeline's limits.memory may ask for; above it the run fails as a configuration error", parse: size(func(c *Config) *int64 { return &c.StepMaxLimits.Memory })},
		{env: "SENTINEL_STEP_MAX_CPUS", flag: "step-max-cpus", def: maxCPUs, help: "the most CPUs a pipeline's limits.cpus may ask for (default: the machine's CPUs)", parse: cpus(func(c *Config) *int64 { return &c.StepMaxLimits.NanoCPUs })},
		{env: "SENTINEL_STEP_MAX_PIDS", flag: "step-max-pids", def: "8192", help: "the most processes a pipeline's limits.pids may ask for", parse: count(func(c *Config) *int64 { return &c.StepMaxLimits.Pids })},
		{env: "SENTINEL_STEP_MAX_DISK", flag: "step-max-disk", def: "20g", help: "the most workspace a pipeline's limits.disk may ask for", parse: size(func(c *Config) *int64 { return &c.StepMaxLimits.Disk })},
		{env: "SENTINEL_MAX_TEST_RESULTS", flag: "max-test-results", def: "50000", help: "test results stored per step; past it failing tests are kept first and the run gets a warning", parse: count(func(c *Config) *int64 { return &c.MaxTestResults })},
		{env: "SENTINEL_MAX_RESULT_FILE_SIZE", flag: "max-result-file-size", def: "64m", help: "largest test result file read; a larger one is skipped with a warning", parse: size(func(c *Config) *int64 { return &c.MaxResultFileBytes })},
		{env: "SENTINEL_CACHE_MAX", flag: "cache-max", def: "10g", help: "step caches kept per repository (Docker volumes or shell directories); beyond it the least recently used are removed after a run", parse: size(func(c *Config) *int64 { return &c.CacheMax })},
		{env: "SENTINEL_ALLOW_LOCAL_REPOS", flag: "allow-local-repos", help: "let POST /api/repos add local paths and file:// URLs (single-machine setups)", parse: boolean(func(c *Config) *bool { return &c.AllowLocalRepos })},
		{env: "SENTINEL_LOG_LEVEL", flag: "log-level", def: "info", help: "debug, info, warn or error", parse: str(func(c *Config) *string { return &c.LogLevel })},
	}
}

// LoadConfig reads defaults, then the environment (and *_FILE variants of
// secrets), then flags, and validates the result. Errors name the variable.
func LoadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	var c Config
	for _, s := range settings() {
		if s.def != "" {
			if err := s.parse(&c, s.def); err != nil {
				return c, fmt.Errorf("%s default: %w", s.env, err)
			}
		}
		v := getenv(s.env)
		if s.secret {
			if path := getenv(s.env + "_FILE"); path != "" {
				if v != "" {
					return c, fmt.Errorf("%s and %s_FILE are both set: set one", s.env, s.env)
				}
				b, err := os.ReadFile(path)
				if err != nil {
					return c, fmt.Errorf("%s_FILE: %w", s.env, err)
				}
				v = strings.TrimRight(string(b), "\r\n")
				if v == "" {
					return c, fmt.Errorf("%s_FILE: %s is empty", s.env, path)
				}
			}
		}
		if v != "" {
			if err := s.parse(&c, v); err != nil {
				return c, fmt.Errorf("%s: %w", s.env, err)
			}
		}
		s := s
		fs.Func(s.flag, s.usage(), func(v string) error {
			if err := s.parse(&c, v); err != nil {
				return fmt.Errorf("%w ($%s)", err, s.env)
			}
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate checks every value and says which variable is wrong and why.
func (c *Config) Validate() error {
	var errs []error
	bad := func(env, format string, a ...any) { errs = append(errs, fmt.Errorf(env+": "+format, a...)) }
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("SENTINEL_ADDR", "%q is not host:port", c.Addr)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("SENTINEL_PUBLIC_URL", "%q is not an absolute http(s) URL", c.PublicURL)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.DataDir == "" {
		bad("SENTINEL_DATA_DIR", "must not be empty")
	}
	if c.Executor != "" && c.Executor != "docker" && c.Executor != "shell" {
		bad("SENTINEL_EXECUTOR", "%q is neither docker nor shell", c.Executor)
	}
	for _, w := range []struct {
		env string
		n   int
	}{{"SENTINEL_CONCURRENCY", c.Concurrency}, {"SENTINEL_GITHUB_WORKERS", c.GitHubWorkers}, {"SENTINEL_TRIAGE_WORKERS", c.TriageWorkers}} {
		if w.n < 1 || w.n > 256 {
			bad(w.env, "%d is out of range 1..256", w.n)
		}
	}
	if u, err := url.Parse(c.GitHubAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("GITHUB_API_URL", "%q is not an absolute http(s) URL", c.GitHubAPIURL)
	} else if !strings.HasSuffix(c.GitHubAPIURL, "/") {
		c.GitHubAPIURL += "/" // go-github requires the trailing slash
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") && !strings.Contains(c.DatabaseURL, "=") {
		bad("DATABASE_URL", "is neither a postgres:// URL nor a key=value connection string")
	}
	if c.GitHubAppID != 0 || c.GitHubKeyPEM != "" {
		if c.GitHubAppID == 0 {
			bad("GITHUB_APP_ID", "must be set when GITHUB_APP_PRIVATE_KEY is")
		}
		if err := checkPrivateKey(c.GitHubKeyPEM); err != nil {
			bad("GITHUB_APP_PRIVATE_KEY", "%v", err)
		}
		// go-github's ValidatePayload accepts any payload when the secret is
		// empty: with an App configured that would let anyone trigger runs.
		if c.WebhookSecret == "" {
			bad("GITHUB_WEBHOOK_SECRET", "must be set when a GitHub App is configured (an empty secret would accept unsigned deliveries)")
		}
	}
	if c.SmeeURL != "" {
		if u, err := url.Parse(c.SmeeURL); err != nil || u.Scheme != "https" && u.Scheme != "http" {
			bad("SENTINEL_SMEE_URL", "%q is not an http(s) URL", c.SmeeURL)
		}
	}
	for _, n := range c.NotifyURLs {
		if u, err := url.Parse(n); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
			bad("SENTINEL_NOTIFY_URL", "%q is not an http(s) URL", n)
		} else if !jobs.IsSlack(n) && c.NotifySecret == "" {
			bad("SENTINEL_NOTIFY_SECRET", "must be set when SENTINEL_NOTIFY_URL names an endpoint other than Slack (%s): receivers verify the signature", u.Host)
		}
	}
	if c.ShutdownGrace < 0 {
		bad("SENTINEL_SHUTDOWN_GRACE", "must not be negative")
	}
	if c.MaxRunDuration < time.Minute {
		bad("SENTINEL_MAX_RUN_DURATION", "%v is shorter than a minute", c.MaxRunDuration)
	}
	if c.ConfirmBudget < 0 {
		bad("SENTINEL_CONFIRM_BUDGET", "%v is negative", c.ConfirmBudget)
	}
	if c.WorkerLostAfter < 3*time.Second {
		bad("SENTINEL_WORKER_LOST_AFTER", "%v is shorter than 3s", c.WorkerLostAfter)
	}
	if c.WebhookBodyBudget < 25<<20 {
		bad("SENTINEL_WEBHOOK_BODY_BUDGET", "%d bytes is less than one 25 MiB delivery", c.WebhookBodyBudget)
	}
	for _, l := range []struct {
		env, maxEnv string
		def, max    int64
		format      func(int64) string
	}{
		{"SENTINEL_STEP_MEMORY", "SENTINEL_STEP_MAX_MEMORY", c.StepLimits.Memory, c.StepMaxLimits.Memory, runner.FormatBytes},
		{"SENTINEL_STEP_CPUS", "SENTINEL_STEP_MAX_CPUS", c.StepLimits.NanoCPUs, c.StepMaxLimits.NanoCPUs, runner.FormatCPUs},
		{"SENTINEL_STEP_PIDS", "SENTINEL_STEP_MAX_PIDS", c.StepLimits.Pids, c.StepMaxLimits.Pids, func(n int64) string { return strconv.FormatInt(n, 10) }},
		{"SENTINEL_STEP_DISK", "SENTINEL_STEP_MAX_DISK", c.StepLimits.Disk, c.StepMaxLimits.Disk, runner.FormatBytes},
	} {
		switch {
		case l.def <= 0:
			bad(l.env, "must be positive: every step gets a limit")
		case l.max <= 0:
			bad(l.maxEnv, "must be positive: every step gets a limit")
		case l.def > l.max:
			bad(l.env, "%s is above %s (%s)", l.format(l.def), l.maxEnv, l.format(l.max))
		}
	}
	if c.StepLimits.Memory > 0 && c.StepLimits.Memory < 6<<20 {
		bad("SENTINEL_STEP_MEMORY", "%s is below Docker's minimum of 6 MiB", runner.FormatBytes(c.StepLimits.Memory))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("SENTINEL_LOG_LEVEL", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	return errors.Join(errs...)
}

// GitHubConfigured reports whether GitHub calls are really sent.
func (c *Config) GitHubConfigured() bool { return c.GitHubAppID != 0 }

func checkPrivateKey(p string) error {
	if p == "" {
		return errors.New("must be set when GITHUB_APP_ID is")
	}
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return errors.New("is not PEM (expected -----BEGIN RSA PRIVATE KEY-----)")
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return nil
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return nil
	}
	return errors.New("the PEM block is not an RSA private key")
}
