package app

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

func (ds *dashServer) count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := ds.DB.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func (ds *dashServer) str(t testing.TB, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := ds.DB.QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func TestFormActions(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	c := browserlessClient(t)
	tok := csrfFrom(t, c, fmt.Sprintf("%s/runs/%d", ds.url, s.FailedRun))
	form := func(extra ...string) url.Values {
		v := url.Values{"csrf": {tok}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	tests := []struct {
		name, path string
		form       url.Values
		wantStatus int
		check      func(t *testing.T)
	}{
		{"rerun", fmt.Sprintf("/runs/%d/rerun", s.FailedRun), form(), http.StatusSeeOther, func(t *testing.T) {
			if n := ds.count(t, `SELECT count(*) FROM runs WHERE sha = 'f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed' AND attempt = 2 AND state = 'queued' AND job_id IS NOT NULL`); n != 1 {
				t.Errorf("queued attempts 2: %d", n)
			}
		}},
		{"approve", fmt.Sprintf("/runs/%d/approve", s.ForkRun), form(), http.StatusSeeOther, func(t *testing.T) {
			if st := ds.str(t, `SELECT state FROM runs WHERE id = $1`, s.ForkRun); st != "queued" {
				t.Errorf("approved run is %s", st)
			}
			if n := ds.count(t, `SELECT count(*) FROM river_job WHERE kind = 'run.execute' AND (args->>'run_id')::bigint = $1`, s.ForkRun); n != 1 {
				t.Errorf("run.execute jobs: %d", n)
			}
		}},
		{"approve twice", fmt.Sprintf("/runs/%d/approve", s.ForkRun), form(), http.StatusConflict, nil},
		{"cancel", fmt.Sprintf("/runs/%d/cancel", s.RunningRun), form(), http.StatusSeeOther, func(t *testing.T) {
			if st := ds.str(t, `SELECT state FROM runs WHERE id = $1`, s.RunningRun); st != "cancelled" {
				t.Errorf("cancelled run is %s", st)
			}
			if st := ds.str(t, `SELECT state FROM steps WHERE id = $1`, s.RunningStep); st != "cancelled" {
				t.Errorf("its running step is %s", st)
			}
			if n := ds.count(t, `SELECT count(*) FROM river_job WHERE kind = 'report.check' AND args->>'phase' = 'completed'`); n != 1 {
				t.Errorf("completed check reports: %d", n)
			}
		}},
		{"cancel finished", fmt.Sprintf("/runs/%d/cancel", s.GreenRun), form(), http.StatusConflict, nil},
		{"quarantine needs owner", fmt.Sprintf("/flaky/%d/quarantine", s.FlakyTest), form(), http.StatusBadRequest, nil},
		{"quarantine", fmt.Sprintf("/flaky/%d/quarantine", s.FlakyTest), form("owner", "octocat", "days", "3", "reason", "races"), http.StatusSeeOther, func(t *testing.T) {
			if st := ds.str(t, `SELECT state || ' ' || quarantine_owner || ' ' || quarantine_source FROM tests WHERE id = $1`, s.FlakyTest); st != "quarantined octocat dashboard" {
				t.Errorf("test: %s", st)
			}
		}},
		{"unquarantine", fmt.Sprintf("/flaky/%d/unquarantine", s.QTest), form(), http.StatusSeeOther, func(t *testing.T) {
			if st := ds.str(t, `SELECT state FROM tests WHERE id = $1`, s.QTest); st != "flaky" {
				t.Errorf("released test is %s", st)
			}
		}},
		{"acknowledge", fmt.Sprintf("/incidents/%d/acknowledge", s.Incident), form(), http.StatusSeeOther, func(t *testing.T) {
			if st := ds.str(t, `SELECT status FROM incidents WHERE id = $1`, s.Incident); st != "mitigating" {
				t.Errorf("incident is %s", st)
			}
		}},
		{"resolve", fmt.Sprintf("/incidents/%d/resolve", s.Incident), form("note", "reverted f00dfee"), http.StatusSeeOther, func(t *testing.T) {
			if st := ds.str(t, `SELECT status || ': ' || resolution FROM incidents WHERE id = $1`, s.Incident); !strings.HasPrefix(st, "resolved: resolved by dashboard:anonymous: reverted f00dfee") {
				t.Errorf("incident: %s", st)
			}
			if n := ds.count(t, `SELECT count(*) FROM river_job WHERE kind = 'incident.sync'`); n < 1 {
				t.Errorf("incident.sync jobs: %d", n)
			}
		}},
		{"resolve again", fmt.Sprintf("/incidents/%d/resolve", s.Incident), form(), http.StatusConflict, nil},
		{"reopen", fmt.Sprintf("/incidents/%d/reopen", s.Incident), form(), http.StatusSeeOther, nil},
		{"unknown incident action", fmt.Sprintf("/incidents/%d/explode", s.Incident), form(), http.StatusNotFound, nil},
		{"retry dead job", fmt.Sprintf("/dead/%d/retry", s.DeadJob), form(), http.StatusSeeOther, func(t *testing.T) {
			if st := ds.str(t, `SELECT state::text FROM river_job WHERE id = $1`, s.DeadJob); st != "available" {
				t.Errorf("retried job is %s", st)
			}
		}},
		{"no csrf", fmt.Sprintf("/runs/%d/rerun", s.FailedRun), url.Values{}, http.StatusForbidden, nil},
		{"wrong csrf", fmt.Sprintf("/runs/%d/rerun", s.FailedRun), url.Values{"csrf": {strings.Repeat("0", 64)}}, http.StatusForbidden, nil},
	}
	for _, tc := range tests {
		status, _, body := postForm(t, c, ds.url+tc.path, tc.form)
		if status != tc.wantStatus {
			t.Errorf("%s: status %d, want %d\n%s", tc.name, status, tc.wantStatus, body)
			continue
		}
		if tc.check != nil {
			t.Run(tc.name, tc.check)
		}
	}
	for _, action := range []string{"run.rerun", "run.approve", "run.cancel", "test.quarantine", "test.release", "job.retry", "incident.resolved", "incident.reopened"} {
		if n := ds.count(t, `SELECT count(*) FROM audit_log WHERE action = $1 AND actor LIKE 'dashboard:%'`, action); n != 1 {
			t.Errorf("audit entries for %s: %d, want 1", action, n)
		}
	}
}

func TestActionsNeedAdminTokenWhenSet(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{AdminToken: "s3cret-token"})
	s := seedDashboard(t, ds.DB)
	c := browserlessClient(t)
	tok := csrfFrom(t, c, ds.url+"/login")
	rerun := fmt.Sprintf("%s/runs/%d/rerun", ds.url, s.FailedRun)

	status, loc, _ := postForm(t, c, rerun, url.Values{"csrf": {tok}})
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
		t.Fatalf("without login: %d to %q, want a redirect to /login", status, loc)
	}
	if status, _, _ := postForm(t, c, ds.url+"/login", url.Values{"csrf": {tok}, "token": {"wrong"}}); status != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", status)
	}
	if status, _, _ := postForm(t, c, ds.url+"/login", url.Values{"csrf": {tok}, "token": {"s3cret-token"}, "next": {"https://evil.example/"}}); status != http.StatusSeeOther {
		t.Fatalf("login: %d", status)
	}
	if status, loc, _ := postForm(t, c, rerun, url.Values{"csrf": {tok}}); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/runs/") {
		t.Fatalf("after login: %d to %q", status, loc)
	}
	if n := ds.count(t, `SELECT count(*) FROM audit_log WHERE action = 'run.rerun' AND actor = 'dashboard:admin'`); n != 1 {
		t.Errorf("audit by dashboard:admin: %d", n)
	}
	// The API takes the token as a Bearer header, and refuses a wrong one.
	for _, tc := range []struct {
		auth string
		want int
	}{{"", http.StatusUnauthorized}, {"Bearer nope", http.StatusUnauthorized}, {"Bearer s3cret-token", http.StatusCreated}} {
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/runs/%d/rerun", ds.url, s.FailedRun), nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("API rerun with %q: %d, want %d", tc.auth, resp.StatusCode, tc.want)
		}
	}
}

func TestLiveTailStreamsNewLines(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The page showed line 1 ("starting"); line 2 is still being written.
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/runs/%d/steps/%d/live?line=2", ds.url, s.RunningRun, s.RunningStep), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var ev strings.Builder
		for sc.Scan() {
			if sc.Text() == "" {
				events <- ev.String()
				ev.Reset()
				continue
			}
			ev.WriteString(sc.Text() + "\n")
		}
		close(events)
	}()
	if err := store.AppendLogChunk(ctx, ds.DB, s.RunningRun, store.LogChunk{StepID: s.RunningStep, Seq: 2, FirstLine: 2, Data: []byte(" and \x1b[31mdone\x1b[0m\nlast")}); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`<div class="l" id="s%d-L2">`, s.RunningStep)
	next := func() string {
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatal("stream ended early")
				}
				if !strings.HasPrefix(ev, ":") {
					return ev
				}
			case <-ctx.Done():
				t.Fatal("no event before the deadline")
			}
		}
	}
	ev := next()
	if !strings.Contains(ev, "event: lines") || !strings.Contains(ev, want) || !strings.Contains(ev, `still going and <span class="af1">done</span>`) {
		t.Fatalf("first event:\n%s", ev)
	}
	if strings.Contains(ev, "starting") {
		t.Errorf("line 1 was sent again:\n%s", ev)
	}
	code := 0
	if err := store.FinishStep(ctx, ds.DB, s.RunningStep, store.StepEnd{State: triage.StepSucceeded, ExitCode: &code}); err != nil {
		t.Fatal(err)
	}
	ev = next()
	if !strings.Contains(ev, fmt.Sprintf(`id="s%d-L3"`, s.RunningStep)) || !strings.Contains(ev, "last") {
		t.Errorf("the unterminated last line was not sent at the end:\n%s", ev)
	}
	if ev = next(); !strings.Contains(ev, "event: end") || !strings.Contains(ev, "succeeded") {
		t.Errorf("end event:\n%s", ev)
	}
}

// TestLogoutRevokesTheSession: a session cookie copied before logging out
// no longer acts afterwards.
func TestLogoutRevokesTheSession(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{AdminToken: "s3cret-token"})
	s := seedDashboard(t, ds.DB)
	c := browserlessClient(t)
	tok := csrfFrom(t, c, ds.url+"/login")
	if status, _, _ := postForm(t, c, ds.url+"/login", url.Values{"csrf": {tok}, "token": {"s3cret-token"}}); status != http.StatusSeeOther {
		t.Fatalf("login: %d", status)
	}
	base, _ := url.Parse(ds.url)
	var stolen *http.Cookie
	for _, ck := range c.Jar.Cookies(base) {
		if ck.Name == "sentinel_session" {
			stolen = ck
		}
	}
	if stolen == nil {
		t.Fatal("no session cookie after login")
	}
	if status, _, _ := postForm(t, c, ds.url+"/logout", url.Values{"csrf": {tok}}); status != http.StatusSeeOther {
		t.Fatalf("logout: %d", status)
	}
	c.Jar.SetCookies(base, []*http.Cookie{{Name: "sentinel_session", Value: stolen.Value, Path: "/"}})
	rerun := fmt.Sprintf("%s/runs/%d/rerun", ds.url, s.FailedRun)
	if status, loc, _ := postForm(t, c, rerun, url.Values{"csrf": {tok}}); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
		t.Errorf("with the cookie of a logged-out session: %d to %q, want a redirect to /login", status, loc)
	}
}
