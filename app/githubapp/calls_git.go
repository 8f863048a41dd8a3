package githubapp

import (
	"context"
	"fmt"

	"github.com/google/go-github/v62/github"

	"github.com/sentinel-ci/sentinel/jobs"
)

// The git refs, contents and pull request calls of quarantine proposals.

func (c *Client) BranchHead(ctx context.Context, repo jobs.GitHubRepo, branch string) (string, error) {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return "", err
	}
	ref, _, err := gc.Git.GetRef(ctx, repo.Owner, repo.Name, "heads/"+branch)
	if err != nil {
		return "", gitHubError(fmt.Sprintf("get branch %s of %s", branch, repo), err)
	}
	return ref.GetObject().GetSHA(), nil
}

func (c *Client) CreateBranch(ctx context.Context, repo jobs.GitHubRepo, branch, sha string) error {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return err
	}
	_, _, err = gc.Git.CreateRef(ctx, repo.Owner, repo.Name, &github.Reference{Ref: github.String("refs/heads/" + branch), Object: &github.GitObject{SHA: github.String(sha)}})
	return gitHubError(fmt.Sprintf("create branch %s on %s", branch, repo), err)
}

func (c *Client) DeleteBranch(ctx context.Context, repo jobs.GitHubRepo, branch string) error {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return err
	}
	_, err = gc.Git.DeleteRef(ctx, repo.Owner, repo.Name, "heads/"+branch)
	return gitHubError(fmt.Sprintf("delete branch %s of %s", branch, repo), err)
}

func (c *Client) GetFile(ctx context.Context, repo jobs.GitHubRepo, path, ref string) ([]byte, string, error) {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return nil, "", err
	}
	f, _, _, err := gc.Repositories.GetContents(ctx, repo.Owner, repo.Name, path, &github.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		return nil, "", gitHubError(fmt.Sprintf("get %s at %s of %s", path, ref, repo), err)
	}
	if f == nil {
		return nil, "", fmt.Errorf("get %s at %s of %s: a directory, not a file", path, ref, repo)
	}
	content, err := f.GetContent()
	if err != nil {
		return nil, "", fmt.Errorf("get %s at %s of %s: %w", path, ref, repo, err)
	}
	return []byte(content), f.GetSHA(), nil
}

func (c *Client) PutFile(ctx context.Context, repo jobs.GitHubRepo, path, branch, message string, content []byte, blobSHA string) error {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return err
	}
	opts := &github.RepositoryContentFileOptions{Message: github.String(message), Content: content, Branch: github.String(branch)}
	if blobSHA != "" {
		opts.SHA = github.String(blobSHA)
	}
	_, _, err = gc.Repositories.UpdateFile(ctx, repo.Owner, repo.Name, path, opts)
	return gitHubError(fmt.Sprintf("commit %s on %s of %s", path, branch, repo), err)
}

func (c *Client) CreatePullRequest(ctx context.Context, repo jobs.GitHubRepo, pr github.NewPullRequest) (*github.PullRequest, error) {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return nil, err
	}
	out, _, err := gc.PullRequests.Create(ctx, repo.Owner, repo.Name, &pr)
	return out, gitHubError("open pull request on "+repo.String(), err)
}

func (c *Client) PullRequestFor(ctx context.Context, repo jobs.GitHubRepo, branch string) (*github.PullRequest, error) {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return nil, err
	}
	prs, _, err := gc.PullRequests.List(ctx, repo.Owner, repo.Name, &github.PullRequestListOptions{State: "all", Head: repo.Owner + ":" + branch})
	if err != nil {
		return nil, gitHubError(fmt.Sprintf("list pull requests from %s on %s", branch, repo), err)
	}
	if len(prs) == 0 {
		return nil, nil
	}
	return prs[0], nil
}

func (c *Client) ClosePullRequest(ctx context.Context, repo jobs.GitHubRepo, number int) error {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return err
	}
	_, _, err = gc.PullRequests.Edit(ctx, repo.Owner, repo.Name, number, &github.PullRequest{State: github.String("closed")})
	return gitHubError(fmt.Sprintf("close pull request #%d on %s", number, repo), err)
}

func (c *Client) PullRequestOfCommit(ctx context.Context, repo jobs.GitHubRepo, sha string) (*github.PullRequest, error) {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return nil, err
	}
	prs, _, err := gc.PullRequests.ListPullRequestsWithCommit(ctx, repo.Owner, repo.Name, sha, nil)
	if err != nil {
		return nil, gitHubError(fmt.Sprintf("list pull requests of commit %s on %s", sha, repo), err)
	}
	for _, pr := range prs {
		if pr.MergedAt != nil || pr.GetMerged() {
			return pr, nil
		}
	}
	if len(prs) == 0 {
		return nil, nil
	}
	return prs[0], nil
}
