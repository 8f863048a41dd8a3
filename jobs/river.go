package jobs

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
)

// ClientConfig is what the binary decides about River.
type ClientConfig struct {
	RunWorkers, GitHubWorkers, TriageWorkers int
	// MaxRunDuration bounds the longest run (pipeline timeouts are capped to
	// it); stuck-job rescue waits longer than that, so a live run is never
	// rescued and executed twice.
	MaxRunDuration time.Duration
	// RescueAfter overrides the rescue delay derived from MaxRunDuration (tests).
	RescueAfter  time.Duration
	PeriodicJobs []*river.PeriodicJob
	// ID is the client's id, the process id of its Liveness: it is what
	// river_job.attempted_by records of the process holding a job.
	ID string
}

// NewClient builds the River client. With workers == nil the client can only
// insert (InsertTx inside the caller's transaction); that is what the webhook
// intake of a `serve` process uses when it runs no workers, and what tests use.
func NewClient(db *store.DB, workers *river.Workers, cfg ClientConfig, log *slog.Logger) (*river.Client[pgx.Tx], error) {
	rc := &river.Config{
		Logger: riverLog(log),
		// Jobs other than runs talk to GitHub or crunch one run's data: a few
		// minutes is generous, and a hung call must not hold a worker forever.
		JobTimeout: 5 * time.Minute,
		// Failed work stays inspectable on the dead-letter page and can be
		// retried from there; River's default would delete it after 7 days.
		DiscardedJobRetentionPeriod: 90 * 24 * time.Hour,
		CompletedJobRetentionPeriod: 24 * time.Hour,
		CancelledJobRetentionPeriod: 7 * 24 * time.Hour,
		RescueStuckJobsAfter:        cfg.rescueAfter(),
		PeriodicJobs:                cfg.PeriodicJobs,
		ID:                          cfg.ID,
	}
	if workers != nil {
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{
			QueueRuns:   {MaxWorkers: max(cfg.RunWorkers, 1)},
			QueueGitHub: {MaxWorkers: max(cfg.GitHubWorkers, 1)},
			QueueTriage: {MaxWorkers: max(cfg.TriageWorkers, 1)},
		}
	}
	return river.NewClient(db.RiverDriver(), rc)
}

func (c ClientConfig) rescueAfter() time.Duration {
	if c.RescueAfter > 0 {
		return c.RescueAfter
	}
	if c.MaxRunDuration <= 0 {
		c.MaxRunDuration = 2 * time.Hour
	}
	return c.MaxRunDuration + 30*time.Minute
}

// riverLog is River's log: log, except that River's warning for a job
// cancelled remotely is logged at Info. Here that is routine, a push
// superseding a running run or the cancel button, and as a warning it
// drowned the real ones: about 600 a minute under make loadtest.
func riverLog(log *slog.Logger) *slog.Logger {
	if log == nil {
		return nil
	}
	return slog.New(riverLogHandler{log.Handler()})
}

type riverLogHandler struct{ slog.Handler }

func (h riverLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn && strings.HasSuffix(r.Message, ": job cancelled remotely") {
		if !h.Handler.Enabled(ctx, slog.LevelInfo) {
			return nil
		}
		r.Level = slog.LevelInfo
	}
	return h.Handler.Handle(ctx, r)
}

func (h riverLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return riverLogHandler{h.Handler.WithAttrs(attrs)}
}

func (h riverLogHandler) WithGroup(name string) slog.Handler {
	return riverLogHandler{h.Handler.WithGroup(name)}
}
