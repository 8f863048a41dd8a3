package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/app/githubapp"
	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/jobs/runner"
)

// addWorkers registers every River worker of the process, and returns the
// periodic jobs: this is the one place that says what a Sentinel works on.
func (m *Main) addWorkers(w *river.Workers) ([]*river.PeriodicJob, error) {
	gh, err := m.gitHub()
	if err != nil {
		return nil, err
	}
	rt, err := m.runtime()
	if err != nil {
		return nil, err
	}
	workDir, err := m.workDir()
	if err != nil {
		return nil, err
	}
	runConfig := m.runnerConfig(rt, workDir, gh.InstallationToken) // "" from the recorder: clones go unauthenticated
	for _, worker := range []func() error{
		// queue "runs"
		func() error { return river.AddWorkerSafely(w, &jobs.RunExecuteWorker{DB: m.DB, Config: runConfig}) },
		func() error {
			return river.AddWorkerSafely(w, &jobs.ProbeConfirmWorker{DB: m.DB, Config: runConfig, Budget: m.Config.ConfirmBudget})
		},
		func() error {
			return river.AddWorkerSafely(w, &jobs.ProbeBisectWorker{DB: m.DB, Config: runConfig, GitHub: gh, Budget: m.Config.ConfirmBudget})
		},
		// queue "triage"
		func() error {
			return river.AddWorkerSafely(w, &jobs.TriageAnalyzeWorker{DB: m.DB, Log: m.Log, ConfirmBudget: m.Config.ConfirmBudget})
		},
		// queue "github"
		func() error {
			return river.AddWorkerSafely(w, &jobs.ReportCheckWorker{DB: m.DB, GitHub: gh, PublicURL: m.Config.PublicURL,
				WorkspaceRoots: []string{workDir}, Log: m.Log})
		},
		func() error {
			return river.AddWorkerSafely(w, &jobs.QuarantineProposeWorker{DB: m.DB, GitHub: gh, PublicURL: m.Config.PublicURL, Log: m.Log})
		},
		func() error {
			return river.AddWorkerSafely(w, &jobs.QuarantineReviewWorker{DB: m.DB, GitHub: gh, Log: m.Log})
		},
		func() error {
			return river.AddWorkerSafely(w, &jobs.PRCommentWorker{DB: m.DB, GitHub: gh, PublicURL: m.Config.PublicURL,
				WorkspaceRoots: []string{workDir}, Log: m.Log})
		},
		func() error {
			return river.AddWorkerSafely(w, &jobs.IncidentSyncWorker{DB: m.DB, GitHub: gh, PublicURL: m.Config.PublicURL, Log: m.Log})
		},
		func() error {
			return river.AddWorkerSafely(w, &jobs.NotifyEventWorker{DB: m.DB, URLs: m.Config.NotifyURLs, PublicURL: m.Config.PublicURL})
		},
		func() error { return river.AddWorkerSafely(w, &jobs.NotifySendWorker{Secret: m.Config.NotifySecret}) },
		// periodic
		func() error { return river.AddWorkerSafely(w, &jobs.IncidentSweepWorker{DB: m.DB, Log: m.Log}) },
		func() error {
			return river.AddWorkerSafely(w, &jobs.OrphanReapWorker{DB: m.DB, Runtime: rt, WorkDir: workDir, Logger: m.Log})
		},
		func() error { return river.AddWorkerSafely(w, &jobs.ClusterRefingerprintWorker{DB: m.DB, Log: m.Log}) },
		func() error {
			return river.AddWorkerSafely(w, &jobs.RetentionWorker{DB: m.DB, Log: m.Log, Logs: 30 * 24 * time.Hour, Calls: 90 * 24 * time.Hour})
		},
	} {
		if err := worker(); err != nil {
			return nil, err
		}
	}
	every := func(d time.Duration, args river.JobArgs) *river.PeriodicJob {
		return river.NewPeriodicJob(river.PeriodicInterval(d),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{RunOnStart: true})
	}
	// Each runs at start-up too; the reaper so that containers left by a
	// crashed process are removed before new runs start.
	return []*river.PeriodicJob{
		every(10*time.Minute, jobs.IncidentSweepArgs{}),
		every(10*time.Minute, jobs.OrphanReapArgs{}),
		every(6*time.Hour, jobs.RetentionPruneArgs{}),
		every(6*time.Hour, jobs.ClusterRefingerprintArgs{}),
	}, nil
}

// workDir holds the runs' workspaces.
func (m *Main) workDir() (string, error) {
	return filepath.Abs(filepath.Join(m.Config.DataDir, "workspaces"))
}

// runnerConfig is what run.execute needs. Every Docker step gets the
// default limits where its pipeline sets none; the ceilings hold under
// every runtime, so a pipeline valid on one Sentinel is valid on another.
// The shell runtime gets the default pids, CPUs and disk but no default
// memory: it can only turn memory into a per-process data-segment rlimit,
// which would break tools that map large writable ranges (the race
// detector, sanitizers). The run page says which limits held.
func (m *Main) runnerConfig(rt runner.Runtime, workDir string, token func(context.Context, int64) (string, error)) jobs.RunnerConfig {
	c := jobs.RunnerConfig{
		Runtime: rt, WorkDir: workDir, MaxRunDuration: m.Config.MaxRunDuration,
		ImageRewrite: m.ImageRewrite, Logger: m.Log, Token: token,
		MaxLimits: m.Config.StepMaxLimits,
		DefaultLimits: runner.Limits{NanoCPUs: m.Config.StepLimits.NanoCPUs, Pids: m.Config.StepLimits.Pids,
			Disk: m.Config.StepLimits.Disk},
		MaxTestResults: int(m.Config.MaxTestResults), MaxResultFileBytes: m.Config.MaxResultFileBytes,
		Secrets: m.Secrets, CacheMax: m.Config.CacheMax,
	}
	if rt.Name() == "docker" {
		c.DefaultLimits = m.Config.StepLimits
	}
	return c
}

// gitHub is the real App client with credentials, else the recorder.
func (m *Main) gitHub() (jobs.GitHub, error) {
	if m.GitHub != nil {
		return m.GitHub, nil
	}
	gh, err := githubapp.New(githubapp.Config{AppID: m.Config.GitHubAppID, PrivateKey: []byte(m.Config.GitHubKeyPEM), APIURL: m.Config.GitHubAPIURL}, m.DB, m.Log)
	m.GitHub = gh
	return gh, err
}

// runtime picks Docker when asked or when a daemon answers, else the shell.
// Containers are labelled with this database's identity, so Sentinels
// sharing a daemon never reap each other's containers.
func (m *Main) runtime() (runner.Runtime, error) {
	if m.Runtime != nil {
		return m.Runtime, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	instance, err := runner.InstanceID(ctx, m.DB)
	if err != nil {
		return nil, err
	}
	rt, err := runner.NewRuntime(ctx, m.Config.Executor, instance, m.ShellFallback, m.Log)
	if err != nil {
		return nil, fmt.Errorf("SENTINEL_EXECUTOR: %w", err)
	}
	// `make down` removes the containers labelled with this instance, and
	// only those: other checkouts' Sentinels share the daemon.
	if err := writeInstanceFile(m.Config.DataDir, instance); err != nil {
		return nil, err
	}
	if sh, ok := rt.(*runner.Shell); ok {
		// Toolchain caches (Go's build cache, modules) survive between runs.
		home, err := filepath.Abs(filepath.Join(m.Config.DataDir, "shell-home"))
		if err != nil {
			return nil, err
		}
		sh.Home = home
		sh.CacheDir = filepath.Join(filepath.Dir(home), "shell-cache")
	}
	m.Runtime = rt
	return rt, nil
}
