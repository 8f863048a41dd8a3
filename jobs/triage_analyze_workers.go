package jobs

import (
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// AnalysisDeps is what the analysis and incident workers need.
type AnalysisDeps struct {
	DB        *store.DB
	GitHub    GitHub // the App client, or the recorder without credentials
	PublicURL string
	Rules     *triage.RuleSet // nil: built-in rules
	Flaky     triage.FlakyConfig
	Incidents triage.IncidentPolicy
	Log       *slog.Logger
	// SweepEvery is the period of incident.sweep (default 10 minutes).
	SweepEvery time.Duration
}

// AddAnalysisWorkers registers triage.analyze, incident.sync and
// incident.sweep, and returns the periodic sweep job for the client config.
func AddAnalysisWorkers(w *river.Workers, d AnalysisDeps) ([]*river.PeriodicJob, error) {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := river.AddWorkerSafely(w, &TriageAnalyzeWorker{DB: d.DB, Rules: d.Rules, Flaky: d.Flaky,
		Incidents: d.Incidents, Log: log}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(w, &IncidentSyncWorker{DB: d.DB, GitHub: d.GitHub, PublicURL: d.PublicURL,
		Policy: d.Incidents, Log: log}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(w, &IncidentSweepWorker{DB: d.DB, Policy: d.Incidents, Log: log}); err != nil {
		return nil, err
	}
	every := d.SweepEvery
	if every <= 0 {
		every = 10 * time.Minute
	}
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(every),
			func() (river.JobArgs, *river.InsertOpts) { return IncidentSweepArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
	}, nil
}
