package githubapp

import (
	"context"
	"fmt"

	"github.com/google/go-github/v62/github"

	"github.com/sentinel-ci/sentinel/jobs"
)

// The methods below implement jobs.GitHub with real calls.
var _ jobs.GitHub = (*Client)(nil)

func (c *Client) CreateCheckRun(ctx context.Context, repo jobs.GitHubRepo, opts github.CreateCheckRunOptions) (*github.CheckRun, error) {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return nil, err
	}
	cr, _, err := gc.Checks.CreateCheckRun(ctx, repo.Owner, repo.Name, opts)
	return cr, gitHubError("create check run on "+repo.String(), err)
}

func (c *Client) UpdateCheckRun(ctx context.Context, repo jobs.GitHubRepo, id int64, opts github.UpdateCheckRunOptions) (*github.CheckRun, error) {
	if opts.Name == "" {
		return nil, fmt.Errorf("github: update check run %d: Name is required (go-github would send an empty name)", id)
	}
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return nil, err
	}
	cr, _, err := gc.Checks.UpdateCheckRun(ctx, repo.Owner, repo.Name, id, opts)
	return cr, gitHubError(fmt.Sprintf("update check run %d on %s", id, repo), err)
}

func (c *Client) GetCheckRun(ctx context.Context, repo jobs.GitHubRepo, id int64) (*github.CheckRun, error) {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return nil, err
	}
	cr, _, err := gc.Checks.GetCheckRun(ctx, repo.Owner, repo.Name, id)
	return cr, gitHubError(fmt.Sprintf("get check run %d on %s", id, repo), err)
}

func (c *Client) ListCheckRunsForRef(ctx context.Context, repo jobs.GitHubRepo, ref, checkName string) ([]*github.CheckRun, error) {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return nil, err
	}
	opts := &github.ListCheckRunsOptions{CheckName: github.String(checkName), Filter: github.String("all"), ListOptions: github.ListOptions{PerPage: 100}}
	var all []*github.CheckRun
	for {
		res, resp, err := gc.Checks.ListCheckRunsForRef(ctx, repo.Owner, repo.Name, ref, opts)
		if err != nil {
			return nil, gitHubError(fmt.Sprintf("list check runs for %s on %s", ref, repo), err)
		}
		all = append(all, res.CheckRuns...)
		if resp.NextPage == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

func (c *Client) CreateIssue(ctx context.Context, repo jobs.GitHubRepo, req github.IssueRequest) (*github.Issue, error) {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return nil, err
	}
	is, _, err := gc.Issues.Create(ctx, repo.Owner, repo.Name, &req)
	return is, gitHubError("create issue on "+repo.String(), err)
}

func (c *Client) EditIssue(ctx context.Context, repo jobs.GitHubRepo, number int, req github.IssueRequest) (*github.Issue, error) {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return nil, err
	}
	is, _, err := gc.Issues.Edit(ctx, repo.Owner, repo.Name, number, &req)
	return is, gitHubError(fmt.Sprintf("edit issue #%d on %s", number, repo), err)
}

func (c *Client) ListIssues(ctx context.Context, repo jobs.GitHubRepo, label, state string) ([]*github.Issue, error) {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return nil, err
	}
	opts := &github.IssueListByRepoOptions{State: state, ListOptions: github.ListOptions{PerPage: 100}}
	if label != "" {
		opts.Labels = []string{label}
	}
	var all []*github.Issue
	for {
		page, resp, err := gc.Issues.ListByRepo(ctx, repo.Owner, repo.Name, opts)
		if err != nil {
			return nil, gitHubError(fmt.Sprintf("list issues labelled %q on %s", label, repo), err)
		}
		for _, is := range page {
			if !is.IsPullRequest() {
				all = append(all, is)
			}
		}
		if resp.NextPage == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

func (c *Client) CreateComment(ctx context.Context, repo jobs.GitHubRepo, number int, body string) (*github.IssueComment, error) {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return nil, err
	}
	cm, _, err := gc.Issues.CreateComment(ctx, repo.Owner, repo.Name, number, &github.IssueComment{Body: github.String(body)})
	return cm, gitHubError(fmt.Sprintf("comment on issue #%d on %s", number, repo), err)
}

func (c *Client) ListComments(ctx context.Context, repo jobs.GitHubRepo, number int) ([]*github.IssueComment, error) {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return nil, err
	}
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	var all []*github.IssueComment
	for {
		page, resp, err := gc.Issues.ListComments(ctx, repo.Owner, repo.Name, number, opts)
		if err != nil {
			return nil, gitHubError(fmt.Sprintf("list comments of issue #%d on %s", number, repo), err)
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

func (c *Client) EditComment(ctx context.Context, repo jobs.GitHubRepo, commentID int64, body string) (*github.IssueComment, error) {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return nil, err
	}
	cm, _, err := gc.Issues.EditComment(ctx, repo.Owner, repo.Name, commentID, &github.IssueComment{Body: github.String(body)})
	return cm, gitHubError(fmt.Sprintf("edit comment %d on %s", commentID, repo), err)
}

func (c *Client) EnsureLabel(ctx context.Context, repo jobs.GitHubRepo, name, color, description string) error {
	gc, err := c.Installation(repo.InstallationID)
	if err != nil {
		return err
	}
	_, _, err = gc.Issues.GetLabel(ctx, repo.Owner, repo.Name, name)
	if err == nil {
		return nil
	}
	if ge, ok := gitHubError("get label", err).(*jobs.GitHubError); !ok || ge.StatusCode != 404 {
		return gitHubError(fmt.Sprintf("get label %q on %s", name, repo), err)
	}
	_, _, err = gc.Issues.CreateLabel(ctx, repo.Owner, repo.Name, &github.Label{Name: github.String(name), Color: github.String(color), Description: github.String(description)})
	if err != nil {
		ge, ok := gitHubError("create label", err).(*jobs.GitHubError)
		if ok && ge.StatusCode == 422 && containsCode(err, "already_exists") {
			return nil // created meanwhile (or our earlier answer was lost)
		}
		return gitHubError(fmt.Sprintf("create label %q on %s", name, repo), err)
	}
	return nil
}

func containsCode(err error, code string) bool {
	er, ok := err.(*github.ErrorResponse)
	if !ok {
		return false
	}
	for _, e := range er.Errors {
		if e.Code == code {
			return true
		}
	}
	return false
}
