package app

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/sentinel-ci/sentinel/store"
)

// httpError is an error with the status and message a client should see.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// clientError makes a 4xx error whose message is shown to the client.
func clientError(status int, msg string) error { return &httpError{status: status, msg: msg} }

// writeError is the one place errors become responses: 4xx say what was
// wrong; anything else is logged once and shown as a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	switch {
	case errors.As(err, &he):
		writeJSON(w, he.status, map[string]string{"error": he.msg})
	case errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	default:
		s.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
