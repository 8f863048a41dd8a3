package app

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/triage"
)

// sparkRe finds the row-sized trends of a page.
var sparkRe = regexp.MustCompile(`(?s)<svg class="spark".*?</svg>`)

// TestClustersListSelectTitlesTrend: the clusters list filters by a
// category chosen from the list triage knows (an unknown one is a 400, as
// in the API), names each cluster by its representative failure rather than
// its normalised message, and draws a 14-day trend per cluster.
func TestClustersListSelectTitlesTrend(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	ctx := context.Background()
	var net int64
	if err := ds.DB.QueryRow(ctx, `INSERT INTO clusters (repository_id, fingerprint, category, title, occurrences, run_count, first_seen_at, last_seen_at)
		VALUES ($1, 'n1n2n3', 'network', 'dial tcp <ip>:<n>: connect: connection refused', 3, 3, now() - interval '5 days', now() - interval '2 hours') RETURNING id`, s.Repo).Scan(&net); err != nil {
		t.Fatal(err)
	}
	// Two occurrences today, one three days ago, one outside the window.
	if _, err := ds.DB.Exec(ctx, `INSERT INTO failures (run_id, cluster_id, category, title, message, fingerprint, created_at)
		SELECT $1, $2, 'network', 'Network: connection refused', 'dial tcp 10.0.0.7:5432: connect: connection refused', 'n1n2n3', at
		FROM unnest(ARRAY[now(), now() - interval '1 minute', now() - interval '3 days', now() - interval '20 days']) AS at`, s.FailedRun, net); err != nil {
		t.Fatal(err)
	}
	if _, err := ds.DB.Exec(ctx, `UPDATE clusters SET representative_id = (SELECT max(id) FROM failures WHERE cluster_id = $1) WHERE id = $1`, net); err != nil {
		t.Fatal(err)
	}
	c := browserlessClient(t)
	status, body := get(t, c, ds.url+"/clusters")
	if status != 200 {
		t.Fatalf("GET /clusters: %d\n%s", status, body)
	}
	if strings.Contains(body, `name="category" value=`) {
		t.Error("category is still a free-text box")
	}
	for _, cat := range triage.Categories {
		if !strings.Contains(body, fmt.Sprintf(`<option value="%s">`, cat)) {
			t.Errorf("category select: no option %q", cat)
		}
	}
	for _, w := range []string{"Network: connection refused", "dial tcp 10.0.0.7:5432: connect: connection refused", "TestEvict failed"} {
		if !strings.Contains(body, w) {
			t.Errorf("clusters list: missing %q", w)
		}
	}
	if strings.Contains(body, "&lt;ip&gt;") {
		t.Error("clusters list shows normalised text")
	}
	sparks := sparkRe.FindAllString(body, -1)
	if len(sparks) != 2 {
		t.Fatalf("clusters list: %d sparklines, want one per cluster (2)", len(sparks))
	}
	for _, sp := range sparks {
		if n := strings.Count(sp, "<circle"); n != clusterSparkDays {
			t.Errorf("sparkline with %d points, want %d: %s", n, clusterSparkDays, sp)
		}
	}
	if !strings.Contains(body, "3 occurrences in the last 14 days") {
		t.Errorf("the network cluster's trend does not count its 3 recent occurrences:\n%s", strings.Join(sparks, "\n"))
	}
	// The filter selects its option, and an unknown value is refused.
	_, body = get(t, c, ds.url+"/clusters?category=network")
	if !strings.Contains(body, `<option value="network" selected>`) || strings.Contains(body, "TestEvict failed") {
		t.Error("category filter: option not selected or other categories listed")
	}
	status, body = get(t, c, ds.url+"/clusters?category=bogus")
	if status != http.StatusBadRequest || !strings.Contains(body, `unknown category &#34;bogus&#34;`) {
		t.Errorf("unknown category: %d, want 400 naming it\n%s", status, body)
	}
	// The cluster page carries the same headline, a rename still wins.
	_, body = get(t, c, fmt.Sprintf("%s/clusters/%d", ds.url, net))
	if !strings.Contains(body, "<h1>Network: connection refused</h1>") {
		t.Error("cluster page: headline is not the representative failure's title")
	}
	if _, err := ds.DB.Exec(ctx, `UPDATE clusters SET custom_title = 'Database refuses connections' WHERE id = $1`, net); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, c, ds.url+"/clusters")
	if !strings.Contains(body, "Database refuses connections") {
		t.Error("clusters list: a person's name for the cluster is not shown")
	}
}

// TestRunsListFlakyAuthorDuration: a run in which a test failed and then
// passed on a retry carries a flaky badge naming the test, whatever the
// run's state (one that passed at once does not); each row names its author and draws its duration against the
// longest run on the page; long cells end in an ellipsis with the full text
// in their title.
func TestRunsListFlakyAuthorDuration(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	x := seedDashExtras(t, ds.DB, s)
	ctx := context.Background()
	// A clean success: no retried step, no failing result.
	var clean int64
	if err := ds.DB.QueryRow(ctx, `INSERT INTO runs (repository_id, sha, ref, branch, trigger, state, conclusion, commit_message, author, created_at, started_at, finished_at)
		VALUES ($1, 'dddddddddddddddddddddddddddddddddddddddd', 'refs/heads/main', 'main', 'push', 'succeeded', 'success', 'Clean', 'octocat',
			now() - interval '10 minutes', now() - interval '10 minutes', now() - interval '9 minutes') RETURNING id`, s.Lib).Scan(&clean); err != nil {
		t.Fatal(err)
	}
	c := browserlessClient(t)
	status, body := get(t, c, ds.url+"/runs?limit=500")
	if status != 200 {
		t.Fatalf("GET /runs: %d\n%s", status, body)
	}
	row := func(id int64) string {
		t.Helper()
		m := regexp.MustCompile(fmt.Sprintf(`(?s)<tr>\s*<td><a href="/runs/%d">.*?</tr>`, id)).FindString(body)
		if m == "" {
			t.Fatalf("runs list: no row for run %d", id)
		}
		return m
	}
	goRow, cleanRow := row(x.GoRun), row(clean)
	if !strings.Contains(goRow, `class="badge-flaky"`) {
		t.Errorf("run %d passed on retry, no flaky badge:\n%s", x.GoRun, goRow)
	}
	if strings.Contains(cleanRow, `badge-flaky`) {
		t.Errorf("run %d passed at once, yet marked flaky", clean)
	}
	// The failed run's TestRetryDial and TestFlushRace failed, then passed
	// on their retries; its TestEvict failed twice.
	if w := `title="Failed, then passed on a retry or re-run: TestFlushRace, TestRetryDial">flaky`; !strings.Contains(row(s.FailedRun), w) {
		t.Errorf("failed run %d with tests that passed on retry: no badge %s:\n%s", s.FailedRun, w, row(s.FailedRun))
	}
	for _, w := range []string{`<td title="hubot">hubot</td>`, `title="Write the store in one pass"`, `class="durbar" style="width: `} {
		if !strings.Contains(goRow, w) {
			t.Errorf("run row: missing %q:\n%s", w, goRow)
		}
	}
	if !strings.Contains(cleanRow, `<td title="octocat">octocat</td>`) {
		t.Error("run row: no author")
	}
	// The longest runs on the page (5 minutes) fill their bar; a 1-minute run fills a fifth.
	if !strings.Contains(goRow, `style="width: 100%"`) || !strings.Contains(cleanRow, `style="width: 20%"`) {
		t.Errorf("duration bars not relative to the longest run:\n%s\n%s", goRow, cleanRow)
	}
}

// TestTestPageWeeklyTrend: the test page draws the failure rate per week
// over the last 8 weeks, a point for each week with runs (none for the
// others), and nothing from before the window.
func TestTestPageWeeklyTrend(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	ctx := context.Background()
	var id int64
	if err := ds.DB.QueryRow(ctx, `INSERT INTO tests (repository_id, package, name, state) VALUES ($1, 'example.com/app/trend', 'TestTrend', 'flaky') RETURNING id`, s.Lib).Scan(&id); err != nil {
		t.Fatal(err)
	}
	// Days ago and outcome: this week 1 of 2 failed, two weeks ago 1 of 1,
	// five weeks ago 0 of 1; ten weeks ago is outside the window. Results
	// are recorded a minute into their run.
	if _, err := ds.DB.Exec(ctx, `WITH r AS (
			INSERT INTO runs (repository_id, sha, ref, branch, trigger, state, commit_message, created_at)
			SELECT $1, md5(d::text) || 'abcdefgh', 'refs/heads/main', 'main', 'push', 'succeeded', o, now() - make_interval(days => d)
			FROM unnest(ARRAY[1, 2, 15, 40, 70], ARRAY['fail', 'pass', 'fail', 'pass', 'fail']) AS x(d, o) RETURNING id, commit_message, created_at)
		INSERT INTO test_results (run_id, test_id, outcome, created_at) SELECT id, $2, commit_message, created_at + interval '1 minute' FROM r`, s.Lib, id); err != nil {
		t.Fatal(err)
	}
	c := browserlessClient(t)
	status, body := get(t, c, fmt.Sprintf("%s/tests/%d", ds.url, id))
	if status != 200 {
		t.Fatalf("GET /tests/%d: %d\n%s", id, status, body)
	}
	sparks := sparkRe.FindAllString(body, -1)
	if len(sparks) != 1 {
		t.Fatalf("test page: %d sparklines, want 1", len(sparks))
	}
	sp := sparks[0]
	if n := strings.Count(sp, "<circle"); n != 3 {
		t.Errorf("trend: %d points, want 3 (the weeks with runs):\n%s", n, sp)
	}
	for _, w := range []string{"Failure rate per week, last 8 weeks", "failed 1 of 2 runs (50%)", "failed 1 of 1 runs (100%)", "failed 0 of 1 runs (0%)"} {
		if !strings.Contains(sp, w) {
			t.Errorf("trend: missing %q:\n%s", w, sp)
		}
	}
	// Weeks without runs have no dot; the line passes over them.
	if n := strings.Count(sp, "<polyline"); n != 1 {
		t.Errorf("trend: no line:\n%s", sp)
	}
	if !strings.Contains(body, "50% of runs failed</small>") {
		t.Error("trend: the newest week's rate is not said beside it")
	}
	if n := strings.Count(body, "no runs</td>"); n != 5 {
		t.Errorf("trend table: %d weeks without runs, want 5", n)
	}
}

// TestRepositoryLinksToSecretsAndCaches: where the dashboard shows a
// repository (run page, cluster page, overview's pass rates), it links the
// repository's secrets and caches pages, and those two link each other.
func TestRepositoryLinksToSecretsAndCaches(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	c := browserlessClient(t)
	links := []string{`href="/repos/octo/app/secrets"`, `href="/repos/octo/app/caches"`}
	for _, path := range []string{fmt.Sprintf("/runs/%d", s.FailedRun), fmt.Sprintf("/clusters/%d", s.Cluster), "/"} {
		status, body := get(t, c, ds.url+path)
		if status != 200 {
			t.Fatalf("GET %s: %d", path, status)
		}
		for _, l := range links {
			if !strings.Contains(body, l) {
				t.Errorf("%s: no link %s", path, l)
			}
		}
	}
	for path, want := range map[string]string{"/repos/octo/app/secrets": links[1], "/repos/octo/app/caches": links[0]} {
		status, body := get(t, c, ds.url+path)
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d, link %s missing", path, status, want)
		}
	}
}
