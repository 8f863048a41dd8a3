package jobs

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// Team notifications. A transition (an incident opened, resolved or
// reopened; a test become flaky or broken) queues one notify.event job in
// its own transaction (EnqueueNotify), unique by the event's id. That job
// fans out one notify.send job per SENTINEL_NOTIFY_URL, unique by (event
// id, URL), so each endpoint gets each event once and is retried on its own.
// Receivers see the event id in X-Sentinel-Event-Id: a delivery whose 2xx
// answer was lost is sent again with the same id, for them to drop.

// NotifySchema names the layout of the JSON event (README "Notifications").
const NotifySchema = "sentinel.notify/v1"

// Notification event names.
const (
	NotifyIncidentOpened   = "incident.opened"
	NotifyIncidentResolved = "incident.resolved"
	NotifyIncidentReopened = "incident.reopened"
	NotifyTestFlaky        = "test.flaky"
	NotifyTestBroken       = "test.broken"
)

// Notification headers.
const (
	HeaderNotifyEvent     = "X-Sentinel-Event"
	HeaderNotifyEventID   = "X-Sentinel-Event-Id"
	HeaderNotifySignature = "X-Sentinel-Signature-256"
)

// NotifyEvent is the JSON body sent to endpoints other than Slack's.
type NotifyEvent struct {
	Schema     string          `json:"schema"`
	ID         string          `json:"id"`    // stable: the same event always has the same id
	Event      string          `json:"event"` // NotifyIncidentOpened, …
	At         time.Time       `json:"at"`
	Repository string          `json:"repository"`
	Text       string          `json:"text"` // one line for people
	Reason     string          `json:"reason,omitempty"`
	RunID      int64           `json:"run_id,omitempty"`
	Incident   *NotifyIncident `json:"incident,omitempty"`
	Test       *NotifyTest     `json:"test,omitempty"`
}

// NotifyIncident is the incident an incident.* event is about.
type NotifyIncident struct {
	ID       int64                   `json:"id"`
	Title    string                  `json:"title"`
	Status   triage.IncidentStatus   `json:"status"`
	Severity triage.IncidentSeverity `json:"severity"`
	URL      string                  `json:"url,omitempty"`
}

// NotifyTest is the test a test.* event is about.
type NotifyTest struct {
	ID   int64            `json:"id"`
	Name string           `json:"name"` // package::Name
	From triage.TestState `json:"from"`
	To   triage.TestState `json:"to"`
	URL  string           `json:"url,omitempty"`
}

// NotifyEventArgs fans an event out to the configured endpoints.
type NotifyEventArgs struct {
	ID    string      `json:"id" river:"unique"`
	Event NotifyEvent `json:"event"`
}

func (NotifyEventArgs) Kind() string { return "notify.event" }

func (NotifyEventArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueGitHub, MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// NotifySendArgs delivers one event to one endpoint.
type NotifySendArgs struct {
	ID    string      `json:"id" river:"unique"`
	URL   string      `json:"url" river:"unique"`
	Event NotifyEvent `json:"event"`
}

func (NotifySendArgs) Kind() string { return "notify.send" }

func (NotifySendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueGitHub, MaxAttempts: 12, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// incidentNotices queues the notifications of an incident's events not yet
// notified (store.TakeIncidentNotices): called by EnqueueIncidentSync,
// which every change of an incident's status queues in its transaction.
func incidentNotices(ctx context.Context, rc *river.Client[pgx.Tx], tx pgx.Tx, incidentID int64) error {
	notices, err := store.TakeIncidentNotices(ctx, tx, incidentID)
	if err != nil || len(notices) == 0 {
		return err
	}
	in, err := store.GetIncident(ctx, tx, incidentID)
	if err != nil {
		return err
	}
	for _, n := range notices {
		ev := NotifyEvent{ID: "incident-event-" + strconv.FormatInt(n.EventID, 10), At: n.CreatedAt.UTC(),
			Repository: in.Repository, Reason: n.Message, RunID: n.RunID,
			Incident: &NotifyIncident{ID: in.ID, Title: in.Title, Status: in.Status, Severity: in.Severity}}
		switch n.Kind {
		case store.IncidentEventOpened:
			ev.Event, ev.Text = NotifyIncidentOpened, fmt.Sprintf("Incident #%d opened in %s: %s", in.ID, in.Repository, in.Title)
		case store.IncidentEventResolved:
			ev.Event, ev.Text = NotifyIncidentResolved, fmt.Sprintf("Incident #%d resolved in %s: %s", in.ID, in.Repository, in.Title)
		case store.IncidentEventReopened:
			ev.Event, ev.Text = NotifyIncidentReopened, fmt.Sprintf("Incident #%d reopened in %s: %s", in.ID, in.Repository, in.Title)
		default:
			continue
		}
		if err := EnqueueNotify(ctx, rc, tx, ev); err != nil {
			return err
		}
	}
	return nil
}

// testNotices are the notifications of an analysis's test transitions:
// only into flaky or broken, the states a team acts on.
func testNotices(run store.Run, tests []*store.RunTest, events []store.TestEvent, at time.Time) []NotifyEvent {
	names := map[int64]string{}
	for _, t := range tests {
		names[t.ID] = triage.TestID(t.Package, t.Name)
	}
	var out []NotifyEvent
	for _, e := range events {
		var kind string
		switch e.To {
		case triage.TestFlaky:
			kind = NotifyTestFlaky
		case triage.TestBroken:
			kind = NotifyTestBroken
		default:
			continue
		}
		name := names[e.TestID]
		out = append(out, NotifyEvent{
			// One transition per test per run: the pair names the event.
			ID:    fmt.Sprintf("test-%d-run-%d-%s", e.TestID, e.RunID, e.To),
			Event: kind, At: at.UTC(), Repository: run.Repository, Reason: e.Reason, RunID: e.RunID,
			Text: fmt.Sprintf("Test %s is %s in %s: %s", name, e.To, run.Repository, e.Reason),
			Test: &NotifyTest{ID: e.TestID, Name: name, From: e.From, To: e.To},
		})
	}
	return out
}

// NotifyEventWorker fans an event out to each endpoint in one transaction
// with its own completion; a retry inserts nothing twice (unique sends).
type NotifyEventWorker struct {
	river.WorkerDefaults[NotifyEventArgs]
	DB        *store.DB
	URLs      []string // SENTINEL_NOTIFY_URL; none: the event is dropped
	PublicURL string   // base of the dashboard links placed in events
}

func (w *NotifyEventWorker) Work(ctx context.Context, job *river.Job[NotifyEventArgs]) error {
	if len(w.URLs) == 0 {
		return nil
	}
	ev := job.Args.Event
	base := strings.TrimRight(w.PublicURL, "/")
	if ev.Incident != nil && base != "" {
		ev.Incident.URL = fmt.Sprintf("%s/incidents/%d", base, ev.Incident.ID)
	}
	if ev.Test != nil && base != "" {
		ev.Test.URL = fmt.Sprintf("%s/tests/%d", base, ev.Test.ID)
	}
	rc := river.ClientFromContext[pgx.Tx](ctx)
	return w.DB.InTx(ctx, func(tx pgx.Tx) error {
		if err := EnqueueNotifySends(ctx, rc, tx, ev, w.URLs); err != nil {
			return err
		}
		_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
		return err
	})
}

// NotifySendWorker posts one event to one endpoint: Slack's incoming-webhook
// payload on hooks.slack.com, else the JSON event signed with Secret
// (HMAC-SHA256 of the body, hex, as "sha256=…" in X-Sentinel-Signature-256,
// as GitHub signs its webhooks). Anything but a 2xx answer is retried.
type NotifySendWorker struct {
	river.WorkerDefaults[NotifySendArgs]
	Secret string
	Client *http.Client // nil: a client with a 10 s timeout
	// RetryBase is the first retry's delay, doubled each attempt up to an
	// hour (0: 30 s).
	RetryBase time.Duration
}

// IsSlack reports whether an endpoint is a Slack incoming webhook.
func IsSlack(endpoint string) bool {
	u, err := url.Parse(endpoint)
	return err == nil && strings.EqualFold(u.Hostname(), "hooks.slack.com")
}

// SignNotify is the X-Sentinel-Signature-256 value of body under secret.
func SignNotify(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// NotifyBody is what is posted to endpoint for ev.
func NotifyBody(endpoint string, ev NotifyEvent) ([]byte, error) {
	ev.Schema = NotifySchema
	if IsSlack(endpoint) {
		text := ev.Text
		if link := notifyLink(ev); link != "" {
			text += " <" + link + "|details>"
		}
		return json.Marshal(map[string]string{"text": text})
	}
	return json.Marshal(ev)
}

func notifyLink(ev NotifyEvent) string {
	switch {
	case ev.Incident != nil:
		return ev.Incident.URL
	case ev.Test != nil:
		return ev.Test.URL
	}
	return ""
}

func (w *NotifySendWorker) Work(ctx context.Context, job *river.Job[NotifySendArgs]) error {
	body, err := NotifyBody(job.Args.URL, job.Args.Event)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, job.Args.URL, bytes.NewReader(body))
	if err != nil {
		return river.JobCancel(fmt.Errorf("notify %s: bad request", redactURL(job.Args.URL)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Sentinel-Notify")
	req.Header.Set(HeaderNotifyEvent, job.Args.Event.Event)
	req.Header.Set(HeaderNotifyEventID, job.Args.ID)
	if w.Secret != "" {
		req.Header.Set(HeaderNotifySignature, SignNotify(w.Secret, body))
	}
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error // it repeats the whole URL
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("notify %s: %w", redactURL(job.Args.URL), err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notify %s: %s: %s", redactURL(job.Args.URL), resp.Status, triage.FirstLine(string(msg)))
	}
	return nil
}

// NextRetry backs off exponentially from RetryBase, capped at an hour.
func (w *NotifySendWorker) NextRetry(job *river.Job[NotifySendArgs]) time.Time {
	base := w.RetryBase
	if base <= 0 {
		base = 30 * time.Second
	}
	d := base << min(job.Attempt-1, 16)
	return time.Now().Add(min(d, time.Hour))
}

// redactURL keeps a URL's host in errors: the path of a Slack webhook is
// its secret, and errors are shown on the dead-letter page.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(bad URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}
