package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// QuarantineProposeWorker opens the pull request of a quarantine proposal:
// a branch of Sentinel's own from the default branch, one commit changing
// .sentinel/quarantine.yml, and (for an addition) an issue to fix the test
// that the pull request links. It never pushes to the default branch.
//
// Every step survives a lost answer: an existing branch is reused, a file
// that already says what the commit would is left alone, the issue is found
// by its marker, and an existing pull request from the branch is adopted.
type QuarantineProposeWorker struct {
	river.WorkerDefaults[QuarantineProposeArgs]
	DB        *store.DB
	GitHub    GitHub
	PublicURL string
	Log       *slog.Logger
	Now       func() time.Time
}

func (w *QuarantineProposeWorker) Work(ctx context.Context, job *river.Job[QuarantineProposeArgs]) error {
	log := w.Log.With("job_id", job.ID, "proposal_id", job.Args.ProposalID)
	err := w.Propose(ctx, job.Args.ProposalID)
	if errors.Is(err, store.ErrNotFound) {
		log.Warn("proposal or its test is gone")
		return river.JobCancel(err)
	}
	return GitHubJobError(err, log)
}

// proposalBranch is the branch of a test's proposal.
func proposalBranch(kind store.ProposalKind, testID int64) string {
	if kind == store.ProposalRemove {
		return fmt.Sprintf("sentinel/unquarantine-%d", testID)
	}
	return fmt.Sprintf("sentinel/quarantine-%d", testID)
}

// Propose does one job's work.
func (w *QuarantineProposeWorker) Propose(ctx context.Context, id int64) error {
	p, err := store.GetProposal(ctx, w.DB, id)
	if err != nil || p.State != store.ProposalPending {
		return err
	}
	test, err := store.GetTest(ctx, w.DB, p.TestID)
	if err != nil {
		return err
	}
	pol, err := store.GetRepositoryPolicy(ctx, w.DB, p.RepositoryID)
	if err != nil {
		return err
	}
	owner, name, ok := splitRepo(pol.FullName)
	if !ok {
		return river.JobCancel(fmt.Errorf("repository name %q is not owner/name", pol.FullName))
	}
	repo := GitHubRepo{InstallationID: pol.InstallationID, Owner: owner, Name: name}
	base := pol.DefaultBranch

	head, err := w.GitHub.BranchHead(ctx, repo, base)
	if err != nil {
		return err
	}
	if err := w.GitHub.CreateBranch(ctx, repo, p.Branch, head); err != nil && !isStatus(err, http.StatusUnprocessableEntity) {
		return err // 422: the branch exists, made by an earlier attempt
	}
	content, blob, err := w.GitHub.GetFile(ctx, repo, runner.QuarantineFile, p.Branch)
	if err != nil && !isStatus(err, http.StatusNotFound) {
		return err
	}
	entries, err := runner.ParseQuarantine(content)
	if err != nil {
		return w.close(ctx, repo, p, fmt.Sprintf("%s on %s does not parse, so Sentinel did not change it: %v", runner.QuarantineFile, base, err))
	}
	testID := triage.TestID(test.Package, test.Name)
	at := slices.IndexFunc(entries, func(e runner.QuarantineEntry) bool { return e.ID == testID })
	var title, body, message string
	switch p.Kind {
	case store.ProposalAdd:
		who, err := w.owner(ctx, repo, base, test)
		if err != nil {
			return err
		}
		issue, err := w.fixIssue(ctx, repo, p, test, who)
		if err != nil {
			return err
		}
		if at < 0 {
			entries = append(entries, runner.QuarantineEntry{ID: testID, Owner: who, Reason: p.Reason, Issue: issue,
				Expires: runner.QuarantineDate{Time: w.now().Add(DefaultQuarantineFor).UTC().Truncate(24 * time.Hour)}})
		}
		title = "Quarantine flaky test " + testID
		message = title + "\n\n" + p.Reason
		body = fmt.Sprintf("%s\n\nSentinel proposes to quarantine `%s`: %s. Its failures will not fail runs while it is listed in `%s` (until the expiry written there).\n\n"+
			"Owner: %s. The fix is tracked in #%d. [The test on Sentinel](%s)\n\nSentinel opens the pull request taking it out again once the test has passed its next runs.\n",
			proposalMarker(p), testID, p.Reason, runner.QuarantineFile, who, issue, TestURL(w.PublicURL, test.ID))
	case store.ProposalRemove:
		if at >= 0 {
			entries = slices.Delete(entries, at, at+1)
		}
		title = "Take " + testID + " out of quarantine"
		message = title + "\n\n" + p.Reason
		body = fmt.Sprintf("%s\n\n`%s` %s, so Sentinel proposes to take it out of `%s`: its failures will fail runs again.\n\n[The test on Sentinel](%s)\n",
			proposalMarker(p), testID, p.Reason, runner.QuarantineFile, TestURL(w.PublicURL, test.ID))
	}
	want := runner.RenderQuarantine(entries)
	if len(entries) == 0 && len(content) == 0 {
		want = nil
	}
	if string(want) != string(content) {
		if err := w.GitHub.PutFile(ctx, repo, runner.QuarantineFile, p.Branch, message, want, blob); err != nil {
			return err
		}
	}
	pr, err := w.GitHub.CreatePullRequest(ctx, repo, github.NewPullRequest{Title: github.String(title), Head: github.String(p.Branch),
		Base: github.String(base), Body: github.String(body), MaintainerCanModify: github.Bool(true)})
	if isStatus(err, http.StatusUnprocessableEntity) {
		// Opened by an attempt whose answer was lost, or nothing to change.
		if pr, err = w.GitHub.PullRequestFor(ctx, repo, p.Branch); err == nil && (pr == nil || pr.GetState() != "open") {
			return w.close(ctx, repo, p, fmt.Sprintf("%s on %s already says this; nothing to propose", runner.QuarantineFile, base))
		}
	}
	if err != nil {
		return err
	}
	return store.SetProposalState(ctx, w.DB, p.ID, store.ProposalOpen, pr.GetNumber(), "")
}

// close ends a proposal that will have no pull request, removing its branch.
func (w *QuarantineProposeWorker) close(ctx context.Context, repo GitHubRepo, p store.QuarantineProposal, note string) error {
	if err := w.GitHub.DeleteBranch(ctx, repo, p.Branch); err != nil && !isStatus(err, http.StatusUnprocessableEntity) {
		return err
	}
	return store.SetProposalState(ctx, w.DB, p.ID, store.ProposalClosed, 0, note)
}

// owner names who should fix the test: its file's owners in CODEOWNERS at
// the default branch (GitHub's locations, in GitHub's order), else the
// author of the commit of its latest failure.
func (w *QuarantineProposeWorker) owner(ctx context.Context, repo GitHubRepo, base string, test store.Test) (string, error) {
	file, author, err := store.TestFileAndAuthor(ctx, w.DB, test.ID)
	if err != nil {
		return "", err
	}
	file = strings.TrimPrefix(strings.TrimPrefix(file, runner.WorkspaceMount), "/")
	for _, path := range []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"} {
		data, _, err := w.GitHub.GetFile(ctx, repo, path, base)
		if isStatus(err, http.StatusNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		if owners := triage.ParseCodeOwners(string(data)).Owners(file); file != "" && len(owners) > 0 {
			return strings.Join(owners, " "), nil
		}
		break // GitHub reads the first file it finds
	}
	if author != "" {
		return author, nil
	}
	return "unknown (no CODEOWNERS entry, no commit author)", nil
}

// fixIssue returns the number of the issue to fix the test, opening it
// unless an earlier attempt did.
func (w *QuarantineProposeWorker) fixIssue(ctx context.Context, repo GitHubRepo, p store.QuarantineProposal, test store.Test, owner string) (int, error) {
	if p.IssueNumber != 0 {
		return p.IssueNumber, nil
	}
	marker := fmt.Sprintf("<!-- sentinel:fix-flaky-test:%d -->", test.ID)
	issues, err := w.GitHub.ListIssues(ctx, repo, IssueLabel, "open")
	if err != nil {
		return 0, err
	}
	number := 0
	for _, is := range issues {
		if strings.Contains(is.GetBody(), marker) {
			number = is.GetNumber()
		}
	}
	if number == 0 {
		testID := triage.TestID(test.Package, test.Name)
		is, err := w.GitHub.CreateIssue(ctx, repo, github.IssueRequest{
			Title:  github.String("Fix flaky test " + testID),
			Body:   github.String(fmt.Sprintf("%s\n\n`%s` is flaky: %s. It is being quarantined so that it stops failing runs; it still needs fixing.\n\nOwner: %s. [The test on Sentinel](%s)\n", marker, testID, p.Reason, owner, TestURL(w.PublicURL, test.ID))),
			Labels: &[]string{IssueLabel},
		})
		if err != nil {
			return 0, err
		}
		number = is.GetNumber()
	}
	return number, store.SetProposalIssue(ctx, w.DB, p.ID, number)
}

func (w *QuarantineProposeWorker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func proposalMarker(p store.QuarantineProposal) string {
	return fmt.Sprintf("<!-- sentinel:quarantine-proposal:%d -->", p.ID)
}

// isStatus tells whether err is GitHub's answer with status code.
func isStatus(err error, code int) bool {
	var ge *GitHubError
	return errors.As(err, &ge) && ge.StatusCode == code
}
