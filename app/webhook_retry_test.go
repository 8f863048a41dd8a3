package app_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/app"
	"github.com/sentinel-ci/sentinel/app/apptest"
	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// newServerOnURL is newTestServer on a database the test can make
// unavailable (storetest.Unavailable) by its URL.
func newServerOnURL(t *testing.T) (*apptest.Server, string) {
	t.Helper()
	url := storetest.URL(t)
	db, err := store.Open(context.Background(), url, 4, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	rc, err := jobs.NewClient(db, nil, jobs.ClientConfig{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return apptest.Serve(t, app.NewServer(db, rc, slog.New(slog.DiscardHandler), app.Options{WebhookSecret: apptest.Secret})), url
}

// TestWebhookRetriesWhileTheDatabaseRestarts: a delivery that arrives while
// the database refuses connections is committed once it is back, within
// GitHub's wait, and answered 202.
func TestWebhookRetriesWhileTheDatabaseRestarts(t *testing.T) {
	ts, url := newServerOnURL(t)
	restore := storetest.Unavailable(t, url)
	go func() {
		time.Sleep(1500 * time.Millisecond)
		restore()
	}()
	start := time.Now()
	r := ts.Deliver(t, "push", "during-restart", apptest.PushPayload(t, "main", strings.Repeat("c", 40), "during a restart"))
	if r.Status != http.StatusAccepted {
		t.Fatalf("delivery during a restart: %d %v, want 202", r.Status, r.Body)
	}
	if elapsed := time.Since(start); elapsed > 8*time.Second {
		t.Errorf("answered after %v, beyond GitHub's wait", elapsed)
	}
	if n := ts.Count(t, "SELECT count(*) FROM runs"); n != 1 {
		t.Errorf("%d runs, want 1", n)
	}
}

// TestWebhookAnswers503WhenTheDatabaseStaysAway: past the retry budget the
// delivery is answered 503 with Retry-After (so GitHub's delivery log shows
// it failed), nothing is stored, and a redelivery once the database is back
// is accepted.
func TestWebhookAnswers503WhenTheDatabaseStaysAway(t *testing.T) {
	ts, url := newServerOnURL(t)
	ts.Intake.RetryBudget = time.Second
	restore := storetest.Unavailable(t, url)
	body := apptest.PushPayload(t, "main", strings.Repeat("d", 40), "while away")
	if r := ts.Deliver(t, "push", "while-away", body); r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Errorf("database away: %d Retry-After %q, want 503 with Retry-After", r.Status, r.Header.Get("Retry-After"))
	}
	restore()
	if n := ts.Count(t, "SELECT count(*) FROM deliveries"); n != 0 {
		t.Errorf("%d deliveries stored, want 0", n)
	}
	if r := ts.Deliver(t, "push", "while-away", body); r.Status != http.StatusAccepted {
		t.Errorf("redelivery: %d %v, want 202", r.Status, r.Body)
	}
}

// TestWebhookRefusesAPathForACommit: a push whose after is a path is
// answered 400; only the delivery's record is kept.
func TestWebhookRefusesAPathForACommit(t *testing.T) {
	ts := apptest.NewServer(t)
	body := apptest.PushPayload(t, "main", "../../etc", "sneaky")
	if r := ts.Deliver(t, "push", "", body); r.Status != http.StatusBadRequest {
		t.Errorf("after ../../etc: %d %v, want 400", r.Status, r.Body)
	}
	for _, table := range []string{"runs", "repositories", "installations", "river_job"} {
		if n := ts.Count(t, "SELECT count(*) FROM "+table); n != 0 {
			t.Errorf("%d rows in %s, want 0", n, table)
		}
	}
	if n := ts.Count(t, "SELECT count(*) FROM deliveries WHERE outcome LIKE 'malformed%'"); n != 1 {
		t.Errorf("%d malformed deliveries kept, want 1", n)
	}
}
