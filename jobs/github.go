package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/riverqueue/river"
)

// GitHubRepo addresses one repository through one App installation. RunID and
// IncidentID say what a call is about; they are kept with recorded calls so
// the dashboard can show, per run or incident, what would have been posted.
type GitHubRepo struct {
	InstallationID int64
	Owner, Name    string
	RunID          int64
	IncidentID     int64
}

func (r GitHubRepo) String() string { return r.Owner + "/" + r.Name }

// GitHub is what the reporting jobs need from GitHub. Package app/githubapp
// implements it twice: a client that really calls GitHub (one installation
// transport each), and a recorder that stores every call in outbound_calls
// when Sentinel has no App credentials.
//
// Errors from GitHub's answers are *GitHubError; anything else (network,
// context) is transient.
type GitHub interface {
	CreateCheckRun(ctx context.Context, repo GitHubRepo, opts github.CreateCheckRunOptions) (*github.CheckRun, error)
	// UpdateCheckRun must be given opts.Name (go-github sends "name":"" otherwise).
	UpdateCheckRun(ctx context.Context, repo GitHubRepo, id int64, opts github.UpdateCheckRunOptions) (*github.CheckRun, error)
	GetCheckRun(ctx context.Context, repo GitHubRepo, id int64) (*github.CheckRun, error)
	// ListCheckRunsForRef returns every check run named checkName on ref (all pages).
	ListCheckRunsForRef(ctx context.Context, repo GitHubRepo, ref, checkName string) ([]*github.CheckRun, error)

	CreateIssue(ctx context.Context, repo GitHubRepo, req github.IssueRequest) (*github.Issue, error)
	EditIssue(ctx context.Context, repo GitHubRepo, number int, req github.IssueRequest) (*github.Issue, error)
	// ListIssues returns the repository's issues carrying label in state
	// ("open", "closed", "all"), newest first, all pages.
	ListIssues(ctx context.Context, repo GitHubRepo, label, state string) ([]*github.Issue, error)
	CreateComment(ctx context.Context, repo GitHubRepo, number int, body string) (*github.IssueComment, error)
	// ListComments returns every comment of an issue, oldest first.
	ListComments(ctx context.Context, repo GitHubRepo, number int) ([]*github.IssueComment, error)
	// EditComment replaces the body of a comment on an issue or pull request.
	EditComment(ctx context.Context, repo GitHubRepo, commentID int64, body string) (*github.IssueComment, error)
	// BranchHead returns the commit a branch points at.
	BranchHead(ctx context.Context, repo GitHubRepo, branch string) (string, error)
	// CreateBranch makes branch point at sha; a branch that exists is a
	// *GitHubError with status 422.
	CreateBranch(ctx context.Context, repo GitHubRepo, branch, sha string) error
	DeleteBranch(ctx context.Context, repo GitHubRepo, branch string) error
	// GetFile returns a file's content and blob sha at ref; a missing file
	// is a *GitHubError with status 404.
	GetFile(ctx context.Context, repo GitHubRepo, path, ref string) (content []byte, blobSHA string, err error)
	// PutFile commits content at path on branch, replacing the blob blobSHA
	// ("" for a new file).
	PutFile(ctx context.Context, repo GitHubRepo, path, branch, message string, content []byte, blobSHA string) error
	CreatePullRequest(ctx context.Context, repo GitHubRepo, pr github.NewPullRequest) (*github.PullRequest, error)
	// PullRequestFor returns the newest pull request (any state) from branch
	// of the repository itself, or nil.
	PullRequestFor(ctx context.Context, repo GitHubRepo, branch string) (*github.PullRequest, error)
	ClosePullRequest(ctx context.Context, repo GitHubRepo, number int) error
	// PullRequestOfCommit returns the pull request that brought a commit
	// (the merged one when there are several), or nil.
	PullRequestOfCommit(ctx context.Context, repo GitHubRepo, sha string) (*github.PullRequest, error)

	// EnsureLabel creates the label unless the repository has it.
	EnsureLabel(ctx context.Context, repo GitHubRepo, name, color, description string) error

	// InstallationToken returns a current token of the installation, for the
	// runner to clone over HTTPS as x-access-token. Without App credentials it
	// is "" and no error: the checkout then goes unauthenticated.
	InstallationToken(ctx context.Context, installationID int64) (string, error)
}

// GitHubError is an answer GitHub gave that was not a success.
type GitHubError struct {
	Op         string // what we tried, e.g. "create check run"
	StatusCode int
	Message    string // GitHub's message, with its validation errors
	// RateLimited is set for primary (403/429 with X-RateLimit-Remaining: 0)
	// and secondary (Retry-After) rate limits; RetryAfter is how long to wait.
	RateLimited bool
	RetryAfter  time.Duration
}

func (e *GitHubError) Error() string {
	if e.RateLimited {
		return fmt.Sprintf("github: %s: rate limited (%d), retry after %s: %s", e.Op, e.StatusCode, e.RetryAfter, e.Message)
	}
	return fmt.Sprintf("github: %s: %d %s: %s", e.Op, e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// minSnooze keeps a rate-limited job from spinning when the reset time has
// already passed by the time we read it.
const minSnooze = time.Second

// maxSnooze bounds a wait computed from a reset time, against clock skew.
const maxSnooze = time.Hour

// GitHubJobError turns an error from a GitHub call into what River should do
// with the job: rate limits snooze until GitHub's reset (no attempt used);
// a repository or installation that is gone (404/410) and validation errors
// (422) cancel the job, because retrying cannot help; 5xx and network errors
// are returned as they are, for River's retry with backoff.
func GitHubJobError(err error, log *slog.Logger) error {
	var ge *GitHubError
	if !errors.As(err, &ge) {
		return err
	}
	switch {
	case ge.RateLimited:
		log.Warn("github rate limit, snoozing", "op", ge.Op, "status", ge.StatusCode, "retry_after", ge.RetryAfter)
		return river.JobSnooze(min(max(ge.RetryAfter, minSnooze), maxSnooze))
	case ge.StatusCode == http.StatusNotFound || ge.StatusCode == http.StatusGone:
		log.Error("github says the repository or installation is gone; giving up", "op", ge.Op, "status", ge.StatusCode, "message", ge.Message)
		return river.JobCancel(fmt.Errorf("repository or App installation gone: %w", err))
	case ge.StatusCode == http.StatusUnprocessableEntity:
		log.Error("github rejected the request", "op", ge.Op, "message", ge.Message)
		return river.JobCancel(fmt.Errorf("request rejected by GitHub: %w", err))
	case ge.StatusCode == http.StatusUnauthorized || ge.StatusCode >= 500:
		return err // a token refresh or GitHub's recovery can fix these
	case ge.StatusCode >= 400:
		log.Error("github refused the request; giving up", "op", ge.Op, "status", ge.StatusCode, "message", ge.Message)
		return river.JobCancel(fmt.Errorf("request refused by GitHub: %w", err))
	}
	return err
}
