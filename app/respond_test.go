package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/app/intake"
	"github.com/sentinel-ci/sentinel/store"
)

// TestErrorReply: one decision per error, rendered alike as JSON and as
// a page; unexpected errors are logged once and never shown.
func TestErrorReply(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		err    error
		status int
		msg    string
		logged bool
	}{
		{"client error", clientError(http.StatusBadRequest, "limit must be a number"), 400, "limit must be a number", false},
		{"wrapped client error", fmt.Errorf("decode: %w", clientError(http.StatusRequestEntityTooLarge, "too large")), 413, "too large", false},
		{"deliberate 503", clientError(http.StatusServiceUnavailable, "too many live tails"), 503, "too many live tails", false},
		{"not found", fmt.Errorf("run 7: %w", store.ErrNotFound), 404, "run 7: not found", false},
		{"invalid transition", fmt.Errorf("incident 3 is resolved, cannot resolve: %w", store.ErrInvalidTransition), 409,
			"incident 3 is resolved, cannot resolve: not possible in the current state", false},
		{"database unavailable", fmt.Errorf("delivery d-1: %w: %w", intake.ErrUnavailable, errors.New("conn closed")), 503,
			"database unavailable; retry later", true},
		{"unexpected", errors.New("pq: password authentication failed for user sentinel"), 500, "internal error", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var log bytes.Buffer
			s := NewServer(nil, nil, slog.New(slog.NewTextHandler(&log, nil)), Options{})

			rec := httptest.NewRecorder()
			s.writeError(rec, httptest.NewRequest("GET", "/api/runs/7", nil), tc.err)
			var body struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("JSON: %v: %q", err, rec.Body)
			}
			if rec.Code != tc.status || body.Error != tc.msg {
				t.Errorf("JSON: %d %q, want %d %q", rec.Code, body.Error, tc.status, tc.msg)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("JSON: Content-Type %q", ct)
			}

			rec = httptest.NewRecorder()
			s.pageError(rec, httptest.NewRequest("GET", "/runs/7", nil), tc.err)
			page := html.UnescapeString(rec.Body.String())
			if rec.Code != tc.status || !strings.Contains(page, tc.msg) {
				t.Errorf("page: %d, want %d with %q in:\n%s", rec.Code, tc.status, tc.msg, page)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("page: Content-Type %q", ct)
			}

			lines := strings.Count(log.String(), "request failed")
			if want := map[bool]int{true: 2, false: 0}[tc.logged]; lines != want {
				t.Errorf("logged %d times for two responses, want %d:\n%s", lines, want, log.String())
			}
			if tc.status == http.StatusInternalServerError && !strings.Contains(page, "the error has been logged") {
				t.Error("the 500 page does not say the error was logged")
			}
			if tc.logged && strings.Contains(rec.Body.String()+body.Error, "password") {
				t.Error("an unexpected error's text reached the client")
			}
		})
	}
}
