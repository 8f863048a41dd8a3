package githubapp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v62/github"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

// Recorded git refs, contents and pull requests. The recorder has no
// repository: a branch's head is its newest run's commit (or the commit a
// recorded branch was created at), and a file is what a recorded commit put
// there, else missing.

func (r *Recorder) BranchHead(ctx context.Context, repo jobs.GitHubRepo, branch string) (string, error) {
	if sha, ok, err := r.recordedBranch(ctx, repo, branch); err != nil || ok {
		return sha, err
	}
	sha, err := store.LatestBranchSHA(ctx, r.db, repo.String(), branch)
	if errors.Is(err, store.ErrNotFound) {
		return "", notFound(fmt.Sprintf("get branch %s of %s", branch, repo))
	}
	return sha, err
}

// recordedBranch finds a branch the recorder created and did not delete.
func (r *Recorder) recordedBranch(ctx context.Context, repo jobs.GitHubRepo, branch string) (string, bool, error) {
	creates, err := store.OutboundCallsAt(ctx, r.db, http.MethodPost, repoPath(repo, "/git/refs"))
	if err != nil {
		return "", false, err
	}
	var sha string
	var at int64
	for _, c := range creates {
		var req struct{ Ref, SHA string }
		if json.Unmarshal(c.Request, &req) == nil && req.Ref == "refs/heads/"+branch {
			sha, at = req.SHA, c.ID
		}
	}
	if sha == "" {
		return "", false, nil
	}
	del, err := store.LastOutboundCallAt(ctx, r.db, http.MethodDelete, repoPath(repo, "/git/refs/heads/"+branch))
	switch {
	case err == nil && del.ID > at:
		return "", false, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return "", false, err
	}
	return sha, true, nil
}

func (r *Recorder) CreateBranch(ctx context.Context, repo jobs.GitHubRepo, branch, sha string) error {
	if _, ok, err := r.recordedBranch(ctx, repo, branch); err != nil || ok {
		if ok {
			return &jobs.GitHubError{Op: "create branch " + branch, StatusCode: http.StatusUnprocessableEntity, Message: "Reference already exists"}
		}
		return err
	}
	req := map[string]string{"ref": "refs/heads/" + branch, "sha": sha}
	_, err := r.record(ctx, repo, http.MethodPost, repoPath(repo, "/git/refs"), req, http.StatusCreated, func(int64, int) any {
		return &github.Reference{Ref: github.String("refs/heads/" + branch), Object: &github.GitObject{Type: github.String("commit"), SHA: github.String(sha)}}
	})
	return err
}

func (r *Recorder) DeleteBranch(ctx context.Context, repo jobs.GitHubRepo, branch string) error {
	_, err := r.record(ctx, repo, http.MethodDelete, repoPath(repo, "/git/refs/heads/"+branch), nil, http.StatusNoContent, func(int64, int) any { return nil })
	return err
}

type recordedPut struct {
	Message string `json:"message"`
	Content []byte `json:"content"` // base64 in JSON, as GitHub takes it
	SHA     string `json:"sha,omitempty"`
	Branch  string `json:"branch"`
}

func (r *Recorder) GetFile(ctx context.Context, repo jobs.GitHubRepo, path, ref string) ([]byte, string, error) {
	puts, err := store.OutboundCallsAt(ctx, r.db, http.MethodPut, repoPath(repo, "/contents/"+path))
	if err != nil {
		return nil, "", err
	}
	for i := len(puts) - 1; i >= 0; i-- {
		var p recordedPut
		if json.Unmarshal(puts[i].Request, &p) == nil && p.Branch == ref {
			return p.Content, fmt.Sprintf("recorded-%d", puts[i].ID), nil
		}
	}
	return nil, "", notFound(fmt.Sprintf("get %s at %s of %s", path, ref, repo))
}

func (r *Recorder) PutFile(ctx context.Context, repo jobs.GitHubRepo, path, branch, message string, content []byte, blobSHA string) error {
	req := recordedPut{Message: message, Content: content, SHA: blobSHA, Branch: branch}
	_, err := r.record(ctx, repo, http.MethodPut, repoPath(repo, "/contents/"+path), req, http.StatusCreated, func(id int64, _ int) any {
		return map[string]any{"content": map[string]any{"path": path, "sha": fmt.Sprintf("recorded-%d", id),
			"content": base64.StdEncoding.EncodeToString(content)}}
	})
	return err
}

func (r *Recorder) CreatePullRequest(ctx context.Context, repo jobs.GitHubRepo, pr github.NewPullRequest) (*github.PullRequest, error) {
	resp, err := r.record(ctx, repo, http.MethodPost, repoPath(repo, "/pulls"), pr, http.StatusCreated, func(id int64, seq int) any {
		return &github.PullRequest{ID: github.Int64(id), Number: github.Int(seq), State: github.String("open"), Title: pr.Title, Body: pr.Body,
			Head: &github.PullRequestBranch{Ref: pr.Head}, Base: &github.PullRequestBranch{Ref: pr.Base}}
	})
	if err != nil {
		return nil, err
	}
	return decode[github.PullRequest](resp)
}

func (r *Recorder) PullRequestFor(ctx context.Context, repo jobs.GitHubRepo, branch string) (*github.PullRequest, error) {
	creates, err := store.OutboundCallsAt(ctx, r.db, http.MethodPost, repoPath(repo, "/pulls"))
	if err != nil {
		return nil, err
	}
	for i := len(creates) - 1; i >= 0; i-- {
		pr, err := decode[github.PullRequest](creates[i].Response)
		if err != nil {
			return nil, err
		}
		if pr.GetHead().GetRef() != branch {
			continue
		}
		edit, err := store.LastOutboundCallAt(ctx, r.db, http.MethodPatch, repoPath(repo, fmt.Sprintf("/pulls/%d", pr.GetNumber())))
		if err == nil {
			return decode[github.PullRequest](edit.Response)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		return pr, nil
	}
	return nil, nil
}

func (r *Recorder) ClosePullRequest(ctx context.Context, repo jobs.GitHubRepo, number int) error {
	create, err := store.OutboundCallAtSeq(ctx, r.db, http.MethodPost, repoPath(repo, "/pulls"), number)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(fmt.Sprintf("close pull request #%d on %s", number, repo))
	}
	if err != nil {
		return err
	}
	pr, err := decode[github.PullRequest](create.Response)
	if err != nil {
		return err
	}
	pr.State = github.String("closed")
	_, err = r.record(ctx, repo, http.MethodPatch, repoPath(repo, fmt.Sprintf("/pulls/%d", number)), map[string]string{"state": "closed"}, http.StatusOK, func(int64, int) any { return pr })
	return err
}

// PullRequestOfCommit answers the newest pull request whose runs tested the
// commit (a pull request merged without a merge commit brings its head
// commit to the branch), from the runs Sentinel itself recorded.
func (r *Recorder) PullRequestOfCommit(ctx context.Context, repo jobs.GitHubRepo, sha string) (*github.PullRequest, error) {
	n, err := store.PullRequestOfSHA(ctx, r.db, repo.String(), sha)
	if err != nil || n == 0 {
		return nil, err
	}
	return &github.PullRequest{Number: github.Int(n), Head: &github.PullRequestBranch{SHA: github.String(sha)}}, nil
}
