package githubapp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/sentinel-ci/sentinel/app/githubapp/githubtest"
	"github.com/sentinel-ci/sentinel/jobs"
)

func newTestClient(t *testing.T, apiURL string) *Client {
	t.Helper()
	c, err := NewClient(Config{AppID: 1, PrivateKey: githubtest.AppKey(t), APIURL: apiURL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var testRepo = jobs.GitHubRepo{InstallationID: 7, Owner: "octo", Name: "calc"}

func TestNewClientChecksConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no key", Config{AppID: 1}, "both required"},
		{"bad key", Config{AppID: 1, PrivateKey: []byte("not a key")}, "GITHUB_APP_PRIVATE_KEY"},
		{"bad url", Config{AppID: 1, PrivateKey: githubtest.AppKey(t), APIURL: "api.github.com"}, "GITHUB_API_URL"},
	}
	for _, tt := range tests {
		_, err := NewClient(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}

// TestAPIURLMovesEveryCall serves the fake under /api/v3/ (as GitHub
// Enterprise Server does): the token request and the API call both go there.
func TestAPIURLMovesEveryCall(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t)
	var mu sync.Mutex
	var paths []string
	ghes := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		rest, ok := strings.CutPrefix(r.URL.Path, "/api/v3")
		if !ok {
			http.Error(w, "not under /api/v3", http.StatusNotFound)
			return
		}
		r.URL.Path = rest
		fake.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(ghes.Close)
	c := newTestClient(t, ghes.URL+"/api/v3")
	if _, err := c.CreateIssue(context.Background(), testRepo, github.IssueRequest{Title: github.String("t")}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"POST /api/v3/app/installations/7/access_tokens", "POST /api/v3/repos/octo/calc/issues"}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
}

func TestInstallationTransportIsCached(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t)
	c := newTestClient(t, fake.URL)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := c.CreateComment(ctx, testRepo, 1, "x"); err == nil {
			t.Fatal("comment on a missing issue succeeded")
		}
	}
	tokens := 0
	for _, r := range fake.Requests() {
		if strings.HasSuffix(r.Path, "/access_tokens") {
			tokens++
		}
	}
	if tokens != 1 {
		t.Errorf("%d token requests for one installation, want 1 (the transport is cached)", tokens)
	}
}

func TestGitHubErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		fault       githubtest.Fault
		status      int
		rateLimited bool
		retryAfter  time.Duration
	}{
		{"server error", githubtest.Fault{Kind: githubtest.ServerError}, 500, false, 0},
		{"lost answer", githubtest.Fault{Kind: githubtest.LostAnswer}, 502, false, 0},
		{"primary rate limit", githubtest.Fault{Kind: githubtest.PrimaryRateLimit, RetryAfter: 90 * time.Second}, 403, true, 90 * time.Second},
		{"secondary rate limit", githubtest.Fault{Kind: githubtest.SecondaryRateLimit, RetryAfter: 60 * time.Second}, 403, true, 60 * time.Second},
		{"too many requests", githubtest.Fault{Kind: githubtest.TooManyRequests, RetryAfter: 5 * time.Second}, 429, true, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := githubtest.New(t)
			c := newTestClient(t, fake.URL)
			tt.fault.PathPrefix = "/repos/"
			fake.FailNext(tt.fault)
			_, err := c.CreateIssue(context.Background(), testRepo, github.IssueRequest{Title: github.String("t")})
			var ge *jobs.GitHubError
			if !errors.As(err, &ge) {
				t.Fatalf("error %v is not a *jobs.GitHubError", err)
			}
			if ge.StatusCode != tt.status || ge.RateLimited != tt.rateLimited {
				t.Errorf("got status %d rate limited %v, want %d %v", ge.StatusCode, ge.RateLimited, tt.status, tt.rateLimited)
			}
			if d := ge.RetryAfter - tt.retryAfter; d > time.Second || d < -2*time.Second {
				t.Errorf("retry after %s, want about %s", ge.RetryAfter, tt.retryAfter)
			}
		})
	}
}

func TestGoneAndRejected(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t)
	c := newTestClient(t, fake.URL)
	ctx := context.Background()

	fake.DeleteRepo("octo/gone")
	_, err := c.CreateIssue(ctx, jobs.GitHubRepo{InstallationID: 7, Owner: "octo", Name: "gone"}, github.IssueRequest{Title: github.String("t")})
	var ge *jobs.GitHubError
	if !errors.As(err, &ge) || ge.StatusCode != 404 {
		t.Errorf("deleted repository: %v", err)
	}

	_, err = c.CreateIssue(ctx, testRepo, github.IssueRequest{Title: github.String("")})
	if !errors.As(err, &ge) || ge.StatusCode != 422 || !strings.Contains(ge.Message, "Validation Failed") || !strings.Contains(ge.Message, "missing_field") {
		t.Errorf("validation: %v", err)
	}
	fake.TakeViolations() // the empty title was sent on purpose

	fake.Uninstall(9)
	_, err = c.CreateIssue(ctx, jobs.GitHubRepo{InstallationID: 9, Owner: "octo", Name: "calc"}, github.IssueRequest{Title: github.String("t")})
	if !errors.As(err, &ge) || ge.StatusCode != 404 || !strings.Contains(ge.Op, "installation token") {
		t.Errorf("uninstalled App: %v", err)
	}

	_, err = c.CreateIssue(ctx, jobs.GitHubRepo{Owner: "octo", Name: "calc"}, github.IssueRequest{Title: github.String("t")})
	if !errors.As(err, &ge) || ge.StatusCode != 404 {
		t.Errorf("repository without installation: %v", err)
	}
}

func TestEnsureLabelAndPagination(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t)
	c := newTestClient(t, fake.URL)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := c.EnsureLabel(ctx, testRepo, "sentinel", "b60205", "Filed by Sentinel"); err != nil {
			t.Fatal(err)
		}
	}
	creates := 0
	for _, r := range fake.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/labels") {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("label created %d times, want 1", creates)
	}
	labels := []string{"sentinel"}
	for i := 0; i < 130; i++ {
		if _, err := c.CreateIssue(ctx, testRepo, github.IssueRequest{Title: github.String("t"), Labels: &labels}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := c.ListIssues(ctx, testRepo, "sentinel", "open")
	if err != nil || len(all) != 130 {
		t.Errorf("listed %d issues over pages, want 130 (%v)", len(all), err)
	}
}

// TestInstallationToken: the runner's clone token comes from the same cached
// installation transport as the API calls (one token request), and a
// repository without an installation gets GitHub's 404 rather than a token.
func TestInstallationToken(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t)
	c := newTestClient(t, fake.URL)
	ctx := context.Background()
	first, err := c.InstallationToken(ctx, 7)
	if err != nil || !strings.HasPrefix(first, "ghs_") {
		t.Fatalf("InstallationToken = %q, %v; want a ghs_ token", first, err)
	}
	if _, err := c.CreateIssue(ctx, testRepo, github.IssueRequest{Title: github.String("t")}); err != nil {
		t.Fatal(err)
	}
	if again, err := c.InstallationToken(ctx, 7); again != first || err != nil {
		t.Errorf("second InstallationToken = %q, %v; want the cached %q", again, err, first)
	}
	tokens := 0
	for _, r := range fake.Requests() {
		if strings.HasSuffix(r.Path, "/access_tokens") {
			tokens++
		}
	}
	if tokens != 1 {
		t.Errorf("%d token requests, want 1", tokens)
	}
	var ge *jobs.GitHubError
	if _, err := c.InstallationToken(ctx, 0); !errors.As(err, &ge) || ge.StatusCode != 404 {
		t.Errorf("installation 0: %v; want a 404 *jobs.GitHubError", err)
	}
}
