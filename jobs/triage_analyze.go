package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// TriageAnalyzeWorker explains a finished run: it classifies and
// fingerprints the failures of its steps, clusters them, updates the flaky
// state of its tests and applies the incident policy; then, in the same
// transaction, it queues the completed check run report and the sync of
// every incident that changed.
//
// It is idempotent: the run's failures are deleted and written again, and
// counters (cluster occurrences, flaky windows, incident occurrences) are
// applied only by the first analysis of a run (run_analyses).
type TriageAnalyzeWorker struct {
	river.WorkerDefaults[TriageAnalyzeArgs]
	DB        *store.DB
	Rules     *triage.RuleSet // nil: built-in rules
	Flaky     triage.FlakyConfig
	Incidents triage.IncidentPolicy // defaults for repositories that set none
	Log       *slog.Logger
	Now       func() time.Time // nil: time.Now
	// ConfirmBudget is each repository's re-run time per 24 hours for
	// confirming failed tests (SENTINEL_CONFIRM_BUDGET); 0: no probes.
	ConfirmBudget time.Duration
}

func (w *TriageAnalyzeWorker) Timeout(*river.Job[TriageAnalyzeArgs]) time.Duration {
	return 5 * time.Minute
}

func (w *TriageAnalyzeWorker) Work(ctx context.Context, job *river.Job[TriageAnalyzeArgs]) error {
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return fmt.Errorf("river client: %w", err)
	}
	res, err := w.AnalyzeWith(ctx, client, job.Args.RunID, job.Args.Repo)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	w.logger().Info("run analysed", "run_id", job.Args.RunID, "failures", res.Failures, "tests", res.Tests,
		"mass_failure", res.MassFailure, "state_changes", len(res.Transitions), "incidents", res.Incidents)
	return nil
}

// AnalyzeResult says what an analysis did.
type AnalyzeResult struct {
	First       bool // false when the run had been analysed before
	Failures    int
	Tests       int
	MassFailure bool
	Transitions []store.TestEvent
	Incidents   []int64 // incidents opened or changed

	installationID int64
	repositoryID   int64
	prNumber       int           // 0: not a pull request
	notices        []NotifyEvent // tests become flaky or broken
	trigger        store.Trigger
	state          store.RunState
}

// Analyze does the worker's job for one run in one transaction, inserting
// the follow-up jobs through rc inside it.
func (w *TriageAnalyzeWorker) Analyze(ctx context.Context, rc *river.Client[pgx.Tx], runID int64) (AnalyzeResult, error) {
	return w.AnalyzeWith(ctx, rc, runID, nil)
}

// AnalyzeWith is Analyze with what the run's checkout said about triage
// (nil: nothing).
func (w *TriageAnalyzeWorker) AnalyzeWith(ctx context.Context, rc *river.Client[pgx.Tx], runID int64, repo *TriageRepoConfig) (AnalyzeResult, error) {
	var res AnalyzeResult
	report := true
	err := w.DB.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		res, err = w.analyzeTx(ctx, rc, tx, runID, repo)
		if err != nil {
			return err
		}
		// Results posted for a repository without the App installed have no
		// check run to complete: the conclusion is recorded below instead.
		report = res.installationID != 0 || res.trigger != store.TriggerExternal
		if report {
			if err := EnqueueReport(ctx, rc, tx, runID, PhaseCompleted); err != nil {
				return err
			}
			if err := EnqueuePRComment(ctx, rc, tx, res.repositoryID, res.prNumber); err != nil {
				return err
			}
		}
		for _, id := range res.Incidents {
			if err := EnqueueIncidentSync(ctx, rc, tx, id); err != nil {
				return err
			}
		}
		for _, ev := range res.notices {
			if err := EnqueueNotify(ctx, rc, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || report {
		return res, err
	}
	return res, w.recordConclusion(ctx, res.state, runID)
}

// recordConclusion stores what the check run would have concluded, for a
// run that has no check run.
func (w *TriageAnalyzeWorker) recordConclusion(ctx context.Context, state store.RunState, runID int64) error {
	_, failures, err := store.CheckRunReport(ctx, w.DB, runID)
	if err != nil {
		return err
	}
	return store.SetRunConclusion(ctx, w.DB, runID, Conclusion(state, failures))
}

func (w *TriageAnalyzeWorker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *TriageAnalyzeWorker) logger() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (w *TriageAnalyzeWorker) analyzeTx(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, runID int64, repo *TriageRepoConfig) (AnalyzeResult, error) {
	var res AnalyzeResult
	// Serialise analyses of one run (a rescued job running beside the first).
	if err := store.LockRunAnalysis(ctx, tx, runID); err != nil {
		return res, err
	}
	run, err := store.GetRun(ctx, tx, runID)
	if err != nil {
		return res, err
	}
	if !store.IsFinalRunState(run.State) {
		return res, fmt.Errorf("run %d is still %s", run.ID, run.State)
	}
	res.installationID, res.trigger, res.state = run.InstallationID, run.Trigger, run.State
	res.repositoryID, res.prNumber = run.RepositoryID, run.PRNumber
	found, err := w.findFailures(ctx, tx, run, w.repoTriage(repo))
	if err != nil {
		return res, err
	}
	// From here on the analysis reads and writes state shared by the
	// repository's runs; reading logs above needed no lock.
	if err := store.LockRepositoryAnalysis(ctx, tx, run.RepositoryID); err != nil {
		return res, err
	}
	policy, err := store.GetRepositoryPolicy(ctx, tx, run.RepositoryID)
	if err != nil {
		return res, err
	}
	tests, err := store.LoadRunTests(ctx, tx, run.ID)
	if err != nil {
		return res, err
	}
	failedTests := 0
	for _, t := range tests {
		if t.Failed {
			failedTests++
		}
	}
	facts := runFacts(run, policy.DefaultBranch)
	mass := triage.DecideMassFailure(facts, len(tests), failedTests)
	res.Tests, res.MassFailure, res.Failures = len(tests), mass.Mass, len(found)
	res.First, err = store.RecordRunAnalysis(ctx, tx, store.RunAnalysis{RunID: run.ID, MassFailure: mass.Mass, Reason: mass.Reason,
		Tests: len(tests), FailedTests: failedTests, Failures: len(found)})
	if err != nil {
		return res, err
	}
	now := w.now()
	fl := flakyUpdate{w: w, tx: tx, run: run, policy: policy, tests: tests, mass: mass.Mass, count: res.First, now: now}
	if err := fl.apply(ctx); err != nil {
		return res, err
	}
	res.Transitions = fl.events
	res.notices = testNotices(run, tests, fl.events, now)
	flaky, reviews := quarantineActions(tests, fl.events)
	for _, ev := range flaky {
		if err := autoQuarantine(ctx, rc, tx, run, ev, now); err != nil {
			return res, err
		}
	}
	for _, id := range reviews {
		if err := EnqueueQuarantineReview(ctx, rc, tx, id); err != nil {
			return res, err
		}
	}
	if res.First {
		if err := w.queueProbes(ctx, rc, tx, run, policy, tests, mass.Mass, now); err != nil {
			return res, err
		}
		if err := w.queueBisects(ctx, rc, tx, run, policy, tests, fl.events, now); err != nil {
			return res, err
		}
	}
	miner, widened, err := templateFingerprints(ctx, tx, run.RepositoryID, found, res.First)
	if err != nil {
		return res, err
	}
	var merged []int64
	if widened {
		// Stored failures of the widened templates move to the new
		// fingerprints before this run's are counted, so they meet.
		if _, merged, err = refingerprint(ctx, tx, run.RepositoryID, miner, now); err != nil {
			return res, err
		}
	}
	clusters, err := w.storeFailures(ctx, tx, run, found, tests, fl.flipped, res.First, now)
	if err != nil {
		return res, err
	}
	if res.First { // a second analysis must not count the run's occurrences again
		p := w.Incidents.WithRepository(policy.IncidentsAfter, policy.IncidentsWithin)
		res.Incidents, err = w.applyIncidents(ctx, tx, run, facts, p, clusters, now)
	}
	res.Incidents = append(merged, res.Incidents...)
	return res, err
}

// stepFailure is a triage failure with the step row it came from.
type stepFailure struct {
	stepID int64
	f      triage.Failure
}

// findFailures runs the triage engine over each step position: every
// failure of its last attempt, plus the test failures of earlier attempts
// (a test that failed and then passed on retry is shown as flaky).
func (w *TriageAnalyzeWorker) findFailures(ctx context.Context, tx pgx.Tx, run store.Run, rt repoTriage) ([]stepFailure, error) {
	steps, err := store.ListSteps(ctx, tx, run.ID)
	if err != nil {
		return nil, err
	}
	results, err := store.FailingTestResults(ctx, tx, run.ID)
	if err != nil {
		return nil, err
	}
	byStep := map[int64][]store.TestResult{}
	for _, r := range results {
		byStep[r.StepID] = append(byStep[r.StepID], r)
	}
	last := map[int]int{} // position → index of its last attempt
	for i, s := range steps {
		last[s.Position] = i
	}
	var out []stepFailure
	seen := map[string]bool{}
	explained := false
	// Last attempts first, so their failures win over earlier ones.
	order := make([]int, 0, len(steps))
	for i := range steps {
		if last[steps[i].Position] == i {
			order = append(order, i)
		}
	}
	for i := range steps {
		if last[steps[i].Position] != i {
			order = append(order, i)
		}
	}
	// The checkout's Go modules place the files go test names relative to
	// a package's directory.
	modules, err := store.RunGoModules(ctx, tx, run.ID)
	if err != nil {
		return nil, err
	}
	paths := triage.Paths{GoModules: modules, Roots: rt.roots}
	for _, i := range order {
		s := steps[i]
		in, ok, err := w.stepInput(ctx, tx, run, s, byStep[s.ID])
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		fs, err := triage.Analyze([]triage.StepInput{in}, triage.Options{Rules: rt.rules, Matchers: rt.matchers, Paths: paths})
		if err != nil {
			return nil, err
		}
		isLast := last[s.Position] == i
		for _, f := range fs {
			if !isLast && f.TestID == "" {
				continue
			}
			key := fmt.Sprint(s.Position, "\x00", f.Fingerprint)
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, stepFailure{stepID: s.ID, f: f})
			explained = true
		}
	}
	// Problems with the repository's triage configuration and result
	// files are the pipeline's, named as such.
	for _, p := range rt.problems {
		out = append(out, stepFailure{f: triage.ConfigProblem("run", p)})
	}
	// A pipeline the runner rejected (invalid or missing .sentinel.yml) is
	// named as such: no rule is needed to say what the runner knows.
	if !explained && run.Category == triage.CategoryConfiguration && run.Error != "" && run.State == store.RunFailed {
		return append(out, stepFailure{f: triage.PipelineProblem("run", run.Error)}), nil
	}
	// A run that failed outside its steps (checkout, infrastructure) is
	// explained from its error.
	if !explained && run.Error != "" && run.State != store.RunSucceeded && run.State != store.RunCancelled {
		facts := triage.StepFacts{Step: "run", ExitCode: 1, State: triage.StepFailed, TimedOut: run.State == store.RunTimedOut}
		if run.State == store.RunErrored {
			facts.State, facts.InfraError = triage.StepErrored, run.Error
		}
		fs, err := triage.Analyze([]triage.StepInput{{Facts: facts, Log: strings.NewReader(run.Error)}}, triage.Options{Rules: rt.rules})
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			out = append(out, stepFailure{f: f})
		}
	}
	return out, nil
}

// stepInput builds the triage input of one step row: runner facts, its
// log, its results (re-parsed from the log when it is a whole go test
// -json stream, for package problems and test output), and a baseline.
func (w *TriageAnalyzeWorker) stepInput(ctx context.Context, tx pgx.Tx, run store.Run, s store.Step, rows []store.TestResult) (triage.StepInput, bool, error) {
	facts := triage.StepFacts{Step: s.Name}
	switch s.State {
	case triage.StepSucceeded, triage.StepFailed:
		facts.State = s.State
	case triage.StepTimedOut:
		facts.State, facts.TimedOut = triage.StepFailed, true
	case triage.StepErrored:
		facts.State, facts.InfraError = triage.StepErrored, s.Error
	default: // pending, running, skipped, cancelled: nothing to explain
		return triage.StepInput{}, false, nil
	}
	if s.ExitCode != nil {
		facts.ExitCode = *s.ExitCode
	}
	facts.OOMKilled = s.OOMKilled
	if facts.State == triage.StepSucceeded && !anyFailing(rows) {
		return triage.StepInput{}, false, nil
	}
	log, err := store.StepLog(ctx, tx, s.ID)
	if err != nil {
		return triage.StepInput{}, false, err
	}
	in := triage.StepInput{Facts: facts, Log: bytes.NewReader(log)}
	if !s.LogTruncated && triage.DetectFormat(log[:min(len(log), 8192)]) == triage.FormatGoTestJSON {
		// A package that failed to build or vet has problems and no tests.
		if r, err := triage.ParseGoTestJSON(bytes.NewReader(log)); err == nil && (len(r.Tests) > 0 || len(r.Problems) > 0) {
			in.Results = r
		}
	}
	if in.Results == nil && len(rows) > 0 {
		in.Results = resultsFromRows(rows)
	}
	// A plain go test log is read only here: count the packages a panic or
	// a timeout stopped, as the runner does for go test -json. A log with
	// no test in it is not go test's (a Go program that panicked).
	if in.Results == nil && s.StoppedPackages == 0 && !s.LogTruncated {
		if r, err := triage.ParseGoTestText(bytes.NewReader(log)); err == nil && len(r.Tests) > 0 {
			if n := r.Totals().Stopped; n > 0 {
				if err := store.SetStepStoppedPackages(ctx, tx, s.ID, n); err != nil {
					return triage.StepInput{}, false, err
				}
			}
		}
	}
	if facts.State != triage.StepSucceeded {
		in.Baseline = w.baseline(ctx, tx, run, s.Name)
	}
	return in, true, nil
}

func anyFailing(rows []store.TestResult) bool {
	for _, r := range rows {
		if r.Outcome == string(triage.OutcomeFail) || r.Outcome == string(triage.OutcomeError) {
			return true
		}
	}
	return false
}

// resultsFromRows rebuilds parsed results from stored rows.
func resultsFromRows(rows []store.TestResult) *triage.Results {
	r := &triage.Results{Format: "stored"}
	for _, x := range rows {
		tc := triage.TestCase{Package: x.Package, Name: x.Name, Attempt: x.Attempt, Outcome: triage.Outcome(x.Outcome),
			Duration: x.Duration, File: x.File, Line: x.Line, Message: x.Message}
		if i := strings.LastIndexByte(x.Name, '/'); i > 0 {
			tc.Parent = x.Name[:i]
		}
		r.Tests = append(r.Tests, tc)
	}
	return r
}

// maxBaselineLog bounds the baseline log read per failing step.
const maxBaselineLog = 8 << 20

// baseline hashes the lines of the last successful log of the same step,
// so that lines also present when it passed weigh less as evidence. The
// lines are cleaned as the scanner cleans them (timestamps, terminal
// escapes, carriage returns, go test -json wrapping), or a line printed by
// both runs would never be recognised. It is best effort: without one,
// triage works as well, only less sharply.
func (w *TriageAnalyzeWorker) baseline(ctx context.Context, tx pgx.Tx, run store.Run, name string) triage.Baseline {
	id, err := store.LastSucceededStep(ctx, tx, run.RepositoryID, name, run.ID)
	if err != nil {
		return nil
	}
	log, err := store.StepLog(ctx, tx, id)
	if err != nil || len(log) > maxBaselineLog {
		return nil
	}
	b, err := triage.BuildBaseline(bytes.NewReader(log), w.Rules, 0)
	if err != nil {
		return nil
	}
	return b
}
