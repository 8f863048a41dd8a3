// Package jobs holds Sentinel's River jobs: job arguments, workers, check-run
// and issue rendering, and the GitHub interface the workers need. A run's
// steps are executed by package runner (jobs/runner); RunExecuteWorker
// drives it and records the outcome.
package jobs

import (
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Queues. Each has its own worker count so that a burst of runs cannot
// starve GitHub reporting or triage.
const (
	QueueGitHub = "github"
	QueueRuns   = "runs"
	QueueTriage = "triage"
)

// notCompleted lets the same args be inserted again once an earlier job has
// finished (a re-report, a re-sync), while still collapsing duplicates that
// are pending or running.
var notCompleted = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

// RunExecuteArgs runs a run's steps. A run executes once: a re-run is a new
// run row, so uniqueness by run id across all states is what we want.
type RunExecuteArgs struct {
	RunID int64 `json:"run_id"`
}

func (RunExecuteArgs) Kind() string { return "run.execute" }

func (RunExecuteArgs) InsertOpts() river.InsertOpts {
	// Three attempts: infrastructure errors (daemon down, pull failed) are
	// retried a bounded number of times; test failures never error the job.
	return river.InsertOpts{Queue: QueueRuns, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// TriageAnalyzeArgs analyses a finished run.
type TriageAnalyzeArgs struct {
	RunID int64 `json:"run_id"`
	// Repo is what the run's checkout says about triage, read by the run
	// worker (triage has no checkout); nil when the run never got that far.
	Repo *TriageRepoConfig `json:"repo,omitempty"`
}

func (TriageAnalyzeArgs) Kind() string { return "triage.analyze" }

func (TriageAnalyzeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueTriage, MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: notCompleted}}
}

// Check run phases, in the order GitHub sees them.
const (
	PhaseQueued     = "queued"
	PhaseInProgress = "in_progress"
	PhaseCompleted  = "completed"
)

// ReportCheckArgs moves a run's check run to Phase.
type ReportCheckArgs struct {
	RunID int64  `json:"run_id"`
	Phase string `json:"phase"`
}

func (ReportCheckArgs) Kind() string { return "report.check" }

func (ReportCheckArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueGitHub, MaxAttempts: 20, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: notCompleted}}
}

// IncidentSyncArgs brings an incident's GitHub issue in line with the incident.
type IncidentSyncArgs struct {
	IncidentID int64 `json:"incident_id"`
}

func (IncidentSyncArgs) Kind() string { return "incident.sync" }

func (IncidentSyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueGitHub, MaxAttempts: 20, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: notCompleted}}
}

// IncidentSweepArgs applies time-based incident transitions (periodic).
type IncidentSweepArgs struct{}

func (IncidentSweepArgs) Kind() string { return "incident.sweep" }

func (IncidentSweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueTriage, UniqueOpts: river.UniqueOpts{ByState: notCompleted}}
}

// ClusterRefingerprintArgs fingerprints stored failures again over their
// repository's templates (periodic).
type ClusterRefingerprintArgs struct{}

func (ClusterRefingerprintArgs) Kind() string { return "clusters.refingerprint" }

func (ClusterRefingerprintArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueTriage, UniqueOpts: river.UniqueOpts{ByState: notCompleted}}
}

// OrphanReapArgs removes containers and workspaces whose run is over (periodic).
type OrphanReapArgs struct{}

func (OrphanReapArgs) Kind() string { return "orphan.reap" }

func (OrphanReapArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueRuns, UniqueOpts: river.UniqueOpts{ByState: notCompleted}}
}

// PRCommentArgs brings Sentinel's comment on a pull request in line with
// the pull request's latest run.
type PRCommentArgs struct {
	RepositoryID int64 `json:"repository_id"`
	PRNumber     int   `json:"pr_number"`
}

func (PRCommentArgs) Kind() string { return "report.pr_comment" }

func (PRCommentArgs) InsertOpts() river.InsertOpts {
	// Not unique: a job inserted while another is running must still run,
	// or a change made after the running one read the run would be lost.
	// Jobs of one pull request are serialised by a lock and send nothing
	// when the body is unchanged, so a duplicate costs a query.
	return river.InsertOpts{Queue: QueueGitHub, MaxAttempts: 20}
}

// QuarantineProposeArgs opens the pull request of a quarantine proposal.
type QuarantineProposeArgs struct {
	ProposalID int64 `json:"proposal_id"`
}

func (QuarantineProposeArgs) Kind() string { return "quarantine.propose" }

func (QuarantineProposeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueGitHub, MaxAttempts: 20, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: notCompleted}}
}

// QuarantineReviewArgs decides whether a quarantined test's proposal has
// run its course: the test recovered or its quarantine expired.
type QuarantineReviewArgs struct {
	TestID int64 `json:"test_id"`
}

func (QuarantineReviewArgs) Kind() string { return "quarantine.review" }

func (QuarantineReviewArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueGitHub, MaxAttempts: 20, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: notCompleted}}
}
