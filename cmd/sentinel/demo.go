package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// scenario is one sample repository and what the demo does with it.
type scenario struct {
	name   string
	pushes int // pushes to the default branch, each waiting for the previous run
	// untilFlaky keeps pushing (up to pushes) until a test is marked flaky:
	// a one-in-three failure is random by nature.
	untilFlaky bool
	expect     string // what a newcomer should see, printed in the summary
	want       expectation
}

// expectation is expect in a form the summary checks against what Sentinel
// concluded, so that a wrong conclusion is visible at a glance.
type expectation struct {
	state    store.RunState  // every run ends in this state ("" when mixed)
	category triage.Category // every failed run has a failure of this category
	incident bool            // an incident is open for the repository
	flaky    bool            // a test of the repository is flaky or quarantined
}

var scenarios = []scenario{
	{name: "success", pushes: 2, expect: "succeeded", want: expectation{state: store.RunSucceeded}},
	{name: "testfail", pushes: 3, expect: "failed: test failure with an annotation at its file and line; incident opened", want: expectation{state: store.RunFailed, category: triage.CategoryTest, incident: true}},
	{name: "flaky", pushes: 12, untilFlaky: true, expect: "test detected as flaky", want: expectation{flaky: true}},
	{name: "timeout", pushes: 3, expect: "timed out; incident opened", want: expectation{state: store.RunTimedOut, category: triage.CategoryTimeout, incident: true}},
	{name: "dns", pushes: 3, expect: "failed: network/DNS", want: expectation{state: store.RunFailed, category: triage.CategoryNetwork}},
	{name: "disk", pushes: 3, expect: "failed: disk full", want: expectation{state: store.RunFailed, category: triage.CategoryDisk}},
	{name: "oom", pushes: 3, expect: "failed: out of memory", want: expectation{state: store.RunFailed, category: triage.CategoryOOM}},
	{name: "compile", pushes: 3, expect: "failed: compile error", want: expectation{state: store.RunFailed, category: triage.CategoryCompile}},
}

// demoOptions are the demo's own flags; everything else is Config.
type demoOptions struct {
	exit    bool
	pushes  int
	samples string
}

// runDemo starts Sentinel, serves the samples from a local git server and
// drives each scenario through the real pipeline by sending itself signed
// push deliveries; GitHub reporting is recorded, not sent.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("sentinel demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts demoOptions
	fs.BoolVar(&opts.exit, "exit", false, "exit after the summary instead of serving the dashboard until Ctrl-C (for scripts)")
	fs.Bool("serve", true, "serve the dashboard after the summary (the default; kept for older scripts)")
	fs.IntVar(&opts.pushes, "pushes", 0, "pushes per scenario (default: each scenario's own)")
	fs.StringVar(&opts.samples, "samples", "samples", "directory holding the sample repositories")
	fs.Usage = demoUsage(fs)
	// The demo records GitHub calls and signs its own deliveries: App
	// settings from the environment are not used.
	noApp := func(k string) string {
		if demoUnused(strings.TrimSuffix(k, "_FILE")) {
			return ""
		}
		return getenv(k)
	}
	cfg, err := LoadConfig(fs, args, noApp)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var unused []string
	fs.Visit(func(f *flag.Flag) {
		if demoUnusedFlag(f) {
			unused = append(unused, "-"+f.Name)
		}
	})
	if len(unused) > 0 {
		fmt.Fprintf(stderr, "sentinel demo: %s: the demo records GitHub calls and signs its own deliveries; it takes no GitHub App or smee settings\n", strings.Join(unused, ", "))
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "sentinel demo: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		return 2
	}
	// Scenarios play side by side: as many runs at once as the machine has
	// cores, unless told otherwise.
	concurrencySet := getenv("SENTINEL_CONCURRENCY") != ""
	fs.Visit(func(f *flag.Flag) { concurrencySet = concurrencySet || f.Name == "concurrency" })
	if !concurrencySet {
		cfg.Concurrency = max(cfg.Concurrency, runtime.NumCPU())
	}
	// The scenarios fail on purpose, one with a test that hangs until its
	// time-out: re-running each failed test alone ten times to confirm it
	// would keep the demo busy for many more minutes. The demo leaves
	// confirmation re-runs off unless told a budget.
	budgetSet := getenv("SENTINEL_CONFIRM_BUDGET") != ""
	fs.Visit(func(f *flag.Flag) { budgetSet = budgetSet || f.Name == "confirm-budget" })
	if !budgetSet {
		cfg.ConfirmBudget = 0
	}
	chosen, err := pickScenarios(fs.Args(), opts.pushes)
	if err != nil {
		fmt.Fprintf(stderr, "sentinel demo: %v\n", err)
		return 2
	}
	if err := runDemoScenarios(ctx, cfg, opts, chosen, stdout); err != nil {
		fmt.Fprintf(stderr, "sentinel demo: %v\n", err)
		return 1
	}
	return 0
}

func pickScenarios(names []string, pushes int) ([]scenario, error) {
	var out []scenario
	for _, sc := range scenarios {
		if pushes > 0 {
			sc.pushes = pushes
		}
		if len(names) == 0 {
			out = append(out, sc)
			continue
		}
		for _, n := range names {
			if n == sc.name {
				out = append(out, sc)
			}
		}
	}
	if len(out) < max(len(names), 1) {
		var known []string
		for _, sc := range scenarios {
			known = append(known, sc.name)
		}
		return nil, fmt.Errorf("unknown scenario in %v (known: %s)", names, strings.Join(known, ", "))
	}
	return out, nil
}

func runDemoScenarios(ctx context.Context, cfg Config, opts demoOptions, chosen []scenario, stdout io.Writer) error {
	samples, err := filepath.Abs(opts.samples)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(samples, "success", ".sentinel.yml")); err != nil {
		return fmt.Errorf("sample repositories not found in %s (run from the repository root or pass --samples)", samples)
	}
	demoDir, err := filepath.Abs(filepath.Join(cfg.DataDir, "demo"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(demoDir, 0o755); err != nil {
		return err
	}
	cfg.WebhookSecret = randomSecret()
	logFile, err := os.OpenFile(filepath.Join(demoDir, "sentinel.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	m := NewMain(cfg, newLogger(logFile, cfg.LogLevel))
	p := newProgress(stdout)
	p.say("Sentinel demo — logs in %s", logFile.Name())
	progressCtx, stopProgress := context.WithCancel(ctx)
	defer stopProgress()
	go p.run(progressCtx)
	defer func() { m.Close() }()
	if cfg.DatabaseURL == "" {
		p.setStatus("starting PostgreSQL under " + filepath.Join(cfg.DataDir, "postgres") + " and applying migrations")
	} else {
		p.setStatus("applying migrations")
	}
	if err := m.Open(ctx); err != nil {
		return err
	}
	if err := prepareDemoRuntime(ctx, m, p); err != nil {
		return err
	}

	gitRoot := filepath.Join(demoDir, "git")
	gitURL, stopGit, err := serveGit(gitRoot)
	if err != nil {
		return err
	}
	defer stopGit()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx, "serve") }()
	select {
	case <-m.Listening:
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
	dashboard := "http://" + m.Addr
	p.say("Dashboard: %s   (GitHub calls are recorded, not sent: see each run's page)", dashboard)
	p.say("Playing %d scenario%s, up to %d runs at once\n", len(chosen), plural(len(chosen)), cfg.Concurrency)

	d := &demo{m: m, p: p, gitRoot: gitRoot, gitURL: gitURL, samples: samples, workDir: filepath.Join(demoDir, "src"), webhook: dashboard + "/webhooks/github", dashboard: dashboard}
	started := time.Now()
	var wg sync.WaitGroup
	results := make([]scenarioResult, len(chosen))
	for i, sc := range chosen {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = d.play(ctx, sc, i)
		}()
	}
	p.follow(func() string { return d.status(len(chosen)) })
	wg.Wait()
	stopProgress()
	if ctx.Err() != nil {
		fmt.Fprintln(stdout, "\nInterrupted: stopping Sentinel and its PostgreSQL.")
		stop()
		<-done
		return nil
	}
	d.summary(ctx, results, time.Since(started))
	if !opts.exit {
		fmt.Fprintf(stdout, "\nServing the dashboard at %s until Ctrl-C (or `make down` from another terminal).\n", dashboard)
		<-ctx.Done()
		fmt.Fprintln(stdout, "Stopping Sentinel and its PostgreSQL.")
	}
	stop()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	for _, r := range results {
		if r.err != nil {
			return fmt.Errorf("scenario %s: %w", r.sc.name, r.err)
		}
	}
	return nil
}

// prepareDemoRuntime makes the samples' images available: pulled when a
// registry answers, otherwise built from this machine's busybox and Go
// toolchain and substituted for the images the samples name. The local Go
// image compiles the standard library once, while it builds, into the path
// of the repositories' build caches, which each sample's new cache volume
// starts as a copy of (runner.LocalImageGo). It allows local repositories:
// the demo's samples are served on loopback.
func prepareDemoRuntime(ctx context.Context, m *Main, p *progress) error {
	m.Log = m.Log.With("component", "demo")
	m.ShellFallback = true // the demo runs only Sentinel's own samples
	// ... which it serves from a git server on this machine's loopback.
	m.Config.AllowLocalRepos = true
	rt, err := m.runtime()
	if err != nil {
		return err
	}
	d, ok := rt.(*runner.Docker)
	if !ok && m.Config.Executor == "shell" {
		p.say("SENTINEL_EXECUTOR=shell: steps run as host processes, without container limits.")
		return nil
	}
	if !ok {
		p.say("Docker is not reachable: steps run as host processes (shell executor), without container limits.")
		return nil
	}
	p.setStatus("looking for the samples' images")
	missing, err := missingImages(ctx, d, []string{"golang:1.26", "busybox:stable"})
	if err != nil || len(missing) == 0 {
		return err
	}
	p.say("Pulling %s ...", strings.Join(missing, ", "))
	p.setStatus("pulling " + strings.Join(missing, ", "))
	if pullErr := pullImages(ctx, d, missing); pullErr == nil {
		return nil
	} else {
		p.say("No registry reachable (%v):\nusing local images built from this machine's static busybox and Go toolchain instead.", shortErr(pullErr))
	}
	built := runner.LocalImages{GoRoot: goRoot(), Progress: func(msg string) {
		if strings.Contains(msg, ": Step ") || !strings.Contains(msg, ":") {
			p.say("  %s", msg)
		}
		p.setStatus(msg)
	}}
	if err := built.Build(ctx, d.Client()); err != nil {
		// Without a registry and without the local ingredients (Debian's
		// busybox-static) there is nothing to run containers from: the
		// demo still works, with host processes.
		p.say("Could not build local images (%v):\nrunning steps as host processes (shell executor) instead; apt-get install busybox-static for Docker.", shortErr(err))
		m.Config.Executor = "shell"
		m.Runtime = nil
		_, err := m.runtime()
		return err
	}
	if uid := os.Getuid(); uid != 0 {
		// Steps write the workspace under the data directory; as root, an
		// ordinary user could not delete it (make reset).
		d.User = fmt.Sprintf("%d:%d", uid, os.Getgid())
	}
	m.ImageRewrite = map[string]string{"golang:1.26": runner.LocalImageGo(), "busybox:stable": runner.LocalImageBusybox}
	return nil
}

func serveGit(root string) (url string, stop func(), err error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: runner.GitHTTPHandler(root), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}

func randomSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
