package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sentinel-ci/sentinel/store"
)

// What happens next: every River job Sentinel inserts is inserted here,
// inside the caller's transaction, so that a change and the work it causes
// commit together or not at all.
//
//	what happened                               what happens next                             function
//
//	a new run (push, pull request, API, re-run, report.check(queued), and run.execute         EnqueueRun
//	  approval)                                   unless the run awaits approval
//	the intake's runs, a batch at a time        the same for each new run, and                EnqueueRuns
//	                                              report.check(completed) per superseded run
//	                                              GitHub may have heard of
//	a run starts                                report.check(in_progress)                     EnqueueReport
//	a run cancelled; a quarantine from the      report.check(completed)                       EnqueueReport
//	  check run's button
//	a run ends (run worker, reaper, posted      triage.analyze                                EnqueueTriage
//	  external results)
//	an analysis ends                            report.check(completed), and                  EnqueueReport
//	                                              report.pr_comment for a pull request's run  EnqueuePRComment
//	                                              incident.sync per incident it changed       EnqueueIncidentSync
//	a run cancelled by a person                 report.pr_comment as well                     EnqueuePRComment
//	a flaky test quarantined from the check     quarantine.propose (a pull request adding     ProposeQuarantine
//	  run's button, or confirmed flaky with       it to .sentinel/quarantine.yml)
//	  flaky.auto_quarantine
//	a quarantined test passes in a run          quarantine.review                             EnqueueQuarantineReview
//	the review finds it recovered or expired    quarantine.propose (the removal)              ProposeQuarantine
//	an incident opened or moved (by hand, by    incident.sync                                 EnqueueIncidentSync
//	  the sweep, or behind its GitHub issue)
//	  … and its opened/resolved/reopened        notify.event per event (outbox:               EnqueueIncidentSync
//	  events not yet notified                     store.TakeIncidentNotices)                    → EnqueueNotify
//	an analysis moves tests to flaky or broken  notify.event per test                         EnqueueNotify
//	an analysis finds tests that failed,        probe.confirm for the run (low priority)      EnqueueProbe
//	  neither flaky nor broken (default branch)
//	a probe reaches its verdict                 report.check(completed), and notify.event     EnqueueReport
//	                                              when the test's state moved                 EnqueueNotify
//	a test turns broken (analysis or probe) on  probe.bisect for the run (low priority)       EnqueueBisect
//	  the default branch, good..bad known
//	a bisection reaches its verdict             incident.sync per open incident of the test   EnqueueIncidentSync
//	a notify.event runs                         notify.send per SENTINEL_NOTIFY_URL           EnqueueNotifySends
//	a run superseded or cancelled               its River job cancelled                       CancelJob
//	a dead job retried from the dashboard       the job available again                       RetryJob
//
// The periodic jobs (incident.sweep, orphan.reap, retention.prune,
// clusters.refingerprint) are River's own inserts, set up in
// cmd/sentinel/wire.go.

// RunJobs is a new run whose jobs EnqueueRuns inserts.
type RunJobs struct {
	RunID   int64
	Execute bool // false while the run awaits approval: it gets its check run only
}

// EnqueueRun inserts a new run's jobs: its check run is created (queued) at
// once, and the run executes unless execute is false (awaiting approval).
// The run.execute job's id is recorded as the run's job.
func EnqueueRun(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, runID int64, execute bool) error {
	jobIDs, err := insertRunJobs(ctx, rc, tx, nil, []RunJobs{{RunID: runID, Execute: execute}})
	if err != nil {
		return fmt.Errorf("enqueue run %d: %w", runID, err)
	}
	if jobIDs[0] == 0 {
		return nil
	}
	return store.SetRunJob(ctx, tx, runID, jobIDs[0])
}

// EnqueueRuns inserts the jobs of a batch of runs in one round trip: the
// completed report of each superseded run whose check run GitHub may have
// seen (the runner never finishes a run it did not start, so its check run
// is completed here), then each new run's queued report and, when it
// executes, its run.execute job. The runs' job ids are not recorded: a
// superseding push finds a run's waiting jobs by run id, and the worker
// records its job when the run starts.
func EnqueueRuns(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, superseded []int64, created []RunJobs) error {
	if _, err := insertRunJobs(ctx, rc, tx, superseded, created); err != nil {
		return fmt.Errorf("enqueue runs: %w", err)
	}
	return nil
}

func insertRunJobs(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, superseded []int64, created []RunJobs) ([]int64, error) {
	params := make([]river.InsertManyParams, 0, len(superseded)+2*len(created))
	for _, id := range superseded {
		params = append(params, river.InsertManyParams{Args: ReportCheckArgs{RunID: id, Phase: PhaseCompleted}})
	}
	at := make([]int, len(created)) // index in params of each run's run.execute job; 0: none
	for i, r := range created {
		params = append(params, river.InsertManyParams{Args: ReportCheckArgs{RunID: r.RunID, Phase: PhaseQueued}})
		if r.Execute {
			at[i] = len(params)
			params = append(params, river.InsertManyParams{Args: RunExecuteArgs{RunID: r.RunID}})
		}
	}
	if len(params) == 0 {
		return make([]int64, len(created)), nil
	}
	res, err := rc.InsertManyTx(ctx, tx, params)
	if err != nil {
		return nil, err
	}
	jobIDs := make([]int64, len(created))
	for i := range created {
		if at[i] != 0 {
			jobIDs[i] = res[at[i]].Job.ID
		}
	}
	return jobIDs, nil
}

// EnqueueReport moves a run's check run to phase (PhaseInProgress,
// PhaseCompleted); a completed report is also how a check run shows a
// change made after the run ended.
func EnqueueReport(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, runID int64, phase string) error {
	if _, err := rc.InsertTx(ctx, tx, ReportCheckArgs{RunID: runID, Phase: phase}, nil); err != nil {
		return fmt.Errorf("report run %d %s: %w", runID, phase, err)
	}
	return nil
}

// EnqueuePRComment brings the comment of pull request pr (0: none, nothing
// is queued) in line with its latest run.
func EnqueuePRComment(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, repositoryID int64, pr int) error {
	if pr == 0 {
		return nil
	}
	if _, err := rc.InsertTx(ctx, tx, PRCommentArgs{RepositoryID: repositoryID, PRNumber: pr}, nil); err != nil {
		return fmt.Errorf("queue comment on pull request #%d: %w", pr, err)
	}
	return nil
}

// ProposeQuarantine records a proposal to add the test to (or remove it
// from) the quarantine file and queues the job opening its pull request;
// a test with a proposal pending or open gets no second one.
func ProposeQuarantine(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, repositoryID, testID int64, kind store.ProposalKind, reason string) error {
	id, created, err := store.InsertProposal(ctx, tx, store.QuarantineProposal{RepositoryID: repositoryID, TestID: testID,
		Kind: kind, Branch: proposalBranch(kind, testID), Reason: reason})
	if err != nil || !created {
		return err
	}
	if _, err := rc.InsertTx(ctx, tx, QuarantineProposeArgs{ProposalID: id}, nil); err != nil {
		return fmt.Errorf("queue quarantine proposal for test %d: %w", testID, err)
	}
	return nil
}

// EnqueueQuarantineReview reviews a quarantined test's proposal.
func EnqueueQuarantineReview(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, testID int64) error {
	if _, err := rc.InsertTx(ctx, tx, QuarantineReviewArgs{TestID: testID}, nil); err != nil {
		return fmt.Errorf("queue quarantine review of test %d: %w", testID, err)
	}
	return nil
}

// EnqueueTriage analyses a run that has ended.
func EnqueueTriage(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, runID int64) error {
	return EnqueueTriageRepo(ctx, rc, tx, runID, nil)
}

// EnqueueTriageRepo analyses a run that has ended with what its checkout
// says about triage (rules, matchers, problems found on the way).
func EnqueueTriageRepo(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, runID int64, repo *TriageRepoConfig) error {
	if _, err := rc.InsertTx(ctx, tx, TriageAnalyzeArgs{RunID: runID, Repo: repo}, nil); err != nil {
		return fmt.Errorf("queue analysis of run %d: %w", runID, err)
	}
	return nil
}

// EnqueueIncidentSync brings an incident's GitHub issue in line with it.
func EnqueueIncidentSync(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, incidentID int64) error {
	if _, err := rc.InsertTx(ctx, tx, IncidentSyncArgs{IncidentID: incidentID}, nil); err != nil {
		return fmt.Errorf("queue sync of incident %d: %w", incidentID, err)
	}
	// Every change of an incident's status queues its sync here, in the
	// change's transaction: the place to queue its notifications too.
	return incidentNotices(ctx, rc, tx, incidentID)
}

// EnqueueNotify queues a team notification, once per event id whatever
// the retries of the transaction's job.
func EnqueueNotify(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, ev NotifyEvent) error {
	ev.Schema = NotifySchema
	if _, err := rc.InsertTx(ctx, tx, NotifyEventArgs{ID: ev.ID, Event: ev}, nil); err != nil {
		return fmt.Errorf("queue notification %s: %w", ev.ID, err)
	}
	return nil
}

// EnqueueProbe queues the confirmation re-runs recorded for a run's
// failed tests (store.InsertProbes), one job per run.
func EnqueueProbe(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, runID int64) error {
	if _, err := rc.InsertTx(ctx, tx, ProbeConfirmArgs{RunID: runID}, nil); err != nil {
		return fmt.Errorf("queue the probes of run %d: %w", runID, err)
	}
	return nil
}

// EnqueueBisect queues the job that runs a run's recorded bisections
// (test_bisects).
func EnqueueBisect(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, runID int64) error {
	if _, err := rc.InsertTx(ctx, tx, ProbeBisectArgs{RunID: runID}, nil); err != nil {
		return fmt.Errorf("queue the bisections of run %d: %w", runID, err)
	}
	return nil
}

// EnqueueNotifySends queues one delivery of ev per endpoint, unique by
// (event id, URL).
func EnqueueNotifySends(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, ev NotifyEvent, urls []string) error {
	params := make([]river.InsertManyParams, len(urls))
	for i, u := range urls {
		params[i] = river.InsertManyParams{Args: NotifySendArgs{ID: ev.ID, URL: u, Event: ev}}
	}
	if _, err := rc.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("queue deliveries of %s: %w", ev.ID, err)
	}
	return nil
}

// CancelJob cancels a River job: at once when it waits, through its
// worker's context when it runs; a finished or deleted job is left alone.
// (The intake deletes the waiting jobs of superseded runs in bulk, in
// store.SupersedeRunsBatch, and only the running ones here.)
func CancelJob(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, jobID int64) error {
	if _, err := rc.JobCancelTx(ctx, tx, jobID); err != nil && !errors.Is(err, river.ErrNotFound) {
		return fmt.Errorf("cancel job %d: %w", jobID, err)
	}
	return nil
}

// RetryJob makes a River job available again and returns it as it was
// before; store.ErrNotFound when there is no such job.
func RetryJob(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, jobID int64) (*rivertype.JobRow, error) {
	job, err := rc.JobGetTx(ctx, tx, jobID)
	if errors.Is(err, river.ErrNotFound) {
		return nil, fmt.Errorf("job %d: %w", jobID, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if _, err := rc.JobRetryTx(ctx, tx, jobID); err != nil {
		return nil, fmt.Errorf("retry job %d: %w", jobID, err)
	}
	return job, nil
}
