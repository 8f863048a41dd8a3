package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Runtime executes the steps of a run in isolation: Docker containers in
// production, host processes where no Docker daemon answers.
//
// Lifecycle, for one run:
//
//  1. Prepare(ctx, run) once, before any step. It checks that the runtime can
//     work (the daemon answers) and removes whatever an earlier, crashed
//     attempt of the same run left behind (containers labelled with the run).
//     The workspace directory already exists and holds the checkout.
//  2. RunStep(ctx, step) for each step, in order, never concurrently for one
//     run. It blocks until the step's process exits, its timeout passes, or
//     ctx is cancelled. Output is copied to step.Stdout and step.Stderr while
//     the step runs. A non-zero exit, an OOM kill or a timeout is a normal
//     StepResult with a nil error; the error is non-nil only when the step
//     could not be run or watched at all (daemon gone, image missing), and
//     then it is an *InfraError. On cancellation the step's processes are
//     killed before RunStep returns, and the error wraps context.Cause(ctx).
//  3. Kill(ctx, runID) may be called at any time, from any goroutine, to stop
//     every process of the run at once (used on cancellation and by the
//     reaper). It is idempotent.
//  4. Cleanup(ctx, runID) once after the last step, always, with a context
//     that is not the (possibly dead) job context. It removes every resource
//     of the run; the caller removes the workspace directory.
//
// Leftovers lists the runs that still own resources, so that the reaper can
// remove the ones whose run is no longer running.
type Runtime interface {
	Name() string
	Prepare(ctx context.Context, run RunSpec) error
	RunStep(ctx context.Context, step StepSpec) (StepResult, error)
	Kill(ctx context.Context, runID int64) error
	Cleanup(ctx context.Context, runID int64) error
	Leftovers(ctx context.Context) ([]int64, error)
}

// WorkspaceMount is where the workspace appears inside a step's container.
const WorkspaceMount = "/workspace"

// RunSpec describes the run a runtime prepares for.
type RunSpec struct {
	RunID     int64
	Workspace string // host directory holding the checkout
	// Caches are mounted into every step (StepSpec.Caches); CacheScope
	// names whose they are ("r12": repository 12). With CacheCopy, as for a
	// pull request from a fork, Prepare gives the run a throwaway copy of
	// them (scope "run<ID>", made with Image) that Cleanup removes: the run
	// reads the cache and what it writes is discarded.
	Caches     []CacheMount
	CacheScope string
	CacheCopy  bool
	Image      string
}

// StepSpec is one step as the runtime sees it: everything is resolved
// (defaults applied, image rewritten), nothing refers to the pipeline file.
type StepSpec struct {
	RunID     int64
	StepID    int64
	Name      string
	Workspace string // host directory, mounted at WorkspaceMount
	Image     string
	Command   string // run with /bin/sh -c
	Env       map[string]string
	Limits    Limits
	Timeout   time.Duration // 0: none beyond ctx
	Network   string        // "" or "bridge": default network; "none": no network
	TmpfsSize int64         // >0: /tmp is a tmpfs of this many bytes (Docker only)
	// Caches and CacheScope are the run's (RunSpec): each cache is mounted
	// at its Target, with its Env set.
	Caches     []CacheMount
	CacheScope string
	Services   bool // the run has services: join its network (Docker), unless Network is "none"
	Stdout     io.Writer
	Stderr     io.Writer
}

// StepResult is what happened to a step that ran.
type StepResult struct {
	ExitCode  int
	OOMKilled bool
	TimedOut  bool
	// DiskExceeded: the step was stopped because its workspace grew past
	// the disk limit (set by the caller watching it, WatchWorkspace).
	DiskExceeded bool
	Started      time.Time
	Finished     time.Time
}

// Failed reports whether the step did not succeed.
func (r StepResult) Failed() bool {
	return r.ExitCode != 0 || r.OOMKilled || r.TimedOut || r.DiskExceeded
}

// InfraError is a failure of the machinery rather than of the code under
// test: daemon unreachable, image pull failed, workspace disk full. A run
// ending with one is errored and River retries it a bounded number of times.
type InfraError struct {
	Op  string // what was being done: "pull image golang:1.26", "checkout"
	Err error
}

func (e *InfraError) Error() string { return fmt.Sprintf("%s: %v", e.Op, e.Err) }
func (e *InfraError) Unwrap() error { return e.Err }

// DataError is a run that cannot go on because of what it names or
// produced: a commit that does not exist, a clone URL where no repository
// answers, result files that cannot be read. Retrying cannot help, and it
// says nothing about the machinery: the run fails (configuration) with Msg,
// and the infrastructure rate does not count it.
type DataError struct {
	Msg string
	Err error // what git or the parser said, when anything
}

func (e *DataError) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	return fmt.Sprintf("%s: %v", e.Msg, e.Err)
}
func (e *DataError) Unwrap() error { return e.Err }

// IsInfra reports whether err is (or wraps) an *InfraError.
func IsInfra(err error) bool {
	var ie *InfraError
	return errors.As(err, &ie)
}

func infra(op string, err error) error {
	if err == nil {
		return nil
	}
	return &InfraError{Op: op, Err: err}
}

// NewRuntime returns the runtime SENTINEL_EXECUTOR names: "docker", "shell",
// or "" for Docker. With "" and no daemon answering, it is an error unless
// shellFallback is set (the demo, which runs only Sentinel's own samples):
// a server must never quietly run untrusted steps as host processes.
// instance is InstanceID's value, labelling Docker containers.
func NewRuntime(ctx context.Context, executor, instance string, shellFallback bool, log *slog.Logger) (Runtime, error) {
	switch executor {
	case "shell":
		return NewShell(), nil
	case "docker", "":
		d, err := NewDocker()
		if err == nil {
			pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = d.Ping(pingCtx)
			cancel()
			if err != nil {
				d.Close()
			}
		}
		if err == nil {
			d.Instance = instance
			return d, nil
		}
		if executor == "docker" {
			return nil, fmt.Errorf("docker executor: %w", err)
		}
		if !shellFallback {
			return nil, fmt.Errorf("no Docker daemon answers (%w); steps will not run as host processes unless SENTINEL_EXECUTOR=shell is set", err)
		}
		log.Warn("no Docker daemon answers; steps will run as host processes without isolation", "err", err)
		return NewShell(), nil
	}
	return nil, fmt.Errorf("executor %q: want docker or shell", executor)
}
