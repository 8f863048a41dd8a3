package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"

	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
)

// PRCommentWorker keeps one comment per pull request, edited in place,
// summarising its latest run (RenderPRComment). A pull request whose runs
// all passed without help gets none.
//
// Nothing is posted twice: the comment id is stored as soon as GitHub
// answers; a job that lost the answer finds the comment by PRCommentMarker
// before creating one; an unchanged body is not sent again. A comment a
// person deleted is created anew.
type PRCommentWorker struct {
	river.WorkerDefaults[PRCommentArgs]
	DB        *store.DB
	GitHub    GitHub
	PublicURL string
	// WorkspaceRoots are stripped from absolute file names, as in the check run.
	WorkspaceRoots []string
	Log            *slog.Logger
}

func (w *PRCommentWorker) Work(ctx context.Context, job *river.Job[PRCommentArgs]) error {
	log := w.Log.With("job_id", job.ID, "repository_id", job.Args.RepositoryID, "pr", job.Args.PRNumber)
	err := w.Comment(ctx, job.Args.RepositoryID, job.Args.PRNumber)
	if errors.Is(err, store.ErrNotFound) {
		log.Warn("pull request has no run; nothing to comment")
		return river.JobCancel(err)
	}
	return GitHubJobError(err, log)
}

// Comment does one job's work.
func (w *PRCommentWorker) Comment(ctx context.Context, repositoryID int64, pr int) error {
	unlock, err := w.DB.LockPRComment(ctx, repositoryID, pr)
	if err != nil {
		return err
	}
	defer unlock()

	run, err := store.LatestPRRun(ctx, w.DB, repositoryID, pr)
	if err != nil {
		return err
	}
	if !store.IsFinalRunState(run.State) {
		return nil // the run's own end queues the comment again
	}
	report, err := LoadCheckReport(ctx, w.DB, run, w.PublicURL, w.WorkspaceRoots)
	if err != nil {
		return err
	}
	var testIDs []int64
	for _, f := range report.Failures {
		if f.TestID != 0 {
			testIDs = append(testIDs, f.TestID)
		}
	}
	proposals, err := store.LatestProposals(ctx, w.DB, testIDs)
	if err != nil {
		return err
	}
	body, worth := RenderPRComment(report, proposals)
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])

	stored, err := store.GetPRComment(ctx, w.DB, repositoryID, pr)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	case stored.BodySHA == hash:
		return nil
	}
	owner, name, ok := splitRepo(run.Repository)
	if !ok {
		return river.JobCancel(errors.New("repository name " + run.Repository + " is not owner/name"))
	}
	repo := GitHubRepo{InstallationID: run.InstallationID, Owner: owner, Name: name, RunID: run.ID}

	id := stored.CommentID
	if id == 0 {
		if id, err = w.findComment(ctx, repo, pr); err != nil {
			return err
		}
	}
	if id == 0 && !worth {
		return nil
	}
	if id != 0 {
		_, err = w.GitHub.EditComment(ctx, repo, id, body)
		var ge *GitHubError
		if errors.As(err, &ge) && ge.StatusCode == 404 {
			id, err = 0, nil // deleted by a person: comment anew
		}
		if err != nil {
			return err
		}
	}
	if id == 0 {
		c, err := w.GitHub.CreateComment(ctx, repo, pr, body)
		if err != nil {
			return err
		}
		id = c.GetID()
	}
	return store.SavePRComment(ctx, w.DB, repositoryID, pr, store.PRComment{CommentID: id, BodySHA: hash})
}

// findComment returns the id of Sentinel's comment among the pull
// request's comments, 0 when there is none.
func (w *PRCommentWorker) findComment(ctx context.Context, repo GitHubRepo, pr int) (int64, error) {
	comments, err := w.GitHub.ListComments(ctx, repo, pr)
	if err != nil {
		return 0, err
	}
	for _, c := range comments {
		if strings.HasPrefix(c.GetBody(), PRCommentMarker) {
			return c.GetID(), nil
		}
	}
	return 0, nil
}
