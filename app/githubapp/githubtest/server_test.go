package githubtest_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v62/github"

	"github.com/sentinel-ci/sentinel/app/githubapp/githubtest"
)

var testKey = func() []byte {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}()

// client talks to the fake as installation 7 of App 1, through ghinstallation.
func client(t *testing.T, s *githubtest.Server) *github.Client {
	t.Helper()
	atr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, 1, testKey)
	if err != nil {
		t.Fatal(err)
	}
	atr.BaseURL = s.URL
	itr := ghinstallation.NewFromAppsTransport(atr, 7)
	itr.BaseURL = s.URL
	// Without options ghinstallation sends the body "null", which the
	// description rejects (the token request body is an object).
	itr.InstallationTokenOptions = &github.InstallationTokenOptions{}
	c := github.NewClient(&http.Client{Transport: itr})
	c.BaseURL.Host = strings.TrimPrefix(s.URL, "http://")
	c.BaseURL.Scheme = "http"
	return c
}

const sha = "0123456789abcdef0123456789abcdef01234567"

func TestCheckRunLifecycle(t *testing.T) {
	t.Parallel()
	s := githubtest.New(t)
	c := client(t, s)
	ctx := context.Background()
	cr, resp, err := c.Checks.CreateCheckRun(ctx, "o", "r", github.CreateCheckRunOptions{
		Name: "sentinel", HeadSHA: sha, ExternalID: github.String("42"), Status: github.String("queued"),
	})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %v (status %v)", err, resp)
	}
	_, _, err = c.Checks.UpdateCheckRun(ctx, "o", "r", cr.GetID(), github.UpdateCheckRunOptions{Name: "sentinel", Status: github.String("in_progress")})
	if err != nil {
		t.Fatal(err)
	}
	var anns []*github.CheckRunAnnotation
	for i := 1; i <= 50; i++ {
		anns = append(anns, &github.CheckRunAnnotation{Path: github.String("a.go"), StartLine: github.Int(i), EndLine: github.Int(i), AnnotationLevel: github.String("failure"), Message: github.String("m")})
	}
	got, _, err := c.Checks.UpdateCheckRun(ctx, "o", "r", cr.GetID(), github.UpdateCheckRunOptions{
		Name: "sentinel", Conclusion: github.String("failure"),
		Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Annotations: anns},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetStatus() != "completed" || got.GetOutput().GetAnnotationsCount() != 50 {
		t.Errorf("after completion: status %q, annotations %d", got.GetStatus(), got.GetOutput().GetAnnotationsCount())
	}
	runs := s.CheckRuns()
	if len(runs) != 1 {
		t.Fatalf("check runs: %d", len(runs))
	}
	if diff := cmp.Diff([]string{"queued", "in_progress", "completed:failure"}, runs[0].History); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	list, _, err := c.Checks.ListCheckRunsForRef(ctx, "o", "r", sha, &github.ListCheckRunsOptions{CheckName: github.String("sentinel")})
	if err != nil || list.GetTotal() != 1 || list.CheckRuns[0].GetExternalID() != "42" {
		t.Errorf("list for ref: %v %+v", err, list)
	}
}

func TestViolationsAreRecorded(t *testing.T) {
	t.Parallel()
	s := githubtest.New(t)
	c := client(t, s)
	ctx := context.Background()
	var anns []*github.CheckRunAnnotation
	for i := 1; i <= 51; i++ {
		anns = append(anns, &github.CheckRunAnnotation{Path: github.String("a.go"), StartLine: github.Int(1), EndLine: github.Int(1), AnnotationLevel: github.String("failure"), Message: github.String("m")})
	}
	anns[0].AnnotationLevel = github.String("error")
	anns[1].Title = github.String(strings.Repeat("x", 256))
	actions := []*github.CheckRunAction{
		{Label: "Re-run failed tests now!", Description: "d", Identifier: "a"},
		{Label: "b", Description: "d", Identifier: "b"},
		{Label: "c", Description: "d", Identifier: "c"},
		{Label: "d", Description: "d", Identifier: "d"},
	}
	_, _, err := c.Checks.CreateCheckRun(ctx, "o", "r", github.CreateCheckRunOptions{
		Name: "sentinel", HeadSHA: sha, Conclusion: github.String("failure"), Status: github.String("completed"),
		Output:  &github.CheckRunOutput{Title: github.String("t"), Summary: github.String(strings.Repeat("s", 65536)), Annotations: anns},
		Actions: actions,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Checks.UpdateCheckRun(ctx, "o", "r", 1, github.UpdateCheckRunOptions{Status: github.String("in_progress")})
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 404 {
		t.Errorf("update of unknown check run: %v", err)
	}
	var problems []string
	for _, v := range s.TakeViolations() {
		problems = append(problems, v.Problem)
	}
	joined := strings.Join(problems, "\n")
	for _, want := range []string{
		"/output/summary", "/output/annotations", "/output/annotations/0/annotation_level",
		"title has 256 characters", "/actions", "/actions/0/label", `"name" is empty`,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("no violation mentioning %q in:\n%s", want, joined)
		}
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	s := githubtest.New(t)
	c := client(t, s)
	ctx := context.Background()
	// Get a token first so the faults hit the API calls.
	if _, _, err := c.Issues.Create(ctx, "o", "r", &github.IssueRequest{Title: github.String("warm-up")}); err != nil {
		t.Fatal(err)
	}
	s.FailNext(
		githubtest.Fault{Kind: githubtest.PrimaryRateLimit, PathPrefix: "/repos/"},
		githubtest.Fault{Kind: githubtest.SecondaryRateLimit, RetryAfter: 0, PathPrefix: "/repos/"},
		githubtest.Fault{Kind: githubtest.TooManyRequests, RetryAfter: 3 * time.Second, PathPrefix: "/repos/"},
		githubtest.Fault{Kind: githubtest.ServerError, PathPrefix: "/repos/"},
		githubtest.Fault{Kind: githubtest.LostAnswer, PathPrefix: "/repos/"},
	)
	req := &github.IssueRequest{Title: github.String("t")}
	_, _, err := c.Issues.Create(ctx, "o", "r", req)
	var rl *github.RateLimitError
	if !errors.As(err, &rl) {
		t.Errorf("primary: got %v", err)
	}
	_, _, err = c.Issues.Create(ctx, "o", "r", req)
	var ab *github.AbuseRateLimitError
	if !errors.As(err, &ab) {
		t.Errorf("secondary: got %v", err)
	}
	_, resp, err := c.Issues.Create(ctx, "o", "r", req)
	if err == nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("429: got %v", err)
	}
	_, resp, err = c.Issues.Create(ctx, "o", "r", req)
	if err == nil || resp.StatusCode != 500 {
		t.Errorf("500: got %v", err)
	}
	_, resp, err = c.Issues.Create(ctx, "o", "r", req)
	if err == nil || resp.StatusCode != 502 {
		t.Errorf("lost answer: got %v", err)
	}
	// Only the lost answer created an issue (number 2).
	if got := len(s.Issues("o/r")); got != 2 {
		t.Errorf("issues after faults: %d, want 2", got)
	}
}

func TestIssuesLabelsCommentsSearchPagination(t *testing.T) {
	t.Parallel()
	s := githubtest.New(t)
	c := client(t, s)
	ctx := context.Background()
	if _, _, err := c.Issues.CreateLabel(ctx, "o", "r", &github.Label{Name: github.String("sentinel"), Color: github.String("b60205")}); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Issues.CreateLabel(ctx, "o", "r", &github.Label{Name: github.String("sentinel"), Color: github.String("b60205")})
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 422 || len(er.Errors) != 1 || er.Errors[0].Code != "already_exists" {
		t.Errorf("duplicate label: %v", err)
	}
	for i := 1; i <= 35; i++ {
		labels := []string{"other"}
		if i%5 == 0 {
			labels = []string{"sentinel"}
		}
		body := fmt.Sprintf("body %d <!-- sentinel:fingerprint=fp%d -->", i, i)
		if _, _, err := c.Issues.Create(ctx, "o", "r", &github.IssueRequest{Title: github.String(fmt.Sprint("issue ", i)), Body: &body, Labels: &labels}); err != nil {
			t.Fatal(err)
		}
	}
	first, resp, err := c.Issues.ListByRepo(ctx, "o", "r", &github.IssueListByRepoOptions{State: "open"})
	if err != nil || len(first) != 30 || resp.NextPage != 2 || resp.LastPage != 2 {
		t.Errorf("page 1: %d issues, next %d, last %d, %v", len(first), resp.NextPage, resp.LastPage, err)
	}
	mine, _, err := c.Issues.ListByRepo(ctx, "o", "r", &github.IssueListByRepoOptions{Labels: []string{"sentinel"}})
	if err != nil || len(mine) != 7 {
		t.Errorf("labelled: %d, %v", len(mine), err)
	}
	state := "closed"
	if _, _, err := c.Issues.Edit(ctx, "o", "r", 5, &github.IssueRequest{State: &state, StateReason: github.String("not_planned")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Issues.CreateComment(ctx, "o", "r", 5, &github.IssueComment{Body: github.String("closing")}); err != nil {
		t.Fatal(err)
	}
	res, _, err := c.Search.Issues(ctx, `"sentinel:fingerprint=fp10 " repo:o/r is:issue in:body label:sentinel`, nil)
	if err != nil || res.GetTotal() != 1 || res.Issues[0].GetNumber() != 10 {
		t.Errorf("search: %v %+v", err, res)
	}
	is := s.Issues("o/r")[4]
	if diff := cmp.Diff([]string{"open", "closed:not_planned"}, is.History); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if len(is.Comments) != 1 {
		t.Errorf("comments: %+v", is.Comments)
	}
}

func TestUninstalledAndDeleted(t *testing.T) {
	t.Parallel()
	s := githubtest.New(t)
	s.DeleteRepo("o/gone")
	c := client(t, s)
	ctx := context.Background()
	_, resp, err := c.Issues.Create(ctx, "o", "gone", &github.IssueRequest{Title: github.String("t")})
	if err == nil || resp.StatusCode != 404 {
		t.Errorf("deleted repo: %v", err)
	}
	s.Uninstall(7)
	c2 := client(t, s)
	_, _, err = c2.Issues.Create(ctx, "o", "r", &github.IssueRequest{Title: github.String("t")})
	var he *ghinstallation.HTTPError
	if !errors.As(err, &he) || he.Response.StatusCode != 404 {
		t.Errorf("uninstalled: %v", err)
	}
}

func TestMountAndRequests(t *testing.T) {
	t.Parallel()
	s := githubtest.New(t)
	s.Mount("/git/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "git:"+r.URL.Path)
	}))
	resp, err := http.Get(s.URL + "/git/o/r.git/info/refs")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "git:/o/r.git/info/refs" {
		t.Errorf("mounted handler answered %q", b)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("mounted requests are not API requests, got %d recorded", n)
	}
}

func TestChaosIsReproducible(t *testing.T) {
	t.Parallel()
	statuses := func() []int {
		s := githubtest.New(t)
		c := client(t, s)
		if _, _, err := c.Issues.Create(context.Background(), "o", "r", &github.IssueRequest{Title: github.String("w")}); err != nil {
			t.Fatal(err)
		}
		s.SetChaos(githubtest.Chaos{Rate: 0.5, Seed: 3, Kinds: []githubtest.FaultKind{githubtest.ServerError}})
		var out []int
		for i := 0; i < 20; i++ {
			_, resp, _ := c.Issues.Get(context.Background(), "o", "r", 1)
			out = append(out, resp.StatusCode)
		}
		return out
	}
	a, b := statuses(), statuses()
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different faults (-want +got):\n%s", diff)
	}
	fails := 0
	for _, st := range a {
		if st == 500 {
			fails++
		}
	}
	if fails == 0 || fails == 20 {
		t.Errorf("rate 0.5 gave %d failures of 20", fails)
	}
}

func TestSlowAnswers(t *testing.T) {
	t.Parallel()
	s := githubtest.New(t)
	c := client(t, s)
	if _, _, err := c.Issues.Create(context.Background(), "o", "r", &github.IssueRequest{Title: github.String("w")}); err != nil {
		t.Fatal(err)
	}
	s.FailNext(githubtest.Fault{Kind: githubtest.Slow, Delay: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := c.Issues.Get(ctx, "o", "r", 1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow answer with a 50ms deadline: %v", err)
	}
	if _, _, err := c.Issues.Get(context.Background(), "o", "r", 1); err != nil {
		t.Errorf("after the slow answer: %v", err)
	}
}

func TestGitHubSpecIsValidOpenAPI(t *testing.T) {
	t.Parallel()
	if err := githubtest.GitHubSpec(t).Validate(); err != nil {
		t.Errorf("the OpenAPI subset does not validate: %v", err)
	}
}
