package main

import (
	"time"

	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/jobs"
)

// addWorkers registers every River worker and returns the periodic jobs.
func (m *Main) addWorkers(w *river.Workers) ([]*river.PeriodicJob, error) {
	if err := river.AddWorkerSafely(w, &jobs.RetentionWorker{
		DB: m.DB, Log: m.Log, Logs: 30 * 24 * time.Hour, Calls: 90 * 24 * time.Hour,
	}); err != nil {
		return nil, err
	}
	periodic := []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(6*time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return jobs.RetentionPruneArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
	}
	return periodic, nil
}
