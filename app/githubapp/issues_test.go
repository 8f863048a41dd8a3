package githubapp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sentinel-ci/sentinel/app/githubapp/githubtest"
	"github.com/sentinel-ci/sentinel/jobs"
)

// retry calls fn until it succeeds, as River retries a job; a GitHub answer
// that would cancel the job fails the test.
func retry(t *testing.T, what string, fn func() error) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return
		}
		var ge *jobs.GitHubError
		if errors.As(err, &ge) && !ge.RateLimited && ge.StatusCode >= 400 && ge.StatusCode < 500 && ge.StatusCode != 401 {
			t.Fatalf("%s: %v", what, err)
		}
		if attempt == 200 {
			t.Fatalf("%s still failing after %d attempts: %v", what, attempt, err)
		}
	}
}

// incidentLifecycle is what incident.sync does over an incident's life,
// keeping the issue number as the database would.
func incidentLifecycle(t *testing.T, gh jobs.GitHub) {
	t.Helper()
	ctx := context.Background()
	spec := jobs.IssueSpec{Fingerprint: "fp-abc123", Title: "TestAdd keeps failing", Body: "Seen 3 times in 24h.", Labels: []string{"ci-failure"}}
	var number int
	retry(t, "open", func() error {
		n, _, err := jobs.OpenIssue(ctx, gh, testRepo, number, spec)
		if err == nil {
			number = n // stored at once
		}
		return err
	})
	for i := 1; i <= 3; i++ {
		retry(t, "comment", func() error {
			return jobs.CommentIssue(ctx, gh, testRepo, number, fmt.Sprintf("occurrence-%d", i), fmt.Sprintf("Failed again in run %d.", i))
		})
	}
	retry(t, "close", func() error {
		return jobs.CloseIssue(ctx, gh, testRepo, number, jobs.CloseCompleted, "resolved-1", "No failure for 24h: resolved.")
	})
	retry(t, "reopen", func() error {
		return jobs.ReopenIssue(ctx, gh, testRepo, number, "reopened-1", "It failed again: reopened.")
	})
}

func checkIncidentIssue(t *testing.T, fake *githubtest.Server) {
	t.Helper()
	issues := fake.Issues("octo/calc")
	if len(issues) != 1 {
		t.Fatalf("%d issues, want 1", len(issues))
	}
	is := issues[0]
	if !strings.Contains(is.Body, "<!-- sentinel:fingerprint=fp-abc123 -->") {
		t.Errorf("body lacks the marker: %q", is.Body)
	}
	if diff := cmp.Diff([]string{"sentinel", "ci-failure"}, is.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"open", "closed:completed", "open:reopened"}, is.History); diff != "" {
		t.Errorf("state history (-want +got):\n%s", diff)
	}
	var comments []string
	for _, c := range is.Comments {
		first, _, _ := strings.Cut(c.Body, "\n")
		comments = append(comments, first)
	}
	want := []string{"Failed again in run 1.", "Failed again in run 2.", "Failed again in run 3.", "No failure for 24h: resolved.", "It failed again: reopened."}
	if diff := cmp.Diff(want, comments); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ci-failure", "sentinel"}, fake.Labels("octo/calc")); diff != "" {
		t.Errorf("repository labels (-want +got):\n%s", diff)
	}
}

func TestIssueOperations(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t)
	incidentLifecycle(t, newTestClient(t, fake.URL))
	checkIncidentIssue(t, fake)
}

// TestIssueOperationsUnderFailures: lost answers and rate limits on 30% of
// calls leave one issue with each comment once.
func TestIssueOperationsUnderFailures(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			fake := githubtest.New(t)
			fake.SetChaos(githubtest.Chaos{Rate: 0.3, Seed: seed})
			incidentLifecycle(t, newTestClient(t, fake.URL))
			fake.SetChaos(githubtest.Chaos{})
			checkIncidentIssue(t, fake)
		})
	}
}

func TestOpenIssueKnownNumberIsTrusted(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t)
	n, created, err := jobs.OpenIssue(context.Background(), newTestClient(t, fake.URL), testRepo, 17, jobs.IssueSpec{Fingerprint: "fp", Title: "t"})
	if n != 17 || created || err != nil || len(fake.Requests()) != 0 {
		t.Errorf("got %d %v %v after %d requests; want 17 without asking GitHub", n, created, err, len(fake.Requests()))
	}
	if _, _, err := jobs.OpenIssue(context.Background(), newTestClient(t, fake.URL), testRepo, 0, jobs.IssueSpec{Fingerprint: "a -->b", Title: "t"}); err == nil {
		t.Error("a fingerprint that would break the marker was accepted")
	}
	if err := jobs.CloseIssue(context.Background(), newTestClient(t, fake.URL), testRepo, 1, "wontfix", "k", ""); err == nil {
		t.Error("an unknown close reason was accepted")
	}
}
