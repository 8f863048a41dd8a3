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

// ProbeBisectArgs runs the queued bisections (test_bisects) of one run's
// tests. One job per run, as for probe.confirm: they work under the run's
// id in the runtime, so they run one after another.
type ProbeBisectArgs struct {
	RunID int64 `json:"run_id"`
}

func (ProbeBisectArgs) Kind() string { return "probe.bisect" }

func (ProbeBisectArgs) InsertOpts() river.InsertOpts {
	// As the confirmation re-runs: the runs queue's lowest priority.
	return river.InsertOpts{Queue: QueueRuns, Priority: 4, MaxAttempts: 3,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: notCompleted}}
}

// ProbeBisectWorker finds the commit that broke a test: it reads the
// first-parent history between the last good and the first bad commit,
// runs the test alone at midpoints (triage.Bisection: at most
// triage.MaxBisectRuns runs, a commit where the test cannot run skipped),
// each in a fresh checkout with that commit's step, and records the verdict
// with the first bad commit's author and pull request. The test's first
// bad and last good commits narrow to it, and the incidents of the test's
// failure are synced, which tells the issue.
type ProbeBisectWorker struct {
	river.WorkerDefaults[ProbeBisectArgs]
	DB     *store.DB
	Config RunnerConfig
	GitHub GitHub
	// Budget is the confirmation re-runs' (SENTINEL_CONFIRM_BUDGET): both
	// count against it.
	Budget time.Duration
	Now    func() time.Time // nil: time.Now
}

func (w *ProbeBisectWorker) Timeout(*river.Job[ProbeBisectArgs]) time.Duration {
	return time.Duration(maxProbesPerRun*triage.MaxBisectRuns)*w.Config.maxRun() + 5*time.Minute
}

func (w *ProbeBisectWorker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// bisectWait is how long a bisection waits for its run's probes, which use
// the same runtime id, to finish, before it looks again; bisectMaxWait how
// long it waits at most (probes whose job was lost never finish).
const (
	bisectWait    = 30 * time.Second
	bisectMaxWait = 6 * time.Hour
)

func (w *ProbeBisectWorker) Work(ctx context.Context, job *river.Job[ProbeBisectArgs]) error {
	run, err := store.GetRun(ctx, w.DB, job.Args.RunID)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	all, err := store.RunBisects(ctx, w.DB, run.ID)
	if err != nil {
		return err
	}
	var pending []store.TestBisect
	for _, b := range all {
		if !b.Finished() {
			pending = append(pending, b)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	// Every bisection of the run is queued by its first analysis or by the
	// conclusion of one of its probes: once none of those is left, all are
	// here.
	busy, err := store.ProbesUnfinished(ctx, w.DB, run.ID)
	switch {
	case err != nil:
		return err
	case busy && w.now().Sub(pending[0].CreatedAt) > bisectMaxWait:
		for _, b := range pending {
			msg := fmt.Sprintf("not bisected: the confirmation re-runs of run %d did not finish within %s", run.ID, bisectMaxWait)
			if err := w.conclude(ctx, b, run, store.BisectResult{Message: msg}, true); err != nil {
				return err
			}
		}
		return nil
	case busy:
		return river.JobSnooze(bisectWait)
	}
	last := job.Attempt >= job.MaxAttempts
	for _, b := range pending {
		if err := w.one(ctx, run, b, last); err != nil {
			return err
		}
	}
	return nil
}

// one runs one bisection in its own workspace, under the run's id.
func (w *ProbeBisectWorker) one(ctx context.Context, run store.Run, b store.TestBisect, last bool) error {
	log := w.Config.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The runtime works under the run's id; the commits are the bisection's.
	run.SHA = b.BadSHA
	ex := &execution{w: &RunExecuteWorker{DB: w.DB, Config: w.Config}, run: run, log: log.With("run_id", run.ID, "bisect", b.ID)}
	ex.ws = filepath.Join(w.Config.WorkDir, "bisect-"+strconv.FormatInt(b.ID, 10))
	history := ex.ws + "-history"
	if err := w.Config.Runtime.Cleanup(ctx, run.ID); err != nil {
		return err
	}
	for _, dir := range []string{ex.ws, history} {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	defer func() {
		fresh, cancel := context.WithTimeout(context.Background(), runner.CleanupTimeout)
		defer cancel()
		if err := w.Config.Runtime.Cleanup(fresh, run.ID); err != nil {
			ex.log.Warn("bisection cleanup failed", "err", err)
		}
		if err := ex.removeWorkspace(fresh); err != nil {
			ex.log.Warn("bisection workspace removal failed", "err", err)
		}
		os.RemoveAll(history)
	}()
	err := w.bisect(ctx, ex, b, history, last)
	if err != nil && last && ctx.Err() == nil {
		err = w.conclude(ctx, b, run, store.BisectResult{Message: "not bisected: stopped by an error: " + err.Error()}, true)
	}
	return err
}

// bisect does one attempt's work: the range, the runs, the verdict.
func (w *ProbeBisectWorker) bisect(ctx context.Context, ex *execution, b store.TestBisect, history string, last bool) error {
	run := ex.run
	_, co, why, err := ex.prepareSolo(ctx)
	if err != nil {
		return err
	}
	if why != "" {
		return w.conclude(ctx, b, run, store.BisectResult{Message: "not bisected: " + why}, true)
	}
	hc := co
	hc.Dir = history
	commits, err := hc.History(ctx, b.GoodSHA)
	var de *runner.DataError
	if errors.As(err, &de) {
		return w.conclude(ctx, b, run, store.BisectResult{Message: "not bisected: " + de.Error()}, true)
	}
	if err != nil {
		return err
	}
	if len(commits) == 0 {
		return w.conclude(ctx, b, run, store.BisectResult{Message: fmt.Sprintf("not bisected: no commit between %s and %s",
			triage.ShortSHA(b.GoodSHA), triage.ShortSHA(b.BadSHA))}, true)
	}
	shas := make([]string, len(commits))
	authors := map[string]string{}
	for i, c := range commits {
		shas[i], authors[c.SHA] = c.SHA, c.Author
	}
	if started, err := store.StartBisect(ctx, w.DB, b.ID, shas); err != nil || !started {
		return err
	}
	b.Commits = shas
	bis := b.Bisection()
	note := ""
	for {
		sha, ok := bis.Next()
		if !ok {
			break
		}
		spent, err := budgetSpent(ctx, w.DB, run.RepositoryID, w.now())
		if err != nil {
			return err
		}
		if spent >= w.Budget {
			note = fmt.Sprintf("the repository's re-run budget of %s per 24 hours ran out after %d runs", w.Budget, bis.Runs())
			break
		}
		begun := time.Now()
		o, err := w.try(ctx, ex, co, b, sha)
		if err != nil {
			return err
		}
		if err := store.AddBisectRun(ctx, w.DB, b.ID, sha, o, time.Since(begun)); err != nil {
			return err
		}
		bis.Outcomes[sha] = o
	}
	v := bis.Verdict()
	r := store.BisectResult{Found: v.Found, FirstBad: v.FirstBad, LastGood: v.LastGood}
	if v.Found {
		r.Author = authors[v.FirstBad]
		r.PullRequest, err = w.pullRequest(ctx, run, v.FirstBad)
		if err != nil && !last {
			return err
		}
		if err != nil {
			ex.log.Warn("the pull request of the first bad commit", "err", err)
		}
	}
	r.Message = BisectText(v.Text(bis.Skipped()), r.Author, r.PullRequest)
	if note != "" {
		r.Message += " (" + note + ")"
	}
	return w.conclude(ctx, b, run, r, false)
}

// try runs the test alone at one commit: bad when it fails, good when it
// passes, skip when the commit cannot run it (no such step or test there,
// the pipeline does not read, the step does not build).
func (w *ProbeBisectWorker) try(ctx context.Context, ex *execution, co runner.Checkout, b store.TestBisect, sha string) (triage.BisectOutcome, error) {
	co.SHA, co.Dir = sha, ex.ws
	ex.run.SHA = sha
	var de *runner.DataError
	if err := freshCheckout(ctx, ex, co); errors.As(err, &de) {
		return triage.BisectSkip, nil
	} else if err != nil {
		return "", err
	}
	p, err := runner.LoadPipeline(os.DirFS(ex.ws))
	if err != nil {
		ex.log.Info("bisection skips a commit whose pipeline does not read", "sha", sha, "err", err)
		return triage.BisectSkip, nil
	}
	s, spec, why := soloStep(ex, p, b.StepPosition, b.StepName, b.Package, b.Name)
	if why != "" {
		ex.log.Info("bisection skips a commit", "sha", sha, "why", why)
		return triage.BisectSkip, nil
	}
	reported, failed, err := runAlone(ctx, ex, s, spec, b.Package, b.Name)
	switch {
	case err != nil:
		return "", err
	case !reported:
		return triage.BisectSkip, nil
	case failed:
		return triage.BisectBad, nil
	}
	return triage.BisectGood, nil
}

// pullRequest is the number of the pull request that brought a commit, 0
// when none did (a push straight to the branch).
func (w *ProbeBisectWorker) pullRequest(ctx context.Context, run store.Run, sha string) (int, error) {
	owner, name, ok := splitRepo(run.Repository)
	if w.GitHub == nil || !ok {
		return 0, nil
	}
	pr, err := w.GitHub.PullRequestOfCommit(ctx, GitHubRepo{InstallationID: run.InstallationID, Owner: owner, Name: name}, sha)
	if err != nil || pr == nil {
		return 0, err
	}
	return pr.GetNumber(), nil
}

// BisectText says a bisection's verdict with the first bad commit's author
// and pull request: "first bad commit abc1234 by Ada Lovelace in #12".
func BisectText(verdict, author string, pr int) string {
	if author != "" {
		verdict += " by " + author
	}
	if pr != 0 {
		verdict += fmt.Sprintf(" in #%d", pr)
	}
	return verdict
}

// conclude ends a bisection; with a verdict, the test's breakage narrows to
// it (while the test is still broken by the same commit range) and the open
// incidents of the test's failure are synced, in one transaction.
func (w *ProbeBisectWorker) conclude(ctx context.Context, b store.TestBisect, run store.Run, r store.BisectResult, skipped bool) error {
	return w.DB.InTx(ctx, func(tx pgx.Tx) error {
		rc, err := river.ClientFromContextSafely[pgx.Tx](ctx)
		if err != nil {
			return fmt.Errorf("river client: %w", err)
		}
		if err := store.LockRepositoryAnalysis(ctx, tx, run.RepositoryID); err != nil {
			return err
		}
		if err := store.FinishBisect(ctx, tx, b.ID, skipped, r); err != nil {
			return err
		}
		if skipped || r.FirstBad == "" {
			return nil
		}
		tests, err := store.LoadTests(ctx, tx, []int64{b.TestID})
		if err != nil {
			return err
		}
		if t := tests[b.TestID]; t != nil && t.Flaky.State == triage.TestBroken && t.Flaky.FirstBadSHA == b.BadSHA {
			t.Flaky.FirstBadSHA, t.Flaky.LastGoodSHA = r.FirstBad, r.LastGood
			if err := store.SaveTests(ctx, tx, []*store.Test{t}, nil); err != nil {
				return err
			}
		}
		incidents, err := store.OpenIncidentsOfTest(ctx, tx, b.TestID, b.RunID)
		if err != nil {
			return err
		}
		for _, id := range incidents {
			if err := EnqueueIncidentSync(ctx, rc, tx, id); err != nil {
				return err
			}
		}
		return nil
	})
}
