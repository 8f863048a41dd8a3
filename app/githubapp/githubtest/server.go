// Package githubtest is an in-process GitHub for tests: an httptest server
// that answers the REST calls Sentinel makes (installation tokens, check runs,
// issues, comments, labels, search) the way GitHub does — status codes, ids,
// pagination headers — keeps their state, records every request, validates
// every request body against GitHub's OpenAPI description, and can inject
// failures (5xx, primary and secondary rate limits, lost answers, slow answers).
//
// A test creates one with New(t); at the end of the test every OpenAPI
// violation fails it, so a test cannot forget to look. Only tests import
// this package.
package githubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
)

// Request is one request the fake received, as the test sees it afterwards.
type Request struct {
	Method string
	Path   string
	Query  string
	Body   []byte
	Status int    // status the client saw
	Fault  string // the injected fault, "" when answered normally
}

// Server is the fake GitHub. Its exported methods are safe for concurrent use.
type Server struct {
	*httptest.Server

	t    testing.TB
	spec *Spec
	mux  *http.ServeMux

	mu          sync.Mutex
	requests    []Request
	violations  []Violation
	faults      faultState
	mounts      []mount
	nextID      int64
	tokens      map[string]int64 // installation token -> installation id
	uninstalled map[int64]bool
	goneRepos   map[string]bool
	checkRuns   map[int64]*CheckRun
	repos       map[string]*repoState
	now         func() time.Time
}

type mount struct {
	prefix  string
	handler http.Handler
}

// Option configures a Server.
type Option func(*Server)

// WithSpec validates against spec (see ParseSpec) instead of the embedded
// GitHub description.
func WithSpec(spec *Spec) Option { return func(s *Server) { s.spec = spec } }

// New starts a fake GitHub for the test. It validates against the embedded
// OpenAPI subset, closes the server at the end of the test and fails the test for
// every request body that broke the OpenAPI description.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t:           t,
		nextID:      4_000_000_000,
		tokens:      map[string]int64{},
		uninstalled: map[int64]bool{},
		goneRepos:   map[string]bool{},
		checkRuns:   map[int64]*CheckRun{},
		repos:       map[string]*repoState{},
		now:         func() time.Time { return time.Now().UTC().Truncate(time.Second) },
	}
	for _, o := range opts {
		o(s)
	}
	if s.spec == nil {
		s.spec = GitHubSpec(t)
	}
	s.mux = http.NewServeMux()
	s.routes()
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.Server.Close()
		for _, v := range s.Violations() {
			t.Errorf("githubtest: request violates GitHub's OpenAPI description: %s", v)
		}
	})
	return s
}

// Mount serves handler for every path under prefix (for example a git
// smart-HTTP handler for checkouts). Mounted paths bypass validation and faults.
func (s *Server) Mount(prefix string, handler http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mounts = append(s.mounts, mount{prefix: strings.TrimSuffix(prefix, "/") + "/", handler: http.StripPrefix(strings.TrimSuffix(prefix, "/"), handler)})
}

// Requests returns every API request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Violations returns every OpenAPI violation recorded so far.
func (s *Server) Violations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Violation(nil), s.violations...)
}

// TakeViolations returns the violations recorded so far and forgets them, for
// tests that send invalid bodies on purpose.
func (s *Server) TakeViolations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.violations
	s.violations = nil
	return out
}

// Uninstall makes the App's installation disappear: its token requests get 404.
func (s *Server) Uninstall(installationID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.uninstalled[installationID] = true
	for tok, id := range s.tokens {
		if id == installationID {
			delete(s.tokens, tok)
		}
	}
}

// DeleteRepo makes every call for owner/name answer 404, as for a deleted repository.
func (s *Server) DeleteRepo(fullName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.goneRepos[strings.ToLower(fullName)] = true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	for _, m := range s.mounts {
		if strings.HasPrefix(r.URL.Path, m.prefix) {
			s.mu.Unlock()
			m.handler.ServeHTTP(w, r)
			return
		}
	}
	s.mu.Unlock()

	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body}

	for _, v := range s.spec.Check(r.Method, r.URL.Path, r.URL.Query(), r.Header.Get("Content-Type"), body) {
		s.addViolation(v)
	}

	f := s.takeFault(r.Method, r.URL.Path)
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
		}
	}
	rec := httptest.NewRecorder()
	if f.Kind != "" && !f.Kind.afterApply() {
		s.writeFault(rec, f)
		req.Fault = string(f.Kind)
	} else {
		s.mux.ServeHTTP(rec, r)
		if f.Kind != "" {
			// GitHub did the work but the answer never arrived.
			rec = httptest.NewRecorder()
			s.writeFault(rec, f)
			req.Fault = string(f.Kind)
		}
	}
	req.Status = rec.Code
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()

	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (s *Server) addViolation(v Violation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = append(s.violations, v)
}

func (s *Server) id() int64 {
	s.nextID++
	return s.nextID
}

// writeJSON answers like GitHub: JSON with the rate-limit headers every answer carries.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "4999")
	w.Header().Set("X-RateLimit-Reset", fmt.Sprint(time.Now().Add(time.Hour).Unix()))
	w.Header().Set("X-GitHub-Request-Id", fmt.Sprintf("FAKE:%d", time.Now().UnixNano()))
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with GitHub's error shape.
func writeError(w http.ResponseWriter, status int, message string, errs ...github.Error) {
	body := map[string]any{
		"message":           message,
		"documentation_url": "https://docs.github.com/rest",
		"status":            fmt.Sprint(status),
	}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	writeJSON(w, status, body)
}
