package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// RunnerConfig is what the runner needs from the binary.
type RunnerConfig struct {
	Runtime runner.Runtime
	WorkDir string // per-run workspaces are created under it and removed afterwards
	// Token returns an installation token for cloning; nil, or installation
	// id 0, clones without one.
	Token func(ctx context.Context, installationID int64) (string, error)
	// DefaultRunTimeout applies when the pipeline sets none (default 1h);
	// MaxRunDuration caps every run (default 2h).
	DefaultRunTimeout, MaxRunDuration time.Duration
	DefaultLimits                     runner.Limits     // applied to limits the pipeline leaves unset
	MaxLimits                         runner.Limits     // ceilings the pipeline may not exceed (0: none)
	ImageRewrite                      map[string]string // image → image actually used (local mirrors, tests)
	// MaxTestResults caps the test results stored per step (default
	// 50,000); MaxResultFileBytes the size of a result file read (64 MiB).
	MaxTestResults     int
	MaxResultFileBytes int64
	// DiskWatchInterval is how often a step's workspace is measured
	// against its disk limit (default 2 s).
	DiskWatchInterval time.Duration
	Log               runner.LogOptions // Secrets here are masked in every step's log
	// Secrets opens the repository secrets that steps name; nil: no run
	// may name one.
	Secrets *SecretBox
	// CacheMax caps each repository's caches (SENTINEL_CACHE_MAX); least
	// recently used ones go first. 0: 10 GiB.
	CacheMax int64
	Logger   *slog.Logger
}

func (c RunnerConfig) runTimeout(p *runner.Pipeline) time.Duration {
	d := c.DefaultRunTimeout
	if d <= 0 {
		d = time.Hour
	}
	if p != nil && p.Timeout > 0 {
		d = p.Timeout
	}
	return min(d, c.maxRun())
}

// Defaults of the caps on test results.
const (
	DefaultMaxTestResults     = 50_000
	DefaultMaxResultFileBytes = 64 << 20
)

func (c RunnerConfig) resultCaps() (tests int, fileBytes int64) {
	caps := ResultCaps{Tests: c.MaxTestResults, FileBytes: c.MaxResultFileBytes}.OrDefaults()
	return caps.Tests, caps.FileBytes
}

func (c RunnerConfig) diskWatchInterval() time.Duration {
	if c.DiskWatchInterval <= 0 {
		return 2 * time.Second
	}
	return c.DiskWatchInterval
}

func (c RunnerConfig) maxRun() time.Duration {
	if c.MaxRunDuration <= 0 {
		return 2 * time.Hour
	}
	return c.MaxRunDuration
}

// RunExecuteWorker executes a run: checkout, pipeline, steps, results, and
// the run's final state together with the triage job. It is idempotent: a
// run already over is left alone, and a run found running (its worker was
// lost and River rescued the job) has its stale steps marked errored and its
// old containers removed before it runs again.
type RunExecuteWorker struct {
	river.WorkerDefaults[RunExecuteArgs]
	DB     *store.DB
	Config RunnerConfig
}

// Timeout lets the runner enforce run timeouts itself; River's bound is a
// backstop a little beyond the longest run.
func (w *RunExecuteWorker) Timeout(*river.Job[RunExecuteArgs]) time.Duration {
	return w.Config.maxRun() + 5*time.Minute
}

// errRunTimeout is the cause of the run context's deadline.
var errRunTimeout = errors.New("run timed out")

func (w *RunExecuteWorker) Work(ctx context.Context, job *river.Job[RunExecuteArgs]) error {
	log := w.logger().With("run_id", job.Args.RunID, "job_attempt", job.Attempt)
	run, err := store.GetRun(ctx, w.DB, job.Args.RunID)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	switch {
	case store.IsFinalRunState(run.State):
		log.Info("run already finished; ending what a lost worker left", "state", run.State)
		return w.endLeftovers(ctx, run)
	case run.State == store.RunAwaitingApproval:
		return river.JobCancel(fmt.Errorf("run %d is awaiting approval", run.ID))
	}
	if err := w.begin(ctx, job, run, log); err != nil {
		return err
	}
	ex := &execution{w: w, run: run, log: log, job: job}
	return ex.execute(ctx)
}

// endLeftovers ends what a lost worker left of a run that finished without
// it (superseded or cancelled meanwhile): steps still marked running, whose
// live tails would never end, its containers and its workspace. This job is
// the run's only one (unique by run id), so nothing else is running it.
func (w *RunExecuteWorker) endLeftovers(ctx context.Context, run store.Run) error {
	stepState := triage.StepErrored
	if run.State == store.RunCancelled {
		stepState = triage.StepCancelled
	}
	if _, err := store.AbandonSteps(ctx, w.DB, run.ID, stepState, "worker lost; the run ended "+string(run.State)+" without it"); err != nil {
		return err
	}
	if err := w.Config.Runtime.Cleanup(ctx, run.ID); err != nil {
		return err
	}
	if w.Config.WorkDir == "" {
		return nil
	}
	return os.RemoveAll(filepath.Join(w.Config.WorkDir, "run-"+strconv.FormatInt(run.ID, 10)))
}

// begin marks the run running; when it already was, an earlier worker was
// lost, and its steps are ended as errored so that only one attempt runs.
func (w *RunExecuteWorker) begin(ctx context.Context, job *river.Job[RunExecuteArgs], run store.Run, log *slog.Logger) error {
	return w.DB.InTx(ctx, func(tx pgx.Tx) error {
		if run.State == store.RunRunning {
			n, err := store.AbandonSteps(ctx, tx, run.ID, triage.StepErrored,
				fmt.Sprintf("worker lost; the run was started again (job attempt %d)", job.Attempt))
			if err != nil {
				return err
			}
			log.Warn("run was already running: earlier worker lost, running it again", "stale_steps", n)
		}
		ok, err := store.TransitionRun(ctx, tx, run.ID, []store.RunState{store.RunQueued, store.RunRunning}, store.RunRunning, "", "")
		if err != nil {
			return err
		}
		if !ok {
			return river.JobCancel(fmt.Errorf("run %d is no longer queued or running", run.ID))
		}
		if err := store.SetRunJob(ctx, tx, run.ID, job.ID); err != nil {
			return err
		}
		client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
		if err != nil {
			return fmt.Errorf("river client: %w", err)
		}
		return EnqueueReport(ctx, client, tx, run.ID, PhaseInProgress)
	})
}

func (w *RunExecuteWorker) logger() *slog.Logger {
	if w.Config.Logger != nil {
		return w.Config.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// execution is one attempt at executing one run.
type execution struct {
	w          *RunExecuteWorker
	run        store.Run
	job        *river.Job[RunExecuteArgs]
	log        *slog.Logger
	ws         string
	secrets    []string          // every value to mask: the token, the configured ones, the repository's secrets
	stepEnv    map[string]string // secret values by name, for the steps that name them
	fork       bool              // a pull request from a fork: no secret reaches it, no cache keeps what it writes
	goModules  bool              // the checkout has Go modules
	caches     []runner.CacheMount
	cacheScope string // the caches steps mount: the repository's, or the run's throwaway copy
	services   []*runningService
	lastImage  string           // image of the last step run, present on the daemon
	triage     TriageRepoConfig // what the checkout says about triage, for the triage job
}

// outcome is how the run ends.
type outcome struct {
	state    store.RunState
	category triage.Category
	err      error
}

func (ex *execution) execute(ctx context.Context) error {
	cfg := ex.w.Config
	ex.ws = filepath.Join(cfg.WorkDir, "run-"+strconv.FormatInt(ex.run.ID, 10))
	// A crashed attempt may have left its workspace behind.
	if err := os.RemoveAll(ex.ws); err != nil {
		return ex.finish(ctx, outcome{state: store.RunErrored, category: triage.CategoryInfrastructure, err: &runner.InfraError{Op: "remove old workspace", Err: err}})
	}
	o := ex.steps(ctx)
	// Containers and workspace go before the final state is recorded, so
	// that whoever sees the run finished sees nothing of it left.
	fresh, cancel := context.WithTimeout(context.Background(), runner.CleanupTimeout)
	defer cancel()
	if err := cfg.Runtime.Cleanup(fresh, ex.run.ID); err != nil {
		ex.log.Warn("runtime cleanup failed", "err", err)
	}
	ex.finishServices(fresh, o)
	ex.evictCaches(fresh)
	if err := ex.removeWorkspace(fresh); err != nil {
		ex.log.Warn("workspace removal failed", "workspace", ex.ws, "err", err)
	}
	return ex.finish(ctx, o)
}

// removeWorkspace deletes the workspace; files a container left that this
// process may not delete are removed through the runtime first.
func (ex *execution) removeWorkspace(ctx context.Context) error {
	err := os.RemoveAll(ex.ws)
	if err == nil || ex.lastImage == "" {
		return err
	}
	if r, ok := ex.w.Config.Runtime.(runner.WorkspaceRemover); ok {
		if err := r.RemoveWorkspace(ctx, ex.run.ID, ex.ws, ex.lastImage); err != nil {
			return err
		}
		return os.RemoveAll(ex.ws)
	}
	return err
}

// checkout clones the run's commit into the workspace and reads its
// pipeline, checked against the runner's ceilings; failed reports that
// the run ends here with o.
func (ex *execution) checkout(ctx context.Context) (p *runner.Pipeline, co runner.Checkout, o outcome, failed bool) {
	cfg := ex.w.Config
	token := ""
	if cfg.Token != nil && ex.run.InstallationID != 0 {
		t, err := cfg.Token(ctx, ex.run.InstallationID)
		if err != nil {
			return nil, co, ex.failure(ctx, &runner.InfraError{Op: "installation token", Err: err}), true
		}
		token = t
	}
	ex.secrets = append(append([]string(nil), cfg.Log.Secrets...), token)
	cloneURL := ex.run.CloneURL
	if cloneURL == "" {
		// Runs started from the dashboard or API may leave it to the repository.
		repo, err := store.GetRepository(ctx, ex.w.DB, ex.run.RepositoryID)
		if err != nil {
			return nil, co, ex.failure(ctx, err), true
		}
		cloneURL = repo.CloneURL
	}
	if cloneURL == "" {
		return nil, co, outcome{state: store.RunFailed, category: triage.CategoryConfiguration,
			err: fmt.Errorf("repository %s has no clone URL", ex.run.Repository)}, true
	}
	co = runner.Checkout{CloneURL: cloneURL, SHA: ex.run.SHA, Token: token, Dir: ex.ws}
	if err := co.Run(ctx); err != nil {
		return nil, co, ex.failure(ctx, err), true
	}
	pipeline, err := runner.LoadPipeline(os.DirFS(ex.ws))
	if err != nil {
		var ce *runner.ConfigError
		if errors.As(err, &ce) || errors.Is(err, runner.ErrNoPipeline) {
			return nil, co, outcome{state: store.RunFailed, category: triage.CategoryConfiguration, err: err}, true
		}
		return nil, co, ex.failure(ctx, &runner.InfraError{Op: "read pipeline", Err: err}), true
	}
	if err := pipeline.CheckLimits(cfg.MaxLimits); err != nil {
		return nil, co, outcome{state: store.RunFailed, category: triage.CategoryConfiguration, err: err}, true
	}
	return pipeline, co, outcome{}, false
}

// steps checks out the commit, reads the pipeline and runs it.
func (ex *execution) steps(ctx context.Context) outcome {
	cfg := ex.w.Config
	pipeline, co, o, failed := ex.checkout(ctx)
	if failed {
		return o
	}
	ex.readTriageConfig(pipeline)
	listed, err := runner.LoadQuarantine(os.DirFS(ex.ws), time.Now())
	if err != nil {
		var ce *runner.ConfigError
		if errors.As(err, &ce) {
			return outcome{state: store.RunFailed, category: triage.CategoryConfiguration, err: err}
		}
		return ex.failure(ctx, &runner.InfraError{Op: "read " + runner.QuarantineFile, Err: err})
	}
	pipeline.Quarantine = append(pipeline.Quarantine, listed...)
	fork, err := ex.fromFork(ctx)
	if err != nil {
		return ex.failure(ctx, err)
	}
	ex.fork = fork
	if o, failed := ex.openSecrets(ctx, pipeline); failed {
		return o
	}
	if err := ex.savePolicy(ctx, pipeline); err != nil {
		return ex.failure(ctx, err)
	}
	if err := ex.saveGoModules(ctx); err != nil {
		return ex.failure(ctx, err)
	}
	ex.caches = append(runner.DefaultCaches(os.DirFS(ex.ws), ex.goModules), pipeline.Caches...)
	scope, err := store.CacheScope(ctx, ex.w.DB, ex.run.RepositoryID)
	if err != nil {
		return ex.failure(ctx, err)
	}
	run := runner.RunSpec{RunID: ex.run.ID, Workspace: ex.ws, Caches: ex.caches,
		CacheScope: scope, CacheCopy: ex.fork, Image: ex.image(pipeline, pipeline.Steps[0])}
	if err := cfg.Runtime.Prepare(ctx, run); err != nil {
		return ex.failure(ctx, err)
	}
	ex.cacheScope = run.CacheScope
	if ex.fork {
		ex.cacheScope = runner.CopyScope(ex.run.ID)
	}
	runCtx, cancel := context.WithTimeoutCause(ctx, cfg.runTimeout(pipeline), errRunTimeout)
	defer cancel()
	return ex.pipeline(runCtx, pipeline, ex.facts(runCtx, pipeline, co))
}

// savePolicy stores what the pipeline file says about quarantine,
// incidents and confirmation re-runs for triage, which has no checkout. Only the default branch
// speaks for the repository: a pull request must not quarantine tests.
func (ex *execution) savePolicy(ctx context.Context, p *runner.Pipeline) error {
	if ex.run.PRNumber != 0 {
		return nil
	}
	pol, err := store.GetRepositoryPolicy(ctx, ex.w.DB, ex.run.RepositoryID)
	if err != nil {
		return err
	}
	if ex.run.Branch != pol.DefaultBranch {
		return nil
	}
	if err := store.SetRepositoryPolicy(ctx, ex.w.DB, ex.run.RepositoryID, p.Quarantine, p.Incidents.After, p.Incidents.Within); err != nil {
		return err
	}
	if err := store.SetConfirmPolicy(ctx, ex.w.DB, ex.run.RepositoryID, p.Flaky.Runs(), p.Flaky.ConfirmPullRequests); err != nil {
		return err
	}
	return store.SetRepositoryFlakyActions(ctx, ex.w.DB, ex.run.RepositoryID, p.Flaky.AutoQuarantine, p.Flaky.RecoverRuns)
}

// readTriageConfig reads what the checkout says about triage: the
// repository's rules and the problem-matcher files the pipeline names. A
// bad file costs only itself: the problem is reported in the check run
// and triage goes on with the built-in rules and matchers.
func (ex *execution) readTriageConfig(p *runner.Pipeline) {
	if ws, err := filepath.Abs(ex.ws); err == nil {
		ex.triage.Workspace = filepath.ToSlash(ws)
	}
	fsys := os.DirFS(ex.ws)
	rules, err := runner.LoadRules(fsys)
	if err != nil {
		ex.triage.addProblem(err.Error() + "; triage used the built-in rules")
	}
	ex.triage.Rules = rules
	files, err := runner.LoadMatchers(fsys, p.Matchers)
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			ex.triage.addProblem(e.Error() + "; the matcher file was not used")
		}
	}
	ex.triage.Matchers = files
}

// triageConfig is the triage configuration to hand on, nil if the run
// never read its checkout.
func (ex *execution) triageConfig() *TriageRepoConfig {
	c := ex.triage
	if c.Workspace == "" && len(c.Problems) == 0 {
		return nil
	}
	return &c
}

// saveGoModules records the checkout's Go modules, which place go test's
// file names in the check run's annotations (see PathResolver). A checkout
// that cannot be searched costs only that: the run goes on, and annotation
// paths fall back to a guess from the repository's name.
func (ex *execution) saveGoModules(ctx context.Context) error {
	mods, err := runner.FindGoModules(os.DirFS(ex.ws))
	if err != nil {
		ex.log.Warn("searching the checkout for go.mod files", "err", err)
	}
	ex.goModules = len(mods) > 0
	return store.SetRunGoModules(ctx, ex.w.DB, ex.run.ID, mods)
}

// failure turns an error that ended the run early into its outcome.
func (ex *execution) failure(ctx context.Context, err error) outcome {
	cause := context.Cause(ctx)
	var de *runner.DataError
	switch {
	case errors.Is(err, errRunTimeout) || errors.Is(cause, errRunTimeout):
		return outcome{state: store.RunTimedOut, category: triage.CategoryTimeout, err: errRunTimeout}
	case cause != nil:
		return outcome{state: store.RunCancelled, err: cause}
	case errors.As(err, &de):
		// What the run names is not there: retrying cannot help, and it
		// is no fault of the machinery.
		return outcome{state: store.RunFailed, category: triage.CategoryConfiguration, err: err}
	case runner.IsInfra(err):
		return outcome{state: store.RunErrored, category: triage.CategoryInfrastructure, err: err}
	}
	return outcome{state: store.RunErrored, category: triage.CategoryInfrastructure, err: err}
}

// finish records the run's end. An infrastructure error with River attempts
// left puts the run back to queued and returns the error so River retries;
// otherwise the run reaches its final state and, in the same transaction,
// the triage job is inserted.
func (ex *execution) finish(ctx context.Context, o outcome) error {
	// The job context may be cancelled or past its deadline: record the end regardless.
	dbCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	msg := ""
	if o.err != nil {
		msg = runner.MaskString(o.err.Error(), ex.secrets)
	}
	retry := o.state == store.RunErrored && ex.job.Attempt < ex.job.MaxAttempts && context.Cause(ctx) == nil
	stale := false
	err := ex.w.DB.InTx(dbCtx, func(tx pgx.Tx) error {
		// A process judged lost (its heartbeats stopped reaching the
		// database) may still be alive: its rescued attempt must not end
		// a run that the next attempt now owns.
		current, err := store.AttemptCurrent(dbCtx, tx, ex.run.ID, ex.job.ID, ex.job.Attempt)
		if err != nil {
			return err
		}
		if !current {
			stale = true
			return nil
		}
		stepState := triage.StepSkipped
		switch o.state {
		case store.RunCancelled:
			stepState = triage.StepCancelled
		case store.RunErrored:
			stepState = triage.StepErrored
		}
		if _, err := store.AbandonSteps(dbCtx, tx, ex.run.ID, stepState, msg); err != nil {
			return err
		}
		if retry {
			_, err := store.TransitionRun(dbCtx, tx, ex.run.ID, []store.RunState{store.RunRunning}, store.RunQueued, o.category,
				fmt.Sprintf("%s (attempt %d of %d; retrying)", msg, ex.job.Attempt, ex.job.MaxAttempts))
			return err
		}
		ok, err := store.TransitionRun(dbCtx, tx, ex.run.ID, []store.RunState{store.RunRunning, store.RunQueued}, o.state, o.category, msg)
		if err != nil || !ok {
			return err // not ours to finish: cancelled by a newer push, or finished by another attempt
		}
		client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
		if err != nil {
			return fmt.Errorf("river client: %w", err)
		}
		return EnqueueTriageRepo(dbCtx, client, tx, ex.run.ID, ex.triageConfig())
	})
	if err != nil {
		return fmt.Errorf("record end of run %d: %w", ex.run.ID, err)
	}
	if stale {
		ex.log.Warn("this attempt was rescued by another process; leaving the run to the next attempt")
		return river.JobCancel(errors.New("attempt rescued as lost"))
	}
	ex.log.Info("run finished", "state", o.state, "category", o.category, "err", o.err)
	switch {
	case retry:
		return o.err
	case o.state == store.RunCancelled:
		return river.JobCancel(o.err)
	}
	return nil
}
