package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/sentinel-ci/sentinel/app/intake"
	"github.com/sentinel-ci/sentinel/store"
)

// httpError is an error with the status and message a client should see.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// clientError makes an error whose status and message are shown to the
// client as they are: a deliberate answer, not a failure to log.
func clientError(status int, msg string) error { return &httpError{status: status, msg: msg} }

// internalError is all a client learns of an unexpected error.
const internalError = "internal error"

// unavailableError answers a request that found the database unavailable; a
// webhook delivery answered so shows as failed in GitHub's delivery log,
// from where it is redelivered (RUNBOOK.md).
const unavailableError = "database unavailable; retry later"

// errorReply is the one place that decides what a client is told about
// err; writeError and pageError only render its decision.
//
//	clientError(status, msg)      status, msg
//	store.ErrNotFound             404, the error's text (it names what was not found)
//	store.ErrInvalidTransition    409, the error's text (it names the state)
//	intake.ErrUnavailable         503, "database unavailable; retry later" (logged here, once)
//	anything else                 500, "internal error"; the error is logged here, once
func (s *Server) errorReply(r *http.Request, err error) (status int, msg string) {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return he.status, he.msg
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, err.Error()
	case errors.Is(err, store.ErrInvalidTransition):
		return http.StatusConflict, err.Error()
	case errors.Is(err, intake.ErrUnavailable):
		s.Log.Warn("request failed: database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		return http.StatusServiceUnavailable, unavailableError
	}
	s.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return http.StatusInternalServerError, internalError
}

// writeError answers err as JSON, {"error": "..."}: the API's errors (and
// the webhook's and the live tail's).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := s.errorReply(r, err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "30")
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

type errorView struct {
	page
	Status  int
	Message string
}

// pageError answers err with the error page in the layout: the dashboard's
// errors and its forms'.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := s.errorReply(r, err)
	v := errorView{page: s.newPage(w, r, http.StatusText(status), ""), Status: status, Message: msg}
	t := pageTemplates()["error"]
	var buf bytes.Buffer
	if t == nil || t.ExecuteTemplate(&buf, "layout", v) != nil {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, internalError, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
