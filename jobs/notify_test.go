package jobs

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
)

// faultyReceiver is a notification endpoint that fails a share of requests
// at random (seeded): half of the failures before reading the event, half
// after accepting it (the answer is lost), which is what makes the event id
// header necessary. It dedupes on X-Sentinel-Event-Id.
type faultyReceiver struct {
	t      *testing.T
	secret string

	mu       sync.Mutex
	rnd      *rand.Rand
	failRate float64
	accepted map[string]map[string]NotifyEvent // path → event id → event
	repeats  int                               // deliveries of an id already accepted
	requests int
	perPath  map[string]int
	badSigs  []string
}

func (f *faultyReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	f.perPath[r.URL.Path]++
	fail := f.rnd.Float64() < f.failRate
	afterAccept := f.rnd.IntN(2) == 0
	// Each kind of fault at least once per endpoint, whatever the draw:
	// the first request fails before, the second after accepting.
	switch f.perPath[r.URL.Path] {
	case 1:
		fail, afterAccept = true, false
	case 2:
		fail, afterAccept = true, true
	}
	if fail && !afterAccept {
		http.Error(w, "injected fault", http.StatusInternalServerError)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sig := r.Header.Get(HeaderNotifySignature)
	if !hmac.Equal([]byte(sig), []byte(SignNotify(f.secret, body))) {
		f.badSigs = append(f.badSigs, sig)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev NotifyEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != r.Header.Get(HeaderNotifyEventID) ||
		ev.Event != r.Header.Get(HeaderNotifyEvent) || ev.Schema != NotifySchema {
		f.t.Errorf("event %s (header %s): %v", body, r.Header.Get(HeaderNotifyEventID), err)
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	got := f.accepted[r.URL.Path]
	if got == nil {
		got = map[string]NotifyEvent{}
		f.accepted[r.URL.Path] = got
	}
	if _, dup := got[ev.ID]; dup {
		f.repeats++
	} else {
		got[ev.ID] = ev
	}
	if fail {
		http.Error(w, "injected fault after accepting", http.StatusBadGateway)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// TestNotificationsDeliveredOnceUnderFaults drives real transitions (a test
// turning flaky, tests turning broken, an incident opened, resolved,
// reopened and resolved again) and delivers their notifications through
// River to two endpoints that fail 30% of requests: each endpoint ends with
// every recorded transition exactly once, each signature verifies, and
// nothing is queued twice.
func TestNotificationsDeliveredOnceUnderFaults(t *testing.T) {
	s := newScenario(t)
	a := s.actions()
	s.flakyRun("c1")
	for _, sha := range []string{"b1", "b2", "b3"} {
		s.run(sha, "main", 1, suite(5, func(i int) bool { return i >= 3 }))
	}
	failed, _ := s.run("b4", "main", 1, suite(5, func(i int) bool { return i >= 3 }))
	run, err := store.GetRun(s.ctx, s.db, failed)
	if err != nil {
		t.Fatal(err)
	}
	var incident int64
	if err := s.db.InTx(s.ctx, func(tx pgx.Tx) error {
		incident, err = a.OpenIncidentTx(s.ctx, tx, run, "octocat")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, act := range []store.IncidentAction{store.IncidentResolve, store.IncidentReopen, store.IncidentResolve} {
		if _, err := a.TransitionIncident(s.ctx, incident, act, "", "api:token"); err != nil {
			t.Fatalf("%s: %v", act, err)
		}
	}

	// What was recorded is what must arrive.
	want := map[string]string{}
	rows, err := s.db.Query(s.ctx, `SELECT 'incident-event-' || id, 'incident.' || kind FROM incident_events WHERE kind IN ('opened', 'resolved', 'reopened')
		UNION ALL SELECT 'test-' || test_id || '-run-' || run_id || '-' || to_state, 'test.' || to_state FROM test_events WHERE to_state IN ('flaky', 'broken')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, ev string
		if err := rows.Scan(&id, &ev); err != nil {
			t.Fatal(err)
		}
		want[id] = ev
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, ev := range want {
		kinds[ev]++
	}
	if kinds[NotifyTestFlaky] < 1 || kinds[NotifyTestBroken] < 1 || kinds[NotifyIncidentOpened] < 1 ||
		kinds[NotifyIncidentResolved] < 2 || kinds[NotifyIncidentReopened] < 1 {
		t.Fatalf("transitions recorded: %v", kinds)
	}
	if n := s.count(`SELECT count(*) FROM river_job WHERE kind = 'notify.event'`); n != len(want) {
		t.Errorf("notify.event jobs: %d, want one per transition (%d)", n, len(want))
	}
	// A second sync of the incident, and a second analysis of a run, queue nothing more.
	if err := s.db.InTx(s.ctx, func(tx pgx.Tx) error { return EnqueueIncidentSync(s.ctx, s.rc, tx, incident) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Analyze(s.ctx, s.rc, failed); err != nil {
		t.Fatal(err)
	}
	if n := s.count(`SELECT count(*) FROM river_job WHERE kind = 'notify.event'`); n != len(want) {
		t.Errorf("notify.event jobs after a re-sync and a re-analysis: %d, want %d", n, len(want))
	}

	const secret = "It's a Secret to Everybody"
	recv := &faultyReceiver{t: t, secret: secret, rnd: rand.New(rand.NewPCG(22, 30)), failRate: 0.3,
		accepted: map[string]map[string]NotifyEvent{}, perPath: map[string]int{}}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	urls := []string{srv.URL + "/ops", srv.URL + "/audit"}

	workers := river.NewWorkers()
	river.AddWorker(workers, &NotifyEventWorker{DB: s.db, URLs: urls, PublicURL: "https://sentinel.example"})
	river.AddWorker(workers, &NotifySendWorker{Secret: secret, RetryBase: 10 * time.Millisecond})
	river.AddWorker(workers, river.WorkFunc(func(context.Context, *river.Job[TriageAnalyzeArgs]) error { return nil }))
	river.AddWorker(workers, river.WorkFunc(func(context.Context, *river.Job[ReportCheckArgs]) error { return nil }))
	river.AddWorker(workers, river.WorkFunc(func(context.Context, *river.Job[IncidentSyncArgs]) error { return nil }))
	client, err := NewClient(s.db, workers, ClientConfig{GitHubWorkers: 4}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer client.Stop(context.Background())

	deadline := time.Now().Add(2 * time.Minute)
	for {
		sends := s.count(`SELECT count(*) FROM river_job WHERE kind = 'notify.send' AND state = 'completed'`)
		if sends == len(want)*len(urls) && s.count(`SELECT count(*) FROM river_job WHERE kind LIKE 'notify.%' AND state <> 'completed'`) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2 minutes %d of %d deliveries completed; jobs: %s", sends, len(want)*len(urls),
				s.str(`SELECT string_agg(kind || ' ' || state || ' ' || attempt, ', ') FROM river_job WHERE kind LIKE 'notify.%' AND state <> 'completed'`))
		}
		time.Sleep(100 * time.Millisecond)
	}

	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.badSigs) > 0 {
		t.Errorf("signatures that did not verify: %q", recv.badSigs)
	}
	for _, u := range urls {
		path := u[len(srv.URL):]
		got := recv.accepted[path]
		for id, ev := range want {
			if got[id].Event != ev {
				t.Errorf("%s: event %s (%s) not delivered", path, id, ev)
			}
		}
		for id := range got {
			if want[id] == "" {
				t.Errorf("%s: unexpected event %s", path, id)
			}
		}
		for _, ev := range got {
			if ev.Incident != nil && !strings.HasPrefix(ev.Incident.URL, "https://sentinel.example/incidents/") ||
				ev.Test != nil && (ev.Test.Name == "" || !strings.HasPrefix(ev.Test.URL, "https://sentinel.example/tests/")) ||
				ev.Repository != "acme/widgets" || ev.Text == "" || ev.At.IsZero() {
				t.Errorf("%s: event %+v lacks its subject, link or text", path, ev)
			}
		}
	}
	// The same event queued again, even with other details, is refused.
	var again NotifyEvent
	for _, ev := range recv.accepted["/ops"] {
		again = ev
		break
	}
	again.Text = "changed"
	if err := s.db.InTx(s.ctx, func(tx pgx.Tx) error {
		if err := EnqueueNotify(s.ctx, s.rc, tx, again); err != nil {
			return err
		}
		return EnqueueNotifySends(s.ctx, s.rc, tx, again, urls)
	}); err != nil {
		t.Fatal(err)
	}
	if n := s.count(`SELECT count(*) FROM river_job WHERE kind = 'notify.event'`); n != len(want) {
		t.Errorf("notify.event jobs after queuing %s again: %d, want %d", again.ID, n, len(want))
	}
	// Each (event, endpoint) was queued once: River refused duplicates.
	if n := s.count(`SELECT count(*) FROM river_job WHERE kind = 'notify.send'`); n != len(want)*len(urls) {
		t.Errorf("notify.send jobs: %d, want %d", n, len(want)*len(urls))
	}
	failures := recv.requests - len(want)*len(urls)
	t.Logf("%d events × %d endpoints: %d requests, %d failed, %d repeats of an accepted event dropped by id",
		len(want), len(urls), recv.requests, failures, recv.repeats)
	if failures < 2*len(urls) || recv.repeats < len(urls) {
		t.Errorf("the faults were not exercised: %d failed requests, %d repeats", failures, recv.repeats)
	}
}

// rewriteHost sends every request to a test server, whatever its URL says.
type rewriteHost struct{ to *url.URL }

func (r rewriteHost) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.to.Scheme, r.to.Host
	return http.DefaultTransport.RoundTrip(req)
}

// TestNotifySlackPayload: an endpoint on hooks.slack.com gets Slack's
// incoming-webhook body, {"text": …} with a link; others get the signed event.
func TestNotifySlackPayload(t *testing.T) {
	var got []byte
	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		hdr = r.Header.Clone()
		if r.URL.Path != "/services/T000/B000/XXXX" {
			t.Errorf("path %s", r.URL.Path)
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	to, _ := url.Parse(srv.URL)
	ev := NotifyEvent{ID: "incident-event-7", Event: NotifyIncidentOpened, Repository: "acme/widgets",
		Text: "Incident #3 opened in acme/widgets: TestPay fails", Incident: &NotifyIncident{ID: 3, URL: "https://sentinel.example/incidents/3"}}
	w := &NotifySendWorker{Secret: "s", Client: &http.Client{Transport: rewriteHost{to}}}
	job := &river.Job[NotifySendArgs]{Args: NotifySendArgs{ID: ev.ID, URL: "https://hooks.slack.com/services/T000/B000/XXXX", Event: ev}}
	if err := w.Work(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(got, &body); err != nil {
		t.Fatal(err)
	}
	wantText := "Incident #3 opened in acme/widgets: TestPay fails <https://sentinel.example/incidents/3|details>"
	if len(body) != 1 || body["text"] != wantText {
		t.Errorf("slack body %s, want only text %q", got, wantText)
	}
	if hdr.Get(HeaderNotifyEventID) != ev.ID || hdr.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", hdr)
	}

	if IsSlack("https://hooks.slack.com.evil.example/x") || !IsSlack("https://HOOKS.slack.com/services/x") {
		t.Error("IsSlack must match the host exactly")
	}
	other, err := NotifyBody("https://ops.example/hook", ev)
	if err != nil || !strings.Contains(string(other), `"schema":"sentinel.notify/v1"`) || !strings.Contains(string(other), `"id":"incident-event-7"`) {
		t.Errorf("event body %s, %v", other, err)
	}
}

// TestSignNotifyMatchesGitHub: the signature is GitHub's webhook
// signature, checked against the example in GitHub's documentation
// ("Validating webhook deliveries").
func TestSignNotifyMatchesGitHub(t *testing.T) {
	got := SignNotify("It's a Secret to Everybody", []byte("Hello, World!"))
	if want := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestNotifyErrorsHideTheURL: a Slack webhook's path is its secret; errors
// (kept on the dead-letter page) name the host only.
func TestNotifyErrorsHideTheURL(t *testing.T) {
	w := &NotifySendWorker{Client: &http.Client{Timeout: time.Second}}
	job := &river.Job[NotifySendArgs]{Args: NotifySendArgs{ID: "x", URL: "http://127.0.0.1:1/services/SECRETPATH", Event: NotifyEvent{ID: "x"}}}
	err := w.Work(context.Background(), job)
	if err == nil || strings.Contains(err.Error(), "SECRETPATH") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("error %v", err)
	}
}
