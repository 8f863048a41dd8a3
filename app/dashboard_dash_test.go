package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/store"
)

// dashExtras names the rows seedDashExtras adds.
type dashExtras struct {
	GoRun, GoStep, FirstAttempt int64
	Quiet, Suspect, Costly      int64
}

// goTestJSONLog is a go test -json stream as a Go step writes it: a
// passing test, a failing one with a subtest, a skipped one, the package
// line.
const goTestJSONLog = `{"Action":"start","Package":"example.com/app/store"}
{"Action":"run","Package":"example.com/app/store","Test":"TestOpen"}
{"Action":"output","Package":"example.com/app/store","Test":"TestOpen","Output":"=== RUN   TestOpen\n"}
{"Action":"output","Package":"example.com/app/store","Test":"TestOpen","Output":"--- PASS: TestOpen (0.01s)\n"}
{"Action":"pass","Package":"example.com/app/store","Test":"TestOpen","Elapsed":0.01}
{"Action":"run","Package":"example.com/app/store","Test":"TestWrite"}
{"Action":"output","Package":"example.com/app/store","Test":"TestWrite","Output":"=== RUN   TestWrite\n"}
{"Action":"run","Package":"example.com/app/store","Test":"TestWrite/empty"}
{"Action":"output","Package":"example.com/app/store","Test":"TestWrite/empty","Output":"=== RUN   TestWrite/empty\n"}
{"Action":"output","Package":"example.com/app/store","Test":"TestWrite/empty","Output":"    store_test.go:31: write <empty>: got 0 bytes, want 4\n"}
{"Action":"output","Package":"example.com/app/store","Test":"TestWrite/empty","Output":"--- FAIL: TestWrite/empty (0.00s)\n"}
{"Action":"fail","Package":"example.com/app/store","Test":"TestWrite/empty","Elapsed":0}
{"Action":"output","Package":"example.com/app/store","Test":"TestWrite","Output":"--- FAIL: TestWrite (0.02s)\n"}
{"Action":"fail","Package":"example.com/app/store","Test":"TestWrite","Elapsed":0.02}
{"Action":"run","Package":"example.com/app/store","Test":"TestSlow"}
{"Action":"output","Package":"example.com/app/store","Test":"TestSlow","Output":"=== RUN   TestSlow\n"}
{"Action":"output","Package":"example.com/app/store","Test":"TestSlow","Output":"    store_test.go:50: slow: run with -long\n"}
{"Action":"output","Package":"example.com/app/store","Test":"TestSlow","Output":"--- SKIP: TestSlow (0.00s)\n"}
{"Action":"skip","Package":"example.com/app/store","Test":"TestSlow","Elapsed":0}
{"Action":"output","Package":"example.com/app/store","Output":"FAIL\n"}
{"Action":"output","Package":"example.com/app/store","Output":"FAIL\texample.com/app/store\t0.04s\n"}
{"Action":"fail","Package":"example.com/app/store","Elapsed":0.04}
`

// seedDashExtras adds to seedDashboard what the pages of this change
// show: a run whose Go step failed once and passed on retry (with go test
// -json logs), tests that must and must not be on the flaky page by
// default, and audit entries.
func seedDashExtras(t testing.TB, db *store.DB, s seeded) dashExtras {
	t.Helper()
	ctx := context.Background()
	var x dashExtras
	q := func(dst any, sql string, args ...any) {
		t.Helper()
		var err error
		if dst == nil {
			_, err = db.Exec(ctx, sql, args...)
		} else {
			err = db.QueryRow(ctx, sql, args...).Scan(dst)
		}
		if err != nil {
			t.Fatalf("seed: %v\n%s", err, sql)
		}
	}
	q(&x.GoRun, `INSERT INTO runs (repository_id, sha, ref, branch, pr_number, trigger, state, conclusion, commit_message, author, created_at, started_at, finished_at)
		VALUES ($1, 'abcabcabcabcabcabcabcabcabcabcabcabcabca', 'refs/pull/9/head', 'store-writes', 9, 'pull_request', 'succeeded', 'success',
			'Write the store in one pass', 'hubot', now() - interval '30 minutes', now() - interval '30 minutes', now() - interval '25 minutes') RETURNING id`, s.Repo)
	q(&x.FirstAttempt, `INSERT INTO steps (run_id, position, name, attempt, state, exit_code, command, started_at, finished_at)
		VALUES ($1, 0, 'test', 1, 'failed', 1, 'go test -json ./...', now() - interval '30 minutes', now() - interval '28 minutes') RETURNING id`, x.GoRun)
	q(&x.GoStep, `INSERT INTO steps (run_id, position, name, attempt, state, exit_code, command, started_at, finished_at)
		VALUES ($1, 0, 'test', 2, 'succeeded', 0, 'go test -json ./...', now() - interval '28 minutes', now() - interval '25 minutes') RETURNING id`, x.GoRun)
	passing := strings.NewReplacer(`"Action":"fail"`, `"Action":"pass"`, "--- FAIL", "--- PASS", `"Output":"FAIL\n"`, `"Output":"PASS\n"`, `FAIL\t`, `ok  \t`).Replace(goTestJSONLog)
	for id, log := range map[int64]string{x.FirstAttempt: goTestJSONLog, x.GoStep: passing} {
		if err := store.AppendLogChunk(ctx, db, x.GoRun, store.LogChunk{StepID: id, Seq: 1, FirstLine: 1, Data: []byte(log)}); err != nil {
			t.Fatal(err)
		}
	}
	// A healthy test scores about 0.6 under the prior: not on the page.
	q(&x.Quiet, `INSERT INTO tests (repository_id, package, name, state, score, runs) VALUES ($1, 'example.com/app/store', 'TestQuietlyHealthy', 'healthy', 0.65, 5) RETURNING id`, s.Repo)
	// One intermittent failure in its window: suspect, on the page.
	q(&x.Suspect, `INSERT INTO tests (repository_id, package, name, state, score, runs, episodes) VALUES ($1, 'example.com/app/store', 'TestWrite', 'healthy', 0.4, 6, 1) RETURNING id`, s.Repo)
	// Flaky by the same-commit rule with a score of 0, and the most failures: first.
	q(&x.Costly, `INSERT INTO tests (repository_id, package, name, state, score) VALUES ($1, 'example.com/app/store', 'TestFlushRace', 'flaky', 0) RETURNING id`, s.Repo)
	q(nil, `INSERT INTO test_results (run_id, step_id, test_id, attempt, outcome, duration_ms)
		SELECT r.id, NULL, $2, a, CASE WHEN a = 1 THEN 'fail' ELSE 'pass' END, 1500
		FROM runs r, generate_series(1, 2) a WHERE r.repository_id = $1`, s.Repo, x.Costly)
	q(nil, `INSERT INTO test_results (run_id, step_id, test_id, attempt, outcome, duration_ms) VALUES
		($1, $2, $3, 1, 'fail', 20), ($1, $4, $3, 2, 'pass', 20)`, x.GoRun, x.FirstAttempt, x.Suspect, x.GoStep)
	q(nil, `INSERT INTO test_events (test_id, run_id, from_state, to_state, reason, actor, created_at)
		VALUES ($1, $2, 'healthy', 'flaky', 'failed, then passed on the same commit', 'worker', now() - interval '2 days')`, x.Costly, s.FailedRun)
	for i, e := range []struct {
		actor, action, typ string
		id                 int64
	}{
		{"dashboard:mona", "run.rerun", "run", s.FailedRun},
		{"api:token", "test.quarantine", "test", s.QTest},
		{"worker", "incident.suppressed", "run", s.GreenRun},
		{"dashboard:hubot", "incident.resolved", "incident", s.Incident},
	} {
		if err := store.Audit(ctx, db, e.actor, e.action, e.typ, e.id, map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

// TestFlakyPageDefaultList: by default the page lists flaky, suspect and
// quarantined tests ranked by impact, not the healthy tests that merely
// have a score; rates read as words; one quarantine dialog, not a form per
// row.
func TestFlakyPageDefaultList(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	x := seedDashExtras(t, ds.DB, s)
	c := browserlessClient(t)
	status, body := get(t, c, ds.url+"/flaky")
	if status != 200 {
		t.Fatalf("GET /flaky: %d", status)
	}
	rows := regexp.MustCompile(`<tr id="test-(\d+)">`).FindAllStringSubmatch(body, -1)
	var got []string
	for _, r := range rows {
		got = append(got, r[1])
	}
	want := []string{fmt.Sprint(x.Costly), fmt.Sprint(s.FlakyTest), fmt.Sprint(x.Suspect), fmt.Sprint(s.QTest)}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("default list %v, want %v (TestFlushRace, TestRetryDial, TestWrite suspect, TestSlowServer)", got, want)
	}
	for _, w := range []string{"fails about 1 run in", "suspect", "failed, then passed on retry (flaky in that run)",
		fmt.Sprintf(`href="/tests/%d"`, x.Costly), "8 failures in 8 runs, 12s lost", `href="/flaky?quarantine=`} {
		if !strings.Contains(body, w) {
			t.Errorf("GET /flaky: missing %q", w)
		}
	}
	if strings.Contains(body, "TestQuietlyHealthy") || strings.Contains(body, "<dialog") || strings.Count(body, `name="owner"`) != 0 {
		t.Errorf("GET /flaky: a healthy test, an open dialog or per-row quarantine forms")
	}
	_, body = get(t, c, fmt.Sprintf("%s/flaky?quarantine=%d", ds.url, x.Costly))
	if strings.Count(body, "<dialog open") != 1 || strings.Count(body, `name="owner"`) != 1 ||
		!strings.Contains(body, fmt.Sprintf(`action="/flaky/%d/quarantine"`, x.Costly)) {
		t.Errorf("GET /flaky?quarantine=%d: want one dialog with one quarantine form for the test", x.Costly)
	}
}

// TestTestPage: the page of one test shows its outcomes run by run, its
// rate in words, when it became flaky, the runs and pull requests it
// affected, the time lost to retries, and one quarantine control.
func TestTestPage(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	x := seedDashExtras(t, ds.DB, s)
	c := browserlessClient(t)
	status, body := get(t, c, fmt.Sprintf("%s/tests/%d", ds.url, x.Costly))
	if status != 200 {
		t.Fatalf("GET /tests/%d: %d\n%s", x.Costly, status, body)
	}
	for _, w := range []string{"TestFlushRace", "example.com/app/store", "failed, then passed on retry",
		"failed every run (8 of 8); too few runs to be sure", "8 runs with a failing attempt, 2 pull requests", "8 runs failed, then passed on retry",
		"Time lost to retries</dt><dd>12s", "First seen flaky", "failed, then passed on the same commit",
		fmt.Sprintf(`href="/runs/%d"`, x.GoRun), "PR #9 (store-writes)", `<dd id="owner">unknown: Sentinel has no local copy of octo/app to read CODEOWNERS from`, fmt.Sprintf(`action="/flaky/%d/quarantine"`, x.Costly)} {
		if !strings.Contains(body, w) {
			t.Errorf("test page: missing %q", w)
		}
	}
	if n := strings.Count(body, `class="o-flip"`); n < 8 {
		t.Errorf("test page: %d flaky runs in the strip, want 8", n)
	}
	if status, _ := get(t, c, ds.url+"/tests/999999"); status != http.StatusNotFound {
		t.Errorf("unknown test: %d, want 404", status)
	}
	// The run page links its tests to their pages.
	_, body = get(t, c, fmt.Sprintf("%s/runs/%d", ds.url, s.FailedRun))
	if !strings.Contains(body, fmt.Sprintf(`<a href="/tests/%d"><code>example.com/app/net.TestRetryDial</code></a>`, s.FlakyTest)) {
		t.Errorf("run page: test names do not link to their pages")
	}
}

// TestRunPageGoLogAndRetries: a go test -json step log reads as go test
// prints it, failing tests open and passing ones folded, with the raw JSON
// a click away; the failed first attempt is folded under its step with its
// outcome on the fold.
func TestRunPageGoLogAndRetries(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	x := seedDashExtras(t, ds.DB, s)
	c := browserlessClient(t)
	_, body := get(t, c, fmt.Sprintf("%s/runs/%d", ds.url, x.GoRun))
	for _, w := range []string{
		`<details open><summary class="go-fail">--- FAIL: TestWrite (0.02s)</summary>`,
		`<details><summary class="go-pass">--- PASS: TestOpen (0.01s)</summary>`,
		`<details><summary class="go-skip">--- SKIP: TestSlow (0.00s)</summary>`,
		fmt.Sprintf(`<span id="s%d-L10">    store_test.go:31: write &lt;empty&gt;: got 0 bytes, want 4</span>`, x.FirstAttempt),
		fmt.Sprintf(`<div class="pkg fail" id="s%d-L21">FAIL	example.com/app/store	0.04s</div>`, x.FirstAttempt),
		fmt.Sprintf(`<a href="/runs/%d/steps/%d/log">raw JSON</a>`, x.GoRun, x.GoStep),
		"attempt 2, after 1 earlier attempt",
		fmt.Sprintf(`<details class="retries" id="step-%d">`, x.FirstAttempt),
		"Attempt 1: <span class=\"state s-failed\">✖ failed</span> · exit 1",
	} {
		if !strings.Contains(body, w) {
			t.Errorf("run page: missing %q", w)
		}
	}
	if strings.Contains(body, `{&#34;Action&#34;`) || strings.Contains(body, `{"Action"`) {
		t.Errorf("run page shows raw go test -json lines")
	}
	if n := strings.Count(body, `<details class="step"`); n != 1 {
		t.Errorf("run page: %d step panels, want 1 (the retry folded into it)", n)
	}
	// The API keeps every attempt.
	_, run := apiDo(t, "GET", fmt.Sprintf("%s/api/runs/%d", ds.url, x.GoRun), "")
	if n := len(run["steps"].([]any)); n != 2 {
		t.Errorf("API run steps: %d, want both attempts", n)
	}
}

// TestAuditPageAndAPI: the audit log is readable, filtered by actor, kind
// and object, a page at a time.
func TestAuditPageAndAPI(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	seedDashExtras(t, ds.DB, s)
	ids := func(path string) []string {
		t.Helper()
		status, m := apiDo(t, "GET", ds.url+path, "")
		if status != 200 {
			t.Fatalf("GET %s: %d %v", path, status, m)
		}
		var out []string
		for _, e := range m["entries"].([]any) {
			e := e.(map[string]any)
			out = append(out, e["actor"].(string)+" "+e["action"].(string)+" "+e["object"].(string))
		}
		return out
	}
	for path, want := range map[string]string{
		"/api/audit":                                       fmt.Sprintf("dashboard:hubot incident.resolved incident:%d|worker incident.suppressed run:%d|api:token test.quarantine test:%d|dashboard:mona run.rerun run:%d", s.Incident, s.GreenRun, s.QTest, s.FailedRun),
		"/api/audit?actor=dashboard":                       fmt.Sprintf("dashboard:hubot incident.resolved incident:%d|dashboard:mona run.rerun run:%d", s.Incident, s.FailedRun),
		"/api/audit?actor=api:token":                       fmt.Sprintf("api:token test.quarantine test:%d", s.QTest),
		"/api/audit?kind=incident":                         fmt.Sprintf("dashboard:hubot incident.resolved incident:%d|worker incident.suppressed run:%d", s.Incident, s.GreenRun),
		"/api/audit?kind=run.rerun":                        fmt.Sprintf("dashboard:mona run.rerun run:%d", s.FailedRun),
		"/api/audit?object=run":                            fmt.Sprintf("worker incident.suppressed run:%d|dashboard:mona run.rerun run:%d", s.GreenRun, s.FailedRun),
		"/api/audit?object=run:" + fmt.Sprint(s.FailedRun): fmt.Sprintf("dashboard:mona run.rerun run:%d", s.FailedRun),
	} {
		if got := strings.Join(ids(path), "|"); got != want {
			t.Errorf("GET %s:\n got %s\nwant %s", path, got, want)
		}
	}
	// Page by page through the cursor.
	var all []string
	u := "/api/audit?limit=3"
	for pages := 0; u != ""; pages++ {
		_, m := apiDo(t, "GET", ds.url+u, "")
		b, _ := json.Marshal(m["entries"])
		var es []struct{ Action string }
		json.Unmarshal(b, &es)
		for _, e := range es {
			all = append(all, e.Action)
		}
		u = ""
		if c, ok := m["next_cursor"].(string); ok && pages < 5 {
			u = "/api/audit?limit=3&cursor=" + c
		}
	}
	if len(all) != 4 {
		t.Errorf("through the cursor: %v, want 4 entries", all)
	}
	c := browserlessClient(t)
	_, body := get(t, c, ds.url+"/audit?actor=dashboard&limit=1")
	for _, w := range []string{"dashboard:hubot", "incident.resolved", fmt.Sprintf(`<a href="/incidents/%d">incident:%d</a>`, s.Incident, s.Incident), "n=3", `rel="next"`} {
		if !strings.Contains(body, w) {
			t.Errorf("audit page: missing %q", w)
		}
	}
	if strings.Contains(body, "dashboard:mona") {
		t.Errorf("audit page: limit=1 shows more than one entry")
	}
}

// TestIncidentAndOverviewWording: an incident's impact reads as sentences
// with its counts named for what they count, the timeline does not say
// "opened opened:", the list names the issue as owner/repo#N; the overview
// shows what to look at and no chart for too few days.
func TestIncidentAndOverviewWording(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	seedDashExtras(t, ds.DB, s)
	if _, err := ds.DB.Exec(context.Background(), `UPDATE incidents SET occurrences = 2,
		impact = '{"runs": 3, "branches": 2, "pull_requests": 1, "tests": 1, "first_seen": "2026-12-01T10:00:00Z", "last_seen": "2026-12-01T22:20:00Z", "duration_seconds": 44400}'
		WHERE id = $1`, s.Incident); err != nil {
		t.Fatal(err)
	}
	if _, err := ds.DB.Exec(context.Background(), `INSERT INTO incident_events (incident_id, kind, message) VALUES ($1, 'opened', 'opened: TestEvict keeps failing')`, s.Incident); err != nil {
		t.Fatal(err)
	}
	c := browserlessClient(t)
	_, body := get(t, c, fmt.Sprintf("%s/incidents/%d", ds.url, s.Incident))
	for _, w := range []string{"It failed 3 runs on 2 branches (1 pull request).", "Since the incident opened, 2 runs on the default branch showed it.",
		"1 test failed with it.", "First seen 2026-12-01 10:00 UTC, last seen 2026-12-01 22:20 UTC (12h20m apart).",
		"<strong>opened</strong> TestEvict keeps failing", "octo/app#12"} {
		if !strings.Contains(body, w) {
			t.Errorf("incident page: missing %q", w)
		}
	}
	for _, bad := range []string{"opened opened", "duration seconds", "T10:00:00Z"} {
		if strings.Contains(body, bad) {
			t.Errorf("incident page: shows %q", bad)
		}
	}
	if _, err := ds.DB.Exec(context.Background(), `UPDATE incidents SET occurrences = 0, impact = '{"runs_affected": 3, "branches": 1}' WHERE id = $1`, s.Incident); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, c, fmt.Sprintf("%s/incidents/%d", ds.url, s.Incident))
	if !strings.Contains(body, "It failed on 1 branch.") || !strings.Contains(body, "runs affected: 3.") {
		t.Errorf("incident page with other impact keys: branches or the unknown key missing")
	}
	_, body = get(t, c, ds.url+"/incidents")
	if !strings.Contains(body, `<a href="https://github.com/octo/app/issues/12">octo/app#12</a>`) {
		t.Errorf("incident list: issue not shown as octo/app#12")
	}
	_, body = get(t, c, ds.url+"/")
	for _, w := range []string{"Failing branches", "Recent runs", "Write the store in one pass", "Open incidents", "TestEvict keeps failing on main",
		"Newly flaky tests", "TestFlushRace"} {
		if !strings.Contains(body, w) {
			t.Errorf("overview: missing %q", w)
		}
	}
	// One day of finished runs: a sentence, not a chart.
	one := newDashServer(t, Options{})
	if _, err := one.DB.Exec(context.Background(), `WITH r AS (INSERT INTO repositories (full_name, clone_url) VALUES ('o/r', '') RETURNING id)
		INSERT INTO runs (repository_id, sha, branch, trigger, state, created_at, started_at, finished_at)
		SELECT id, 'a', 'main', 'push', 'succeeded', now() - interval '1 minute', now() - interval '1 minute', now() FROM r`); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, c, one.url+"/")
	if strings.Contains(body, `<svg class="chart"`) || !strings.Contains(body, "too few for a chart") {
		t.Errorf("overview with one day of runs draws a chart")
	}
}

// TestTestPageOwnerFromCodeowners: with the repository on this server, the
// test page names the owners CODEOWNERS gives the test's package at the
// commit of its latest run, not at the branch's tip.
func TestTestPageOwnerFromCodeowners(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	x := seedDashExtras(t, ds.DB, s)
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	os.MkdirAll(filepath.Join(dir, ".github"), 0o755)
	os.WriteFile(filepath.Join(dir, ".github", "CODEOWNERS"), []byte("*  @octo/everyone\n/store/ @octo/storage @mona\n"), 0o644)
	git("add", ".")
	git("commit", "-q", "-m", "owners")
	sha := git("rev-parse", "HEAD")
	os.WriteFile(filepath.Join(dir, ".github", "CODEOWNERS"), []byte("* @later\n"), 0o644)
	git("commit", "-q", "-am", "owners changed after the run")
	if _, err := ds.DB.Exec(context.Background(), `UPDATE runs SET clone_url = $2, sha = $3, go_modules = '{"example.com/app": ""}' WHERE id = $1`,
		x.GoRun, "file://"+dir, sha); err != nil {
		t.Fatal(err)
	}
	c := browserlessClient(t)
	_, body := get(t, c, fmt.Sprintf("%s/tests/%d", ds.url, x.Costly))
	if want := `<dd id="owner">@octo/storage @mona <small>(.github/CODEOWNERS at ` + sha[:12]; !strings.Contains(body, want) {
		i := strings.Index(body, `id="owner"`)
		t.Errorf("owner: %q, want %q", body[i:min(len(body), i+160)], want)
	}
}
