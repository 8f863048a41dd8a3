// Package apptest starts Sentinel's HTTP server on a fresh database for
// tests, and sends it deliveries signed as GitHub signs them. Tests of app
// and of app/intake share it: the webhook handler is the intake's one door.
// Imported by tests only.
package apptest

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
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// Secret is the webhook secret of every test server: GitHub's documented
// example secret.
const Secret = "It's a Secret to Everybody"

// Server is a served app.Server on a database of its own.
type Server struct {
	*app.Server
	URL string
}

// NewServer starts a server on a fresh, migrated database; it stops with
// the test.
func NewServer(t testing.TB) *Server {
	t.Helper()
	db := storetest.NewDB(t)
	rc, err := jobs.NewClient(db, nil, jobs.ClientConfig{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return Serve(t, app.NewServer(db, rc, slog.New(slog.DiscardHandler), app.Options{WebhookSecret: Secret, PublicURL: "http://sentinel.test"}))
}

// Serve serves s until the test ends, for tests that build their server
// with options of their own.
func Serve(t testing.TB, s *app.Server) *Server {
	t.Helper()
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return &Server{Server: s, URL: hs.URL}
}

// Reply is the webhook's answer: its status, headers and JSON body.
type Reply struct {
	Status int
	Header http.Header
	Body   map[string]any
}

var deliverySeq atomic.Int64

// Deliver posts a delivery signed as GitHub signs it; an empty id gets a
// fresh one.
func (s *Server) Deliver(t testing.TB, event, deliveryID string, body []byte) Reply {
	t.Helper()
	if deliveryID == "" {
		deliveryID = fmt.Sprintf("d-%d", deliverySeq.Add(1))
	}
	return s.Post(t, event, deliveryID, body, app.Sign(Secret, body))
}

// Post posts a delivery with the given signature header (none when empty).
// A transport error is reported with Errorf, not Fatal, and answers a zero
// Reply: senders run in goroutines of their own.
func (s *Server) Post(t testing.TB, event, deliveryID string, body []byte, signature string) Reply {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/webhooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", deliveryID)
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("POST %s: %v", event, err)
		return Reply{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: m}
}

// Count runs a counting query on the server's database.
func (s *Server) Count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.DB.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// Fixture reads a copied GitHub webhook fixture from the calling package's
// testdata/webhooks folder (its SOURCES.md names origin and licence); a
// missing one fails the test.
func Fixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhooks", rel))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return b
}

// PushPayload is a realistic push to a branch of octo/app with the given
// head SHA, modelled on GitHub's push fixture.
func PushPayload(t testing.TB, branch, sha, message string) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(Fixture(t, "push/with-installation.payload.json"), &p); err != nil {
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
