package githubapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

func (r *Recorder) CreateIssue(ctx context.Context, repo jobs.GitHubRepo, req github.IssueRequest) (*github.Issue, error) {
	resp, err := r.record(ctx, repo, http.MethodPost, repoPath(repo, "/issues"), req, http.StatusCreated, func(id int64, seq int) any {
		return &github.Issue{
			ID: github.Int64(id), Number: github.Int(seq), Title: req.Title, Body: req.Body,
			State: github.String("open"), Labels: labelsOf(req),
			CreatedAt: &github.Timestamp{Time: r.now()},
		}
	})
	if err != nil {
		return nil, err
	}
	return decode[github.Issue](resp)
}

// getIssue answers with the issue's state after its last recorded write.
func (r *Recorder) getIssue(ctx context.Context, repo jobs.GitHubRepo, number int) (*github.Issue, error) {
	last, err := store.LastOutboundCallAt(ctx, r.db, http.MethodPatch, repoPath(repo, fmt.Sprintf("/issues/%d", number)))
	if err == nil {
		return decode[github.Issue](last.Response)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	// An issue's number is the sequence number of the POST that created it.
	create, err := store.OutboundCallAtSeq(ctx, r.db, http.MethodPost, repoPath(repo, "/issues"), number)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(fmt.Sprintf("get issue #%d on %s", number, repo))
	}
	if err != nil {
		return nil, err
	}
	return decode[github.Issue](create.Response)
}

func (r *Recorder) EditIssue(ctx context.Context, repo jobs.GitHubRepo, number int, req github.IssueRequest) (*github.Issue, error) {
	cur, err := r.getIssue(ctx, repo, number)
	if err != nil {
		return nil, err
	}
	resp, err := r.record(ctx, repo, http.MethodPatch, repoPath(repo, fmt.Sprintf("/issues/%d", number)), req, http.StatusOK, func(int64, int) any {
		if req.Title != nil {
			cur.Title = req.Title
		}
		if req.Body != nil {
			cur.Body = req.Body
		}
		if req.Labels != nil {
			cur.Labels = labelsOf(req)
		}
		if req.State != nil && *req.State != cur.GetState() {
			cur.State = req.State
			cur.StateReason = req.StateReason
		}
		return cur
	})
	if err != nil {
		return nil, err
	}
	return decode[github.Issue](resp)
}

func (r *Recorder) ListIssues(ctx context.Context, repo jobs.GitHubRepo, label, state string) ([]*github.Issue, error) {
	creates, err := store.OutboundCallsAt(ctx, r.db, http.MethodPost, repoPath(repo, "/issues"))
	if err != nil {
		return nil, err
	}
	var out []*github.Issue
	for i := len(creates) - 1; i >= 0; i-- { // newest first, as GitHub lists
		is, err := r.getIssue(ctx, repo, creates[i].Seq)
		if err != nil {
			return nil, err
		}
		if (state == "" || state == "all" || is.GetState() == state) && (label == "" || hasLabel(is, label)) {
			out = append(out, is)
		}
	}
	return out, nil
}

func (r *Recorder) CreateComment(ctx context.Context, repo jobs.GitHubRepo, number int, body string) (*github.IssueComment, error) {
	// A pull request is an issue on GitHub; here only the runs know it.
	isPR, err := store.RepositoryHasPullRequest(ctx, r.db, repo.String(), number)
	if err != nil {
		return nil, err
	}
	if !isPR {
		if _, err := r.getIssue(ctx, repo, number); err != nil {
			return nil, err
		}
	}
	req := map[string]string{"body": body}
	resp, err := r.record(ctx, repo, http.MethodPost, repoPath(repo, fmt.Sprintf("/issues/%d/comments", number)), req, http.StatusCreated, func(id int64, _ int) any {
		return &github.IssueComment{ID: github.Int64(id), Body: github.String(body), CreatedAt: &github.Timestamp{Time: r.now()}}
	})
	if err != nil {
		return nil, err
	}
	return decode[github.IssueComment](resp)
}

func (r *Recorder) ListComments(ctx context.Context, repo jobs.GitHubRepo, number int) ([]*github.IssueComment, error) {
	calls, err := store.OutboundCallsAt(ctx, r.db, http.MethodPost, repoPath(repo, fmt.Sprintf("/issues/%d/comments", number)))
	if err != nil {
		return nil, err
	}
	out := make([]*github.IssueComment, 0, len(calls))
	for _, c := range calls {
		cm, err := r.currentComment(ctx, repo, c)
		if err != nil {
			return nil, err
		}
		out = append(out, cm)
	}
	return out, nil
}

// currentComment is a recorded comment as its last recorded edit left it.
func (r *Recorder) currentComment(ctx context.Context, repo jobs.GitHubRepo, create store.OutboundCall) (*github.IssueComment, error) {
	edit, err := store.LastOutboundCallAt(ctx, r.db, http.MethodPatch, repoPath(repo, fmt.Sprintf("/issues/comments/%d", create.ID)))
	if err == nil {
		return decode[github.IssueComment](edit.Response)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return decode[github.IssueComment](create.Response)
}

// EditComment records the edit of a comment recorded earlier (a comment's id
// is the id of the call that created it); any other id is 404, as on GitHub.
func (r *Recorder) EditComment(ctx context.Context, repo jobs.GitHubRepo, commentID int64, body string) (*github.IssueComment, error) {
	create, err := store.OutboundCallByID(ctx, r.db, commentID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !isCommentCreate(repo, create)) {
		return nil, notFound(fmt.Sprintf("edit comment %d on %s", commentID, repo))
	}
	if err != nil {
		return nil, err
	}
	cur, err := r.currentComment(ctx, repo, create)
	if err != nil {
		return nil, err
	}
	req := map[string]string{"body": body}
	resp, err := r.record(ctx, repo, http.MethodPatch, repoPath(repo, fmt.Sprintf("/issues/comments/%d", commentID)), req, http.StatusOK, func(int64, int) any {
		cur.Body = github.String(body)
		cur.UpdatedAt = &github.Timestamp{Time: r.now()}
		return cur
	})
	if err != nil {
		return nil, err
	}
	return decode[github.IssueComment](resp)
}

// isCommentCreate tells whether call created a comment on one of repo's issues.
func isCommentCreate(repo jobs.GitHubRepo, call store.OutboundCall) bool {
	rest, ok := strings.CutPrefix(call.Path, repoPath(repo, "/issues/"))
	return ok && call.Method == http.MethodPost && strings.HasSuffix(rest, "/comments")
}

func (r *Recorder) EnsureLabel(ctx context.Context, repo jobs.GitHubRepo, name, color, description string) error {
	calls, err := store.OutboundCallsAt(ctx, r.db, http.MethodPost, repoPath(repo, "/labels"))
	if err != nil {
		return err
	}
	for _, c := range calls {
		var l github.Label
		if json.Unmarshal(c.Request, &l) == nil && l.GetName() == name {
			return nil
		}
	}
	label := github.Label{Name: github.String(name), Color: github.String(color), Description: github.String(description)}
	_, err = r.record(ctx, repo, http.MethodPost, repoPath(repo, "/labels"), label, http.StatusCreated, func(id int64, _ int) any {
		l := label
		l.ID = github.Int64(id)
		return &l
	})
	return err
}
