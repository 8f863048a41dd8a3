package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
)

// DefaultRecoverRuns is how many runs in a row a quarantined test must pass
// before Sentinel proposes to take it out of quarantine (flaky.recover_runs).
const DefaultRecoverRuns = 30

// QuarantineReviewWorker ends a test's quarantine proposal once the test
// has recovered (passed flaky.recover_runs runs in a row since the
// proposal) or its quarantine expired:
//   - the pull request adding it was merged: Sentinel proposes the removal;
//   - it is still open: nobody needed it, so Sentinel closes it and deletes
//     its branch (a person fixed the test first);
//   - a person closed it: nothing more to do.
type QuarantineReviewWorker struct {
	river.WorkerDefaults[QuarantineReviewArgs]
	DB     *store.DB
	GitHub GitHub
	Log    *slog.Logger
	Now    func() time.Time
}

func (w *QuarantineReviewWorker) Work(ctx context.Context, job *river.Job[QuarantineReviewArgs]) error {
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return fmt.Errorf("river client: %w", err)
	}
	log := w.Log.With("job_id", job.ID, "test_id", job.Args.TestID)
	err = w.Review(ctx, client, job.Args.TestID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // no proposal: nothing to review
	}
	return GitHubJobError(err, log)
}

// Review does one job's work, queuing the removal through rc.
func (w *QuarantineReviewWorker) Review(ctx context.Context, rc *river.Client[pgx.Tx], testID int64) error {
	p, err := store.LatestProposal(ctx, w.DB, testID)
	if err != nil {
		return err
	}
	if p.Kind != store.ProposalAdd || (p.State != store.ProposalOpen && p.State != store.ProposalMerged) {
		return nil // being opened, already being undone, or ended by a person
	}
	_, recoverRuns, err := store.RepositoryFlakyActions(ctx, w.DB, p.RepositoryID)
	if err != nil {
		return err
	}
	if recoverRuns <= 0 {
		recoverRuns = DefaultRecoverRuns
	}
	streak, err := store.PassesSince(ctx, w.DB, testID, p.CreatedAt)
	if err != nil {
		return err
	}
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	var why string
	switch {
	case streak >= recoverRuns:
		why = fmt.Sprintf("has passed its last %d runs", streak)
	case now.After(p.CreatedAt.Add(DefaultQuarantineFor)):
		why = "has reached the end of its quarantine"
	default:
		return nil
	}
	if p.State == store.ProposalOpen {
		pol, err := store.GetRepositoryPolicy(ctx, w.DB, p.RepositoryID)
		if err != nil {
			return err
		}
		owner, name, _ := splitRepo(pol.FullName)
		repo := GitHubRepo{InstallationID: pol.InstallationID, Owner: owner, Name: name}
		pr, err := w.GitHub.PullRequestFor(ctx, repo, p.Branch)
		if err != nil {
			return err
		}
		switch {
		case pr == nil || (pr.GetState() == "closed" && !pr.GetMerged()):
			return store.SetProposalState(ctx, w.DB, p.ID, store.ProposalClosed, 0, "closed without merging by a person")
		case pr.GetState() == "open":
			if err := w.GitHub.ClosePullRequest(ctx, repo, pr.GetNumber()); err != nil {
				return err
			}
			if err := w.GitHub.DeleteBranch(ctx, repo, p.Branch); err != nil && !isStatus(err, 422) {
				return err
			}
			return store.SetProposalState(ctx, w.DB, p.ID, store.ProposalClosed, 0, "closed by Sentinel: the test "+why+" before the pull request was merged")
		}
		// merged: fall through to the removal
	}
	return w.DB.InTx(ctx, func(tx pgx.Tx) error {
		if err := store.SetProposalState(ctx, tx, p.ID, store.ProposalMerged, 0, ""); err != nil {
			return err
		}
		return ProposeQuarantine(ctx, rc, tx, p.RepositoryID, testID, store.ProposalRemove, why)
	})
}
