package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/app"
	"github.com/sentinel-ci/sentinel/app/intake"
	"github.com/sentinel-ci/sentinel/app/tunnel"
	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
)

// Main is one running Sentinel process. End-to-end tests start the same type
// in-process.
type Main struct {
	Config Config
	Log    *slog.Logger

	DB       *store.DB
	Postgres *store.ManagedPostgres // nil when DATABASE_URL is set
	River    *river.Client[pgx.Tx]
	Server   *app.Server
	GitHub   jobs.GitHub    // set before Run to override (tests: the fake GitHub)
	Runtime  runner.Runtime // set before Run to override; else chosen by SENTINEL_EXECUTOR
	// ShellFallback lets an unset SENTINEL_EXECUTOR fall back to the shell
	// when no Docker daemon answers; only the demo sets it.
	ShellFallback bool
	// ImageRewrite maps pipeline images to local ones (the demo on a machine
	// without a registry).
	ImageRewrite map[string]string
	// Secrets seals and opens repository secrets (secret_cmd.go).
	Secrets *jobs.SecretBox

	// Listening is closed once the HTTP listener is bound; Addr is then its
	// address (tests listen on port 0).
	Listening chan struct{}
	Addr      string

	// ProcessID names this start of the process: its River client id and
	// its row in the processes table (jobs.Liveness).
	ProcessID string

	unlockDataDir func() // set while this process holds the data directory
}

// NewMain prepares a process; nothing starts until Run.
func NewMain(cfg Config, log *slog.Logger) *Main {
	return &Main{Config: cfg, Log: log, Listening: make(chan struct{})}
}

// Open connects to the database (starting a managed cluster when no
// DATABASE_URL is set) and applies migrations.
func (m *Main) Open(ctx context.Context) error {
	url := m.Config.DatabaseURL
	if url == "" {
		unlock, err := lockDataDir(m.Config.DataDir)
		if err != nil {
			return err
		}
		m.unlockDataDir = unlock
		pg, err := store.StartManagedPostgres(ctx, filepath.Join(m.Config.DataDir, "postgres"), store.ManagedOptions{}, m.Log)
		if err != nil {
			return err
		}
		m.Postgres = pg
		url = pg.URL()
	}
	// Workers, the intake and the dashboard share one pool; size it to what
	// can run at once plus headroom for HTTP.
	maxConns := int32(m.Config.Concurrency + m.Config.GitHubWorkers + m.Config.TriageWorkers + 16)
	db, err := store.Open(ctx, url, maxConns, m.Log)
	if err != nil {
		return err
	}
	m.DB = db
	return db.Migrate(ctx, m.Log)
}

// Run executes one command (serve, worker, migrate) until ctx ends.
func (m *Main) Run(ctx context.Context, cmd string) error {
	if m.DB == nil { // the demo opens first, to prepare the runtime
		if err := m.Open(ctx); err != nil {
			return err
		}
	}
	if cmd == "migrate" {
		m.Log.Info("migrations applied")
		return nil
	}
	m.ProcessID = jobs.NewProcessID()
	if err := m.openSecrets(); err != nil {
		return err
	}
	rc, err := m.newRiver(true)
	if err != nil {
		return err
	}
	m.River = rc
	m.Log.Info("executor", executorAttrs(ctx, m.Runtime)...)
	// A process that others declared lost (its heartbeats did not reach the
	// database) stops, so that its runs, now retried elsewhere, run once.
	ctx, lost := context.WithCancelCause(ctx)
	defer lost(nil)
	live, err := m.startLiveness(ctx, cmd, rc, func() { lost(store.ErrProcessRescued) })
	if err != nil {
		return err
	}
	liveCtx, stopLive := context.WithCancel(context.WithoutCancel(ctx))
	liveDone := make(chan struct{})
	go func() { defer close(liveDone); live.Run(liveCtx) }()
	defer func() {
		stopLive()
		<-liveDone // nothing of it may outlive Run (tests log through t)
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := live.Stop(stopCtx); err != nil {
			m.Log.Warn("recording the stop of this process", "err", err)
		}
	}()
	// Workers start on a context that outlives ctx: on SIGTERM they are
	// stopped deliberately (stopRiver), not cut off.
	if err := rc.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	defer m.stopRiver()
	if cmd == "worker" {
		m.Log.Info("worker started", "concurrency", m.Config.Concurrency, "process", m.ProcessID)
		<-ctx.Done()
	} else if err := m.serve(ctx); err != nil {
		return err
	}
	if cause := context.Cause(ctx); errors.Is(cause, store.ErrProcessRescued) {
		return cause
	}
	return nil
}

// startLiveness records this process, rescues the runs of its own earlier
// starts, and returns its heartbeat (jobs.Liveness) to run.
func (m *Main) startLiveness(ctx context.Context, cmd string, rc *river.Client[pgx.Tx], onLost func()) (*jobs.Liveness, error) {
	workDir, err := m.workDir()
	if err != nil {
		return nil, err
	}
	live := &jobs.Liveness{DB: m.DB, Client: rc, Runtime: m.Runtime, WorkDir: workDir,
		Process: store.Process{ID: m.ProcessID, Command: cmd}, LostAfter: m.Config.WorkerLostAfter,
		Logger: m.Log, OnLost: onLost}
	if err := live.Start(ctx); err != nil {
		return nil, err
	}
	return live, nil
}

func (m *Main) serve(ctx context.Context) error {
	l, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("SENTINEL_ADDR %s: %w", m.Config.Addr, err)
	}
	m.Addr = l.Addr().String()
	close(m.Listening)
	m.Server = app.NewServer(m.DB, m.River, m.Log, app.Options{
		PublicURL:     m.Config.PublicURL,
		AdminToken:    m.Config.AdminToken,
		Secrets:       m.Secrets,
		CacheMax:      m.Config.CacheMax,
		ConfirmBudget: m.Config.ConfirmBudget,
		WebhookSecret: m.Config.WebhookSecret,
		ResultCaps:    jobs.ResultCaps{Tests: int(m.Config.MaxTestResults), FileBytes: m.Config.MaxResultFileBytes},

		WebhookBodyBudget: m.Config.WebhookBodyBudget,
		AllowLocalRepos:   m.Config.AllowLocalRepos,
		GitHubHost:        intake.WebHost(m.Config.GitHubAPIURL),
	})
	m.Server.WorkersRunning = m.workersRunning
	if m.Config.WebhookSecret == "" {
		m.Log.Warn("GITHUB_WEBHOOK_SECRET is unset: every webhook delivery will be rejected with 401")
	}
	if m.Config.SmeeURL != "" {
		// Development: pull deliveries from a smee.io channel into our own
		// webhook endpoint, so no second terminal is needed.
		tun := tunnel.Tunnel{Source: m.Config.SmeeURL, Target: "http://" + m.Addr + "/webhooks/github",
			Secret: []byte(m.Config.WebhookSecret), Logger: m.Log.With("component", "tunnel")}
		go tun.Run(ctx) //nolint:errcheck // returns at ctx end; URLs were validated
	}
	return app.Serve(ctx, l, m.Server.Handler(), m.Log)
}

func (m *Main) workersRunning() bool {
	select {
	case <-m.River.Stopped():
		return false
	default:
		return true
	}
}

func (m *Main) newRiver(work bool) (*river.Client[pgx.Tx], error) {
	cfg := jobs.ClientConfig{
		RunWorkers:     m.Config.Concurrency,
		GitHubWorkers:  m.Config.GitHubWorkers,
		TriageWorkers:  m.Config.TriageWorkers,
		MaxRunDuration: m.Config.MaxRunDuration,
		ID:             m.ProcessID,
	}
	var workers *river.Workers
	if work {
		workers = river.NewWorkers()
		periodic, err := m.addWorkers(workers)
		if err != nil {
			return nil, err
		}
		cfg.PeriodicJobs = periodic
	}
	return jobs.NewClient(m.DB, workers, cfg, m.Log)
}

// stopRiver stops taking jobs, lets running ones finish within the grace
// period, then cancels what is left (a cancelled run is rescued or retried
// later; nothing is lost).
func (m *Main) stopRiver() {
	grace, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownGrace)
	defer cancel()
	err := m.River.Stop(grace)
	if errors.Is(err, context.DeadlineExceeded) {
		m.Log.Warn("jobs still running after the grace period; cancelling them", "grace", m.Config.ShutdownGrace)
		hard, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		err = m.River.StopAndCancel(hard)
	}
	if err != nil {
		m.Log.Error("stopping workers", "err", err)
	}
}

// Close releases the pool and stops a managed cluster.
func (m *Main) Close() error {
	if m.DB != nil {
		m.DB.Close()
	}
	var err error
	if m.Postgres != nil {
		err = m.Postgres.Stop()
	}
	if m.unlockDataDir != nil {
		m.unlockDataDir()
		m.unlockDataDir = nil
	}
	return err
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level)) //nolint:errcheck // validated by Config.Validate
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
