package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
)

// ReportCheckWorker keeps a run's GitHub check run in step with the run:
// created queued at intake, in_progress when the runner starts, completed
// after triage with the conclusion, summary, annotations and buttons.
//
// It is idempotent, as River requires: the check run id is stored as soon as
// GitHub gives it, and a job that lost GitHub's answer finds its check run
// again by external_id (= run id) among the commit's check runs before
// creating one. Annotations already on the check run (GitHub's
// annotations_count) are not sent again. Jobs of one run are serialised by a
// Postgres advisory lock.
type ReportCheckWorker struct {
	river.WorkerDefaults[ReportCheckArgs]
	DB     *store.DB
	GitHub GitHub
	// PublicURL is the base of dashboard links (SENTINEL_PUBLIC_URL).
	PublicURL string
	// WorkspaceRoots are stripped from absolute file names in annotations;
	// empty means the container workspace, WorkspaceMount.
	WorkspaceRoots []string
	Log            *slog.Logger
}

func (w *ReportCheckWorker) Work(ctx context.Context, job *river.Job[ReportCheckArgs]) error {
	log := w.Log.With("job_id", job.ID, "run_id", job.Args.RunID, "phase", job.Args.Phase)
	if err := w.Report(ctx, job.Args); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			log.Warn("run is gone; nothing to report")
			return river.JobCancel(err)
		}
		err = GitHubJobError(err, log)
		var cancel *rivertype.JobCancelError
		if errors.As(err, &cancel) {
			// The clear record: the run's audit trail says why GitHub never
			// heard about it, beside River's own error on the job.
			if aerr := store.Audit(context.WithoutCancel(ctx), w.DB, "worker", "report.check.cancelled", "run", job.Args.RunID,
				map[string]any{"phase": job.Args.Phase, "error": err.Error()}); aerr != nil {
				log.Error("recording the cancelled report", "err", aerr)
			}
		}
		return err
	}
	return nil
}

// Report does one job's work; Work maps its errors to River's outcomes.
func (w *ReportCheckWorker) Report(ctx context.Context, args ReportCheckArgs) error {
	switch args.Phase {
	case PhaseQueued, PhaseInProgress, PhaseCompleted:
	default:
		return river.JobCancel(fmt.Errorf("report.check: unknown phase %q", args.Phase))
	}
	unlock, err := w.DB.LockRunReport(ctx, args.RunID)
	if err != nil {
		return err
	}
	defer unlock()

	run, err := store.GetRun(ctx, w.DB, args.RunID)
	if err != nil {
		return err
	}
	owner, name, ok := splitRepo(run.Repository)
	if !ok {
		return river.JobCancel(fmt.Errorf("run %d: repository name %q is not owner/name", run.ID, run.Repository))
	}
	repo := GitHubRepo{InstallationID: run.InstallationID, Owner: owner, Name: name, RunID: run.ID}
	if args.Phase == PhaseCompleted {
		if !store.IsFinalRunState(run.State) {
			return fmt.Errorf("run %d is still %s; its check run cannot complete yet", run.ID, run.State)
		}
		return w.complete(ctx, repo, run)
	}
	if store.IsFinalRunState(run.State) {
		// The run ended (superseded, cancelled, finished) before this report
		// ran: the completed report queued when it ended says more, and
		// creates the check run, already completed, if it has none. Under a
		// stream of pushes most runs are superseded before they start, and
		// their check runs then cost two calls (a list, a create) instead
		// of four (list, create, get, update).
		return nil
	}
	id, err := w.findCheckRun(ctx, repo, run)
	if err != nil {
		return err
	}
	if id == 0 {
		cr, err := w.GitHub.CreateCheckRun(ctx, repo, github.CreateCheckRunOptions{
			Name:       CheckName,
			HeadSHA:    run.SHA,
			ExternalID: github.String(strconv.FormatInt(run.ID, 10)),
			DetailsURL: github.String(RunURL(w.PublicURL, run.ID)),
			Status:     github.String("queued"),
		})
		if err != nil {
			return err
		}
		if id = cr.GetID(); id == 0 {
			return fmt.Errorf("run %d: GitHub created a check run without an id", run.ID)
		}
	}
	if id != run.CheckRunID {
		if err := store.SetCheckRunID(ctx, w.DB, run.ID, id); err != nil {
			return err
		}
	}
	if args.Phase == PhaseInProgress {
		opts := github.UpdateCheckRunOptions{Name: CheckName, Status: github.String("in_progress"), DetailsURL: github.String(RunURL(w.PublicURL, run.ID))}
		_, err = w.GitHub.UpdateCheckRun(ctx, repo, id, opts)
		return err
	}
	return nil
}

// findCheckRun returns the run's check run id: the stored one, or, when none
// is stored, the one a job that lost GitHub's answer created (found by
// external_id = run id among the commit's check runs); 0 when it has none.
func (w *ReportCheckWorker) findCheckRun(ctx context.Context, repo GitHubRepo, run store.Run) (int64, error) {
	if run.CheckRunID != 0 {
		return run.CheckRunID, nil
	}
	external := strconv.FormatInt(run.ID, 10)
	existing, err := w.GitHub.ListCheckRunsForRef(ctx, repo, run.SHA, CheckName)
	if err != nil {
		return 0, err
	}
	for _, cr := range existing {
		if cr.GetExternalID() == external {
			return cr.GetID(), nil
		}
	}
	return 0, nil
}

// complete sends the conclusion, summary, buttons and the annotations the
// check run does not have yet, at most 50 per request. A run without a
// check run yet (it ended before its queued report ran) gets it created
// completed, with the first annotations, in one call.
func (w *ReportCheckWorker) complete(ctx context.Context, repo GitHubRepo, run store.Run) error {
	id, err := w.findCheckRun(ctx, repo, run)
	if err != nil {
		return err
	}
	report, err := LoadCheckReport(ctx, w.DB, run, w.PublicURL, w.WorkspaceRoots)
	if err != nil {
		return err
	}
	out := RenderCheck(report)

	sent := 0
	if id != 0 && len(out.Annotations) > 0 {
		// Only annotations are appended; the rest of the output is replaced,
		// so the check run is read only when there are annotations to send.
		current, err := w.GitHub.GetCheckRun(ctx, repo, id)
		if err != nil {
			return err
		}
		sent = min(current.GetOutput().GetAnnotationsCount(), len(out.Annotations))
	}
	batches := AnnotationBatches(out.Annotations[sent:])

	completedAt := time.Now()
	if run.FinishedAt != nil {
		completedAt = *run.FinishedAt
	}
	output := func(batch []*github.CheckRunAnnotation) *github.CheckRunOutput {
		o := &github.CheckRunOutput{Title: github.String(out.Title), Summary: github.String(out.Summary), Annotations: batch}
		if out.Text != "" {
			o.Text = github.String(out.Text)
		}
		return o
	}
	var first []*github.CheckRunAnnotation
	if len(batches) > 0 {
		first = batches[0]
		batches = batches[1:]
	}
	external, details := github.String(strconv.FormatInt(run.ID, 10)), github.String(RunURL(w.PublicURL, run.ID))
	if id == 0 {
		cr, err := w.GitHub.CreateCheckRun(ctx, repo, github.CreateCheckRunOptions{
			Name: CheckName, HeadSHA: run.SHA, ExternalID: external, DetailsURL: details,
			Status: github.String("completed"), Conclusion: github.String(out.Conclusion),
			CompletedAt: &github.Timestamp{Time: completedAt}, Output: output(first), Actions: out.Actions,
		})
		if err != nil {
			return err
		}
		if id = cr.GetID(); id == 0 {
			return fmt.Errorf("run %d: GitHub created a check run without an id", run.ID)
		}
		if len(batches) == 0 {
			return store.SetCheckRunConcluded(ctx, w.DB, run.ID, id, out.Conclusion)
		}
		// Stored before the other annotations go, so that a retry finds it.
		if err := store.SetCheckRunID(ctx, w.DB, run.ID, id); err != nil {
			return err
		}
	} else {
		_, err = w.GitHub.UpdateCheckRun(ctx, repo, id, github.UpdateCheckRunOptions{
			Name: CheckName, DetailsURL: details, ExternalID: external,
			Status: github.String("completed"), Conclusion: github.String(out.Conclusion),
			CompletedAt: &github.Timestamp{Time: completedAt}, Output: output(first), Actions: out.Actions,
		})
		if err != nil {
			return err
		}
	}
	for _, batch := range batches {
		if _, err := w.GitHub.UpdateCheckRun(ctx, repo, id, github.UpdateCheckRunOptions{Name: CheckName, Output: output(batch)}); err != nil {
			return err
		}
	}
	return store.SetRunConclusion(ctx, w.DB, run.ID, out.Conclusion)
}

// LoadCheckReport reads what the completed check run of a finished run
// says; roots empty means the container workspace, runner.WorkspaceMount.
func LoadCheckReport(ctx context.Context, q store.Querier, run store.Run, publicURL string, roots []string) (CheckReport, error) {
	steps, failures, err := store.CheckRunReport(ctx, q, run.ID)
	if err != nil {
		return CheckReport{}, err
	}
	if len(roots) == 0 {
		roots = []string{runner.WorkspaceMount}
	}
	modules, err := store.RunGoModules(ctx, q, run.ID)
	if err != nil {
		return CheckReport{}, err
	}
	probes, err := store.RunProbes(ctx, q, run.ID)
	if err != nil {
		return CheckReport{}, err
	}
	return CheckReport{Run: run, Steps: steps, Failures: failures, PublicURL: publicURL, Roots: roots, GoModules: modules, Probes: probes}, nil
}

func splitRepo(full string) (owner, name string, ok bool) {
	owner, name, _ = strings.Cut(full, "/")
	return owner, name, owner != "" && name != "" && !strings.Contains(name, "/")
}
