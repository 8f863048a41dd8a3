package app

import (
	"context"
	"net/http"
	"time"

	"github.com/sentinel-ci/sentinel/store"
)

// handleHealthz answers as long as the process serves HTTP.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 only when the database answers and, in a process
// that works jobs, the River client is running. The answer is public: it
// says what is wrong in general words, while the log has the errors, which
// name the database's user, name, host and port.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "queue": "ok"}
	status := http.StatusOK
	if err := s.DB.Ping(ctx); err != nil {
		s.Log.Warn("readiness: database unreachable", "err", err)
		checks["database"] = "unreachable"
		status = http.StatusServiceUnavailable
	} else {
		if _, err := store.CountQueues(ctx, s.DB); err != nil {
			s.Log.Warn("readiness: river tables unreachable", "err", err)
			checks["queue"] = "river tables unreachable"
			status = http.StatusServiceUnavailable
		}
	}
	if s.WorkersRunning != nil && !s.WorkersRunning() {
		checks["queue"] = "river client is not running"
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, checks)
}
