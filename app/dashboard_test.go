package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browserlessClient keeps cookies and does not follow redirects, so tests
// see the 303 of a form action.
func browserlessClient(t testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t testing.TB, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`)

// csrfFrom loads a page and returns the CSRF token its forms carry.
func csrfFrom(t testing.TB, c *http.Client, u string) string {
	t.Helper()
	_, body := get(t, c, u)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field on %s", u)
	}
	return m[1]
}

func postForm(t testing.TB, c *http.Client, u string, form url.Values) (int, string, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func TestPagesShowSeededData(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	c := browserlessClient(t)
	tests := []struct {
		path string
		want []string
	}{
		{"/", []string{"Pass rate by branch", "octo/app", "main", "TestEvict failed</a>", "1 recoveries", `<svg class="chart"`, "awaiting approval"}},
		{"/runs", []string{fmt.Sprintf(`href="/runs/%d"`, s.FailedRun), "Make the cache concurrent", "TestEvict failed", "PR #7"}},
		{"/runs?state=awaiting_approval", []string{"Fix typo"}},
		{fmt.Sprintf("/runs/%d", s.FailedRun), []string{
			"TestEvict failed", "90%", "The eviction test expects", "Run go test -run TestEvict",
			fmt.Sprintf(`<div class="l ev" id="s%d-L4">`, s.TestStep), `<span class="af2">--- PASS: TestCache (0.01s)</span>`,
			`<span class="af1 ab">--- FAIL: TestEvict (0.02s)</span>`, "exit 1", "/repos/octo/app/check-runs", "recorded only",
			"example.com/app/net.TestRetryDial", "flaky", "3 tests: 1 failed, 1 flaky",
			`<input type="hidden" name="failed_only" value="1"><button title="Run only the failing tests again; steps that passed are skipped">Re-run failed tests</button>`}},
		{fmt.Sprintf("/runs/%d", s.RunningRun), []string{"data-live=", "starting", "Cancel run"}},
		{fmt.Sprintf("/runs/%d", s.ForkRun), []string{"Approve and run", "from a fork"}},
		{"/clusters", []string{"TestEvict failed</a>", "want 3 entries, got 2", fmt.Sprintf(`/incidents/%d`, s.Incident)}},
		{fmt.Sprintf("/clusters/%d", s.Cluster), []string{"Occurrences, last 30 days", "example.com/app/cache.TestEvict", "main", "cache_test.go:42"}},
		{"/flaky", []string{"TestRetryDial", "fails about 1 run in 2", "TestSlowServer", "Unquarantine", `class="o-fail"`, `class="o-flip"`}},
		{"/incidents", []string{"TestEvict keeps failing on main", "high", "#12"}},
		{fmt.Sprintf("/incidents/%d", s.Incident), []string{"Acknowledge", "Commit f00dfee changed", "runs affected", "Issue #12 opened", "Postmortem", "/repos/octo/app/issues"}},
		{"/dead", []string{"incident.sync", "GitHub answered 502 Bad Gateway", "Retry"}},
		{"/login", []string{"Admin token"}},
	}
	for _, tc := range tests {
		status, body := get(t, c, ds.url+tc.path)
		if status != http.StatusOK {
			t.Errorf("GET %s: status %d\n%s", tc.path, status, body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: missing %q", tc.path, w)
			}
		}
	}
	// A run that has not finished has no failures to re-run yet.
	if _, body := get(t, c, fmt.Sprintf("%s/runs/%d", ds.url, s.RunningRun)); strings.Contains(body, "Re-run failed tests") {
		t.Errorf("a running run offers to re-run its failed tests")
	}
}

func TestPagesExplainEmptyStates(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	c := browserlessClient(t)
	for path, want := range map[string]string{
		"/":          "make demo",
		"/runs":      "No runs yet",
		"/clusters":  "No failure clusters",
		"/flaky":     "No flaky tests",
		"/incidents": "No open incident",
		"/dead":      "No dead letters",
	} {
		status, body := get(t, c, ds.url+path)
		if status != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s: status %d, want 200 with %q", path, status, want)
		}
	}
}

func TestPageErrors(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	c := browserlessClient(t)
	for path, want := range map[string]int{
		"/runs/999999":     http.StatusNotFound,
		"/runs/abc":        http.StatusBadRequest,
		"/runs?state=nope": http.StatusBadRequest,
		"/runs?pr=x":       http.StatusBadRequest,
		"/clusters/12345":  http.StatusNotFound,
		"/incidents/777":   http.StatusNotFound,
		"/flaky?state=odd": http.StatusBadRequest,
	} {
		status, body := get(t, c, ds.url+path)
		if status != want {
			t.Errorf("GET %s: status %d, want %d", path, status, want)
		}
		if !strings.Contains(body, "<main") {
			t.Errorf("GET %s: error page is not in the layout", path)
		}
	}
}

func TestStaticAssetsAreCached(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	resp, err := http.Get(ds.url + assetURL("style.css"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("style.css: %d %q %q", resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Type"))
	}
}

func TestRunsPagination(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	seedDashboard(t, ds.DB)
	c := browserlessClient(t)
	seen := map[string]bool{}
	next := "/runs?limit=2"
	for pages := 0; next != ""; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		_, body := get(t, c, ds.url+next)
		for _, m := range regexp.MustCompile(`<td><a href="/runs/(\d+)">`).FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Errorf("run %s shown twice", m[1])
			}
			seen[m[1]] = true
		}
		next = ""
		if m := regexp.MustCompile(`href="(/runs\?[^"]+)" rel="next"`).FindStringSubmatch(body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	var n int
	ds.DB.QueryRow(context.Background(), `SELECT count(*) FROM runs`).Scan(&n)
	if len(seen) != n {
		t.Errorf("pages showed %d runs, want %d", len(seen), n)
	}
}

// TestHandlerServesDashboardAndAPI checks the routes as wired in Handler:
// the dashboard and API sit beside the other routes without collisions.
func TestHandlerServesDashboardAndAPI(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	seedDashboard(t, ds.DB)
	hs := httptest.NewServer(ds.Handler())
	t.Cleanup(hs.Close)
	c := browserlessClient(t)
	for path, want := range map[string]string{
		"/":                   "Pass rate by branch",
		"/runs":               "Make the cache concurrent",
		"/api/runs?limit=1":   `"next_cursor"`,
		"/api/repos":          "octo/app",
		assetURL("style.css"): "prefers-color-scheme",
	} {
		status, body := get(t, c, hs.URL+path)
		if status != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d, want 200 with %q", path, status, want)
		}
	}
}

// TestStaticAssetsRevalidateOutsideTheirVersion: an asset fetched without
// its current version is cached briefly, not for a year, and revalidates
// with its ETag.
func TestStaticAssetsRevalidateOutsideTheirVersion(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	for _, path := range []string{"/static/style.css", "/static/style.css?v=old"} {
		resp, err := http.Get(ds.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != 200 || strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || etag == "" {
			t.Errorf("%s: %d Cache-Control %q ETag %q, want a short cache and an ETag", path, resp.StatusCode, resp.Header.Get("Cache-Control"), etag)
			continue
		}
		req, _ := http.NewRequest("GET", ds.url+path, nil)
		req.Header.Set("If-None-Match", etag)
		again, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		again.Body.Close()
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("%s with If-None-Match: %d, want 304", path, again.StatusCode)
		}
	}
}
