package intake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/sentinel-ci/sentinel/app"
	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// The intake's tests send signed deliveries through app's webhook handler,
// the intake's one door, as GitHub does.

const testSecret = "It's a Secret to Everybody"

// fixturesDir is where the copied GitHub fixtures live (testdata/SOURCES.md
// names their origin and licence). A missing folder fails the test.
func fixturesDir(t testing.TB) string {
	t.Helper()
	dir, _ := filepath.Abs("testdata")
	if _, err := os.Stat(filepath.Join(dir, "webhooks")); err != nil {
		t.Fatalf("fixtures missing: %v", err)
	}
	return dir
}

func fixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesDir(t), "webhooks", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type testServer struct {
	*app.Server
	db  *store.DB
	url string
}

func newTestServer(t testing.TB) *testServer {
	t.Helper()
	db := storetest.NewDB(t)
	rc, err := jobs.NewClient(db, nil, jobs.ClientConfig{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s := app.NewServer(db, rc, slog.New(slog.DiscardHandler), app.Options{WebhookSecret: testSecret, PublicURL: "http://sentinel.test"})
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return &testServer{Server: s, db: db, url: hs.URL}
}

var deliverySeq atomic.Int64

type reply struct {
	Status int
	Body   map[string]any
}

// deliver posts a delivery signed as GitHub signs it; an empty id gets a
// fresh one.
func (ts *testServer) deliver(t testing.TB, event, deliveryID string, body []byte) reply {
	t.Helper()
	if deliveryID == "" {
		deliveryID = fmt.Sprintf("d-%d", deliverySeq.Add(1))
	}
	req, _ := http.NewRequest("POST", ts.url+"/webhooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", deliveryID)
	req.Header.Set("X-Hub-Signature-256", app.Sign(testSecret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// Errorf, not Fatal: senders run in goroutines of their own.
		t.Errorf("POST %s: %v", event, err)
		return reply{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return reply{Status: resp.StatusCode, Body: m}
}

func (ts *testServer) count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := ts.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// pushPayload is a realistic push to a branch of octo/app with the given
// head SHA, modelled on GitHub's push fixture.
func pushPayload(t testing.TB, branch, sha, message string) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(fixture(t, "push/with-installation.payload.json"), &p); err != nil {
		t.Fatal(err)
	}
	p["ref"] = "refs/heads/" + branch
	p["after"] = sha
	p["deleted"] = false
	p["created"] = false
	p["head_commit"] = map[string]any{"id": sha, "message": message, "author": map[string]any{"name": "Mona", "username": "octocat"}}
	p["installation"] = map[string]any{"id": 77}
	b, _ := json.Marshal(p)
	return b
}
