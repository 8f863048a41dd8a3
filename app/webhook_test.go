package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/sentinel-ci/sentinel/app"
	"github.com/sentinel-ci/sentinel/app/apptest"
)

func TestSignatureTestVector(t *testing.T) {
	var v struct {
		Secret, Payload string
		Sig             string `json:"x_hub_signature_256"`
	}
	if err := json.Unmarshal(apptest.Fixture(t, "signature-test-vector.json"), &v); err != nil {
		t.Fatal(err)
	}
	if !app.ValidSignature(v.Secret, []byte(v.Payload), v.Sig) {
		t.Fatal("GitHub's documented test vector does not verify")
	}
	if got := app.Sign(v.Secret, []byte(v.Payload)); got != v.Sig {
		t.Errorf("Sign = %s, want %s", got, v.Sig)
	}
	for i := range len(v.Payload) {
		flipped := []byte(v.Payload)
		flipped[i] ^= 1
		if app.ValidSignature(v.Secret, flipped, v.Sig) {
			t.Fatalf("flipping byte %d still verifies", i)
		}
	}
	if app.ValidSignature("", []byte(v.Payload), v.Sig) || app.ValidSignature(v.Secret, []byte(v.Payload), "") ||
		app.ValidSignature(v.Secret, []byte(v.Payload), strings.TrimPrefix(v.Sig, "sha256=")) {
		t.Error("empty secret, missing header or missing prefix must not verify")
	}
}

func TestWebhookRejectsBadInput(t *testing.T) {
	ts := apptest.NewServer(t)
	body := apptest.PushPayload(t, "main", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "change")

	flipped := bytes.Clone(body)
	flipped[10] ^= 1
	if r := ts.Post(t, "push", "bad-sig", flipped, app.Sign(apptest.Secret, body)); r.Status != http.StatusUnauthorized {
		t.Errorf("flipped byte: %d, want 401", r.Status)
	}
	if r := ts.Post(t, "push", "no-sig", body, ""); r.Status != http.StatusUnauthorized {
		t.Errorf("no signature: %d, want 401", r.Status)
	}
	if n := ts.Count(t, "SELECT count(*) FROM deliveries"); n != 0 {
		t.Errorf("%d deliveries stored after bad signatures, want 0", n)
	}

	garbage := []byte(`{"ref": "refs/heads/main", "after": `)
	if r := ts.Deliver(t, "push", "garbage", garbage); r.Status != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d, want 400", r.Status)
	}
	wrongShape := []byte(`{"ref": 12}`)
	if r := ts.Deliver(t, "push", "wrong-shape", wrongShape); r.Status != http.StatusBadRequest || r.Body["error"] == "" {
		t.Errorf("wrong shape: %d %v, want 400 with a message", r.Status, r.Body)
	}
	// Malformed but signed deliveries are kept, so nothing is lost.
	if n := ts.Count(t, "SELECT count(*) FROM deliveries WHERE outcome LIKE 'malformed%'"); n != 2 {
		t.Errorf("%d malformed deliveries kept, want 2", n)
	}

	big := bytes.Repeat([]byte("x"), 25<<20+1)
	if r := ts.Deliver(t, "push", "big", big); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize: %d, want 413", r.Status)
	}
	if r := ts.Deliver(t, "", "no-event", body); r.Status != http.StatusBadRequest {
		t.Errorf("missing event header: %d, want 400", r.Status)
	}
	if r := ts.Deliver(t, "star", "", []byte(`{"action":"created"}`)); r.Status != http.StatusOK || r.Body["status"] != "ignored" {
		t.Errorf("unknown event: %d %v, want 200 ignored", r.Status, r.Body)
	}
	if n := ts.Count(t, "SELECT count(*) FROM runs"); n != 0 {
		t.Errorf("%d runs created by bad input, want 0", n)
	}
}

func TestWebhookPushCreatesRunAndJobsOnce(t *testing.T) {
	ts := apptest.NewServer(t)
	body := apptest.PushPayload(t, "main", "1111111111111111111111111111111111111111", "fix the thing")
	r := ts.Deliver(t, "push", "push-1", body)
	if r.Status != http.StatusAccepted || len(r.Body["runs"].([]any)) != 1 {
		t.Fatalf("push: %d %v, want 202 with one run", r.Status, r.Body)
	}
	if r := ts.Deliver(t, "push", "push-1", body); r.Status != http.StatusOK || r.Body["status"] != "duplicate" {
		t.Errorf("repeat delivery: %d %v, want 200 duplicate", r.Status, r.Body)
	}
	// The same commit in a different delivery (GitHub redelivery gets a new
	// id only when a human asks) still creates no second run.
	if r := ts.Deliver(t, "push", "push-1-again", body); r.Status != http.StatusAccepted {
		t.Errorf("same commit, new delivery id: %d", r.Status)
	}
	if n := ts.Count(t, "SELECT count(*) FROM runs"); n != 1 {
		t.Errorf("%d runs, want 1", n)
	}
	if n := ts.Count(t, "SELECT count(*) FROM river_job WHERE kind = 'run.execute'"); n != 1 {
		t.Errorf("%d run.execute jobs, want 1", n)
	}
	if n := ts.Count(t, "SELECT count(*) FROM river_job WHERE kind = 'report.check'"); n != 1 {
		t.Errorf("%d report.check jobs, want 1", n)
	}
	// The job id is the worker's to record, when the run starts.
	if n := ts.Count(t, "SELECT count(*) FROM runs WHERE job_id IS NULL AND branch = 'main' AND author = 'octocat'"); n != 1 {
		t.Errorf("run lacks its branch or author, or has a job id before it started")
	}
	if n := ts.Count(t, "SELECT count(*) FROM audit_log WHERE action = 'run.created'"); n != 1 {
		t.Errorf("%d run.created audit rows, want 1", n)
	}
}

func TestWebhookSameDeliveryFiftyTimesAtOnce(t *testing.T) {
	ts := apptest.NewServer(t)
	body := apptest.PushPayload(t, "main", "2222222222222222222222222222222222222222", "race")
	var wg sync.WaitGroup
	statuses := make([]int, 50)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = ts.Deliver(t, "push", "same-delivery", body).Status
		}()
	}
	wg.Wait()
	accepted := 0
	for _, s := range statuses {
		switch s {
		case http.StatusAccepted:
			accepted++
		case http.StatusOK:
		default:
			t.Errorf("status %d, want 202 or 200 duplicate", s)
		}
	}
	if accepted != 1 {
		t.Errorf("%d deliveries accepted, want exactly 1", accepted)
	}
	for sql, want := range map[string]int{
		"SELECT count(*) FROM deliveries":                            1,
		"SELECT count(*) FROM runs":                                  1,
		"SELECT count(*) FROM river_job WHERE kind = 'run.execute'":  1,
		"SELECT count(*) FROM river_job WHERE kind = 'report.check'": 1,
	} {
		if n := ts.Count(t, sql); n != want {
			t.Errorf("%s = %d, want %d", sql, n, want)
		}
	}
}

func TestWebhookSkipsAndIgnores(t *testing.T) {
	ts := apptest.NewServer(t)
	tests := []struct {
		name, event string
		body        []byte
		reason      string
	}{
		{"skip ci", "push", apptest.PushPayload(t, "main", "3333333333333333333333333333333333333333", "docs [skip ci]"), "skip CI"},
		{"ci skip", "push", apptest.PushPayload(t, "main", "4444444444444444444444444444444444444444", "docs [CI SKIP]"), "skip CI"},
		{"tag push", "push", apptest.Fixture(t, "push/with-installation.payload.json"), "deletion"},
		{"pr closed", "pull_request", apptest.Fixture(t, "pull_request/closed.payload.json"), "does not run CI"},
		{"check suite completed", "check_suite", apptest.Fixture(t, "check_suite/completed.payload.json"), "needs no work"},
	}
	for _, tt := range tests {
		r := ts.Deliver(t, tt.event, "", tt.body)
		if r.Status != http.StatusOK || r.Body["status"] != "ignored" || !strings.Contains(fmt.Sprint(r.Body["reason"]), tt.reason) {
			t.Errorf("%s: %d %v, want 200 ignored with reason containing %q", tt.name, r.Status, r.Body, tt.reason)
		}
	}
	r := ts.Deliver(t, "ping", "", apptest.Fixture(t, "ping/payload.json"))
	if r.Status != http.StatusOK || r.Body["zen"] == "" || r.Body["zen"] == nil {
		t.Errorf("ping: %d %v, want 200 with the zen", r.Status, r.Body)
	}
	if n := ts.Count(t, "SELECT count(*) FROM runs"); n != 0 {
		t.Errorf("%d runs, want 0", n)
	}
}
