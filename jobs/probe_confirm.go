package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
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

// ProbeConfirmArgs runs the queued probes of one run's failed tests. One
// job per run: the probes share the run's id in the runtime (its containers
// and their cleanup), so they run one after another.
type ProbeConfirmArgs struct {
	RunID int64 `json:"run_id"`
}

func (ProbeConfirmArgs) Kind() string { return "probe.confirm" }

func (ProbeConfirmArgs) InsertOpts() river.InsertOpts {
	// The runs queue's lowest priority: every run waiting goes first.
	return river.InsertOpts{Queue: QueueRuns, Priority: 4, MaxAttempts: 3,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: notCompleted}}
}

// ProbeConfirmWorker re-runs each failed test of a run alone, N times, at
// the run's commit in the step's image with the step's own command and the
// test selected as a retry selects it (retryPlan), each time in a fresh
// checkout; then it records the verdict on the probe, moves the test's
// flaky state (triage.FlakyState.Confirm), notifies the team of the
// change, and re-reports the run's completed check run, whose summary
// shows the verdicts.
type ProbeConfirmWorker struct {
	river.WorkerDefaults[ProbeConfirmArgs]
	DB     *store.DB
	Config RunnerConfig
	// Budget is each repository's re-run time per ConfirmBudgetSpan
	// (SENTINEL_CONFIRM_BUDGET): a probe stops when it is spent.
	Budget time.Duration
	Now    func() time.Time // nil: time.Now
}

func (w *ProbeConfirmWorker) Timeout(*river.Job[ProbeConfirmArgs]) time.Duration {
	return w.Config.maxRun() + 5*time.Minute
}

func (w *ProbeConfirmWorker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *ProbeConfirmWorker) Work(ctx context.Context, job *river.Job[ProbeConfirmArgs]) error {
	run, err := store.GetRun(ctx, w.DB, job.Args.RunID)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	all, err := store.RunProbes(ctx, w.DB, run.ID)
	if err != nil {
		return err
	}
	var pending []store.TestProbe
	for _, p := range all {
		if !p.Finished() {
			pending = append(pending, p)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	log := w.Config.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ex := &execution{w: &RunExecuteWorker{DB: w.DB, Config: w.Config}, run: run, log: log.With("run_id", run.ID, "probe", true)}
	ex.ws = filepath.Join(w.Config.WorkDir, "probe-"+strconv.FormatInt(run.ID, 10))
	// What a lost attempt left: its containers and its workspace.
	if err := w.Config.Runtime.Cleanup(ctx, run.ID); err != nil {
		return err
	}
	if err := os.RemoveAll(ex.ws); err != nil {
		return err
	}
	defer func() {
		fresh, cancel := context.WithTimeout(context.Background(), runner.CleanupTimeout)
		defer cancel()
		if err := w.Config.Runtime.Cleanup(fresh, run.ID); err != nil {
			ex.log.Warn("probe cleanup failed", "err", err)
		}
		if err := ex.removeWorkspace(fresh); err != nil {
			ex.log.Warn("probe workspace removal failed", "err", err)
		}
	}()
	// The machinery failing (or the process stopping) is worth another
	// attempt; on the last, the probes end saying why, rather than stay
	// running for ever.
	last := job.Attempt >= job.MaxAttempts
	p, co, why, err := ex.prepareSolo(ctx)
	if err != nil && (!last || ctx.Err() != nil) {
		return err
	}
	if err != nil {
		why = err.Error()
	}
	for _, probe := range pending {
		if why != "" {
			if err := w.conclude(ctx, run, probe, triage.ConfirmVerdict{}, "not re-run: "+why, true); err != nil {
				return err
			}
			continue
		}
		err := w.probe(ctx, ex, p, co, probe)
		if err != nil && last && ctx.Err() == nil {
			err = w.conclude(ctx, run, probe, triage.ConfirmVerdict{}, "re-runs stopped by an error: "+err.Error(), true)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// prepareSolo checks out the run's commit and readies the runtime as the
// run did, for re-running tests alone (probes, bisections). why says, for
// people, why they cannot run (the commit's pipeline is invalid, the code
// is a fork's, the pipeline has services); err is a failure of the
// machinery, worth another attempt.
func (ex *execution) prepareSolo(ctx context.Context) (p *runner.Pipeline, co runner.Checkout, why string, err error) {
	w := ex.w
	p, co, o, failed := ex.checkout(ctx)
	if failed {
		if o.state == store.RunErrored {
			return nil, co, "", o.err
		}
		return nil, co, o.err.Error(), nil
	}
	fork, err := ex.fromFork(ctx)
	switch {
	case err != nil:
		return nil, co, "", err
	case fork:
		return nil, co, "code from a fork is never re-run", nil
	case len(p.Services) > 0:
		return nil, co, "the pipeline starts services, which re-runs of a test alone do not", nil
	}
	if o, failed := ex.openSecrets(ctx, p); failed {
		return nil, co, o.err.Error(), nil
	}
	mods, err := runner.FindGoModules(os.DirFS(ex.ws))
	if err != nil {
		ex.log.Warn("searching the checkout for go.mod files", "err", err)
	}
	ex.goModules = len(mods) > 0
	ex.caches = append(runner.DefaultCaches(os.DirFS(ex.ws), ex.goModules), p.Caches...)
	if ex.cacheScope, err = store.CacheScope(ctx, w.DB, ex.run.RepositoryID); err != nil {
		return nil, co, "", err
	}
	spec := runner.RunSpec{RunID: ex.run.ID, Workspace: ex.ws, Caches: ex.caches, CacheScope: ex.cacheScope, Image: ex.image(p, p.Steps[0])}
	if err := w.Config.Runtime.Prepare(ctx, spec); err != nil {
		return nil, co, "", err
	}
	return p, co, "", nil
}

// probe re-runs one test its wanted number of times, or until the
// repository's budget is spent, and concludes.
func (w *ProbeConfirmWorker) probe(ctx context.Context, ex *execution, p *runner.Pipeline, co runner.Checkout, probe store.TestProbe) error {
	started, err := store.StartProbe(ctx, w.DB, probe.ID)
	if err != nil || !started {
		return err
	}
	run := ex.run
	s, spec, why := soloStep(ex, p, probe.StepPosition, probe.StepName, probe.Package, probe.Name)
	if why != "" {
		return w.conclude(ctx, run, probe, triage.ConfirmVerdict{}, "not re-run: "+why, true)
	}
	v := triage.ConfirmVerdict{Wanted: probe.Wanted}
	note := ""
	for i := range probe.Wanted {
		spent, err := budgetSpent(ctx, w.DB, run.RepositoryID, w.now())
		if err != nil {
			return err
		}
		if spent >= w.Budget {
			note = fmt.Sprintf("the repository's re-run budget of %s per 24 hours ran out after %d of %d re-runs", w.Budget, i, probe.Wanted)
			break
		}
		begun := time.Now()
		if err := freshCheckout(ctx, ex, co); err != nil {
			return err
		}
		reported, failed, err := runAlone(ctx, ex, s, spec, probe.Package, probe.Name)
		if err != nil {
			return err
		}
		if err := store.AddProbeRun(ctx, w.DB, probe.ID, reported, failed, time.Since(begun)); err != nil {
			return err
		}
		if reported {
			v.Runs++
			if failed {
				v.Failures++
			}
		}
	}
	return w.conclude(ctx, run, probe, v, note, false)
}

// soloStep is the step at pos of the pipeline p, named name, set to run
// one test alone: the step's image, environment and command with the test
// selected as a retry selects it (retryPlan). why says, for people, why it
// cannot be (the pipeline at this commit has no such step, or the step no
// results to select the test from).
func soloStep(ex *execution, p *runner.Pipeline, pos int, name, pkg, test string) (s runner.Step, spec runner.StepSpec, why string) {
	if pos >= len(p.Steps) || p.Steps[pos].Name != name {
		return s, spec, fmt.Sprintf("the pipeline at this commit has no step %q at position %d", name, pos+1)
	}
	s = p.Steps[pos]
	if s.Results == "" {
		return s, spec, fmt.Sprintf("step %q reports no test results to select the test from", s.Name)
	}
	base := ex.env(p, s)
	plan, ok := retryPlan(s, base, &triage.Results{Tests: []triage.TestCase{{Package: pkg, Name: test, Outcome: triage.OutcomeFail}}})
	if !ok {
		return s, spec, "the test cannot be selected alone"
	}
	spec = runner.StepSpec{RunID: ex.run.ID, Name: s.Name, Workspace: ex.ws, Image: ex.image(p, s), Command: plan.command,
		Env: maps.Clone(base), Limits: ex.limits(p), Timeout: s.Timeout, Network: s.Network,
		Caches: ex.caches, CacheScope: ex.cacheScope}
	maps.Copy(spec.Env, plan.env)
	return s, spec, ""
}

// freshCheckout checks co's commit out into an empty workspace: nothing an
// earlier re-run wrote is seen.
func freshCheckout(ctx context.Context, ex *execution, co runner.Checkout) error {
	if err := ex.removeWorkspace(ctx); err != nil {
		return err
	}
	return co.Run(ctx)
}

// runAlone runs the step once in the workspace as it is, with only the test
// selected, and says whether the results reported the test and whether it
// failed.
func runAlone(ctx context.Context, ex *execution, s runner.Step, spec runner.StepSpec, pkg, test string) (reported, failed bool, err error) {
	w := ex.w
	spec.Stdout, spec.Stderr = io.Discard, io.Discard
	var jsonOut *os.File
	if s.Results == runner.ResultsGoTestJSON {
		f, err := os.CreateTemp(w.Config.WorkDir, "probe-results-*.json")
		if err != nil {
			return false, false, &runner.InfraError{Op: "results file", Err: err}
		}
		defer os.Remove(f.Name())
		defer f.Close()
		jsonOut = f
		_, maxFile := w.Config.resultCaps()
		spec.Stdout = &cappedWriter{w: f, left: maxFile}
	}
	started := time.Now()
	ex.lastImage = spec.Image
	if _, err := ex.runStep(ctx, spec); err != nil {
		return false, false, err
	}
	results, _, _ := ex.results(s, jsonOut, started)
	if results == nil {
		return false, false, nil
	}
	for _, tc := range results.Tests {
		if tc.Package != pkg || tc.Name != test {
			continue
		}
		switch tc.Outcome {
		case triage.OutcomeFail, triage.OutcomeError, triage.OutcomeIncomplete:
			reported, failed = true, true
		case triage.OutcomePass:
			reported = true
		}
	}
	return reported, failed, nil
}

// conclude ends a probe: its verdict and message recorded, the test's
// flaky state moved with the event and notification that go with it, and
// the run's completed check run reported again, all in one transaction.
// skipped: no re-run ran, and note is the whole message.
func (w *ProbeConfirmWorker) conclude(ctx context.Context, run store.Run, probe store.TestProbe, v triage.ConfirmVerdict, note string, skipped bool) error {
	msg := note
	if !skipped {
		msg = v.Text()
		if note != "" {
			msg += " (" + note + ")"
		}
	}
	return w.DB.InTx(ctx, func(tx pgx.Tx) error {
		rc, err := river.ClientFromContextSafely[pgx.Tx](ctx)
		if err != nil {
			return fmt.Errorf("river client: %w", err)
		}
		// The test's state is the analyses' too: one writer at a time.
		if err := store.LockRepositoryAnalysis(ctx, tx, run.RepositoryID); err != nil {
			return err
		}
		if err := store.FinishProbe(ctx, tx, probe.ID, skipped, v.State(), msg); err != nil {
			return err
		}
		tests, err := store.LoadTests(ctx, tx, []int64{probe.TestID})
		if err != nil {
			return err
		}
		if t := tests[probe.TestID]; t != nil {
			next, tr := t.Flaky.Confirm(v, probe.SHA)
			if tr != nil {
				t.Flaky = next
				if err := store.SaveTests(ctx, tx, []*store.Test{t}, map[int64]bool{t.ID: true}); err != nil {
					return err
				}
				ev := store.TestEvent{TestID: t.ID, RunID: run.ID, From: tr.From, To: tr.To, Reason: tr.Reason, Actor: "probe"}
				if err := store.InsertTestEvents(ctx, tx, []store.TestEvent{ev}); err != nil {
					return err
				}
				if tr.To == triage.TestFlaky {
					if err := autoQuarantine(ctx, rc, tx, run, ev, w.now()); err != nil {
						return err
					}
				}
				if tr.To == triage.TestBroken {
					repo, err := store.GetRepository(ctx, tx, run.RepositoryID)
					if err != nil {
						return err
					}
					step := store.StepRef{Position: probe.StepPosition, Name: probe.StepName}
					if err := queueBisect(ctx, rc, tx, run, repo.DefaultBranch, t, step, w.Budget, w.now()); err != nil {
						return err
					}
				}
				for _, n := range testNotices(run, []*store.RunTest{{Test: *t}}, []store.TestEvent{ev}, w.now()) {
					// Not the analysis's event of the same run: its own id.
					n.ID = fmt.Sprintf("test-%d-probe-%d-%s", t.ID, probe.ID, tr.To)
					if err := EnqueueNotify(ctx, rc, tx, n); err != nil {
						return err
					}
				}
			}
		}
		if err := EnqueuePRComment(ctx, rc, tx, run.RepositoryID, run.PRNumber); err != nil {
			return err
		}
		return EnqueueReport(ctx, rc, tx, run.ID, PhaseCompleted)
	})
}
