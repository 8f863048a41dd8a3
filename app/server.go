// Package app is Sentinel's HTTP surface: the chi routes, the webhook
// receiver, the dashboard and JSON API. The GitHub API client lives in
// app/githubapp.
package app

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/app/intake"
	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

// Options is what the HTTP surface needs from the configuration.
type Options struct {
	PublicURL     string // base of links placed in check runs and issues
	AdminToken    string // required for dashboard/API actions when set
	WebhookSecret string // HMAC secret of GitHub deliveries
	// WebhookBodyBudget caps the bytes of webhook bodies held at once,
	// across all requests; beyond it a delivery is answered 503. Zero means
	// 64 MiB.
	WebhookBodyBudget int64
	// AllowLocalRepos lets POST /api/repos add repositories by local path
	// or file:// URL (the demo, tests, a single-machine setup).
	AllowLocalRepos bool
	// GitHubHost serves the repositories (intake.WebHost of
	// GITHUB_API_URL); clone URLs elsewhere are refused. "" is github.com.
	GitHubHost string
	// Secrets seals the repository secrets set through the API and the
	// dashboard; nil refuses them.
	Secrets *jobs.SecretBox
	// CacheMax is SENTINEL_CACHE_MAX, shown on the caches page.
	CacheMax int64
	// ConfirmBudget is SENTINEL_CONFIRM_BUDGET, shown with what each
	// repository spent of it on the test page.
	ConfirmBudget time.Duration
	// ResultCaps are SENTINEL_MAX_TEST_RESULTS and
	// SENTINEL_MAX_RESULT_FILE_SIZE, applied to POST /api/results as to a
	// step's results; zero values mean the defaults.
	ResultCaps jobs.ResultCaps
}

// cloneHosts is where clone URLs from payloads and the API may point.
func (o Options) cloneHosts() intake.CloneHosts {
	return intake.CloneHosts{GitHub: o.GitHubHost, AllowLocal: o.AllowLocalRepos}
}

// Server holds the dependencies of every handler.
type Server struct {
	DB      *store.DB
	River   *river.Client[pgx.Tx]
	Log     *slog.Logger
	Opts    Options
	Metrics *Metrics
	// Actions are what the dashboard's forms, the API and the check run
	// buttons change, implemented once.
	Actions *jobs.Actions
	// Intake records the webhook's deliveries and what they cause.
	Intake *intake.Intake

	// WorkersRunning reports whether this process's River client is working
	// jobs; /readyz fails when it stopped. Nil means the process runs no
	// workers and only inserts.
	WorkersRunning func() bool

	bodies   *bodyBudget // webhook bodies in flight
	sessions sessions    // admin sessions issued by the login form
	logs     logCache    // rendered logs of finished steps
}

// NewServer wires a server with its actions and intake; Handler returns its
// routes.
func NewServer(db *store.DB, rc *river.Client[pgx.Tx], log *slog.Logger, opts Options) *Server {
	actions := &jobs.Actions{DB: db, River: rc, Secrets: opts.Secrets}
	if opts.WebhookBodyBudget <= 0 {
		opts.WebhookBodyBudget = defaultWebhookBodyBudget
	}
	in := intake.New(db, rc, actions, log)
	in.Hosts = opts.cloneHosts()
	return &Server{DB: db, River: rc, Log: log, Opts: opts, Metrics: NewMetrics(db), Actions: actions,
		Intake: in, bodies: &bodyBudget{limit: opts.WebhookBodyBudget}}
}

// Serve serves h on l until ctx ends, then shuts down gracefully: requests
// in flight (a webhook being committed) finish; new connections are refused.
func Serve(ctx context.Context, l net.Listener, h http.Handler, log *slog.Logger) error {
	srv := newHTTPServer(h)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	log.Info("listening", "addr", l.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// newHTTPServer bounds how long a client may hold a connection without
// doing its part: headers within 10 s, a whole request (a 25 MiB delivery
// included) within a minute, an idle keep-alive connection for two. There is
// no write time-out, since the live log tail streams for as long as a step
// runs (it lifts its own read deadline, see handleLiveTail).
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
}
