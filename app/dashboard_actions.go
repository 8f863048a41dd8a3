package app

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

// The dashboard's forms: each reads its form and calls its action in
// jobs.Actions, which the JSON API and the check run buttons share.

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, clientError(http.StatusBadRequest, fmt.Sprintf("%q is not an id", chi.URLParam(r, "id")))
	}
	return id, nil
}

// formAction runs fn with the id from the path and the acting person, then
// redirects to where fn says, or shows the error.
func (s *Server) formAction(w http.ResponseWriter, r *http.Request, fn func(id int64, actor string) (to, flash string, err error)) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	actor, _ := s.actor(r, "dashboard")
	to, flash, err := fn(id, actor)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	redirectBack(w, r, to, flash)
}

// handleRerunForm re-runs a run whole, or (failed_only=1: "Re-run failed
// tests") only what failed in it.
func (s *Server) handleRerunForm(w http.ResponseWriter, r *http.Request) {
	s.formAction(w, r, func(id int64, actor string) (string, string, error) {
		failedOnly := r.PostFormValue("failed_only") == "1"
		newID, err := s.Actions.Rerun(r.Context(), id, actor, failedOnly)
		what := "Re-run"
		if failedOnly {
			what = "Re-run of the failed tests"
		}
		return fmt.Sprintf("/runs/%d", newID), fmt.Sprintf("%s of run %d queued.", what, id), err
	})
}

func (s *Server) handleCancelForm(w http.ResponseWriter, r *http.Request) {
	s.formAction(w, r, func(id int64, actor string) (string, string, error) {
		return fmt.Sprintf("/runs/%d", id), "Run cancelled.", s.Actions.Cancel(r.Context(), id, actor)
	})
}

func (s *Server) handleApproveForm(w http.ResponseWriter, r *http.Request) {
	s.formAction(w, r, func(id int64, actor string) (string, string, error) {
		return fmt.Sprintf("/runs/%d", id), "Run approved and queued.", s.Actions.Approve(r.Context(), id, actor)
	})
}

func (s *Server) handleQuarantineForm(w http.ResponseWriter, r *http.Request) {
	s.formAction(w, r, func(id int64, actor string) (string, string, error) {
		owner := strings.TrimSpace(r.PostFormValue("owner"))
		if owner == "" {
			return "", "", clientError(http.StatusBadRequest, "A quarantine needs an owner: who will fix the test?")
		}
		q := jobs.Quarantine{Owner: owner, Reason: r.PostFormValue("reason"), Source: store.QuarantineByDashboard}
		if d := r.PostFormValue("days"); d != "" {
			n, err := strconv.Atoi(d)
			if err != nil || n < 1 || n > 365 {
				return "", "", clientError(http.StatusBadRequest, "days must be a number from 1 to 365")
			}
			q.Until = time.Now().Add(time.Duration(n) * 24 * time.Hour)
		}
		return backTo(r, "/flaky"), "Test quarantined.", s.Actions.Quarantine(r.Context(), id, q, actor)
	})
}

func (s *Server) handleUnquarantineForm(w http.ResponseWriter, r *http.Request) {
	s.formAction(w, r, func(id int64, actor string) (string, string, error) {
		return backTo(r, "/flaky"), "Quarantine lifted.", s.Actions.Release(r.Context(), id, actor)
	})
}

func (s *Server) handleIncidentForm(w http.ResponseWriter, r *http.Request) {
	s.formAction(w, r, func(id int64, actor string) (string, string, error) {
		action := store.IncidentAction(chi.URLParam(r, "action"))
		switch action {
		case store.IncidentAcknowledge, store.IncidentResolve, store.IncidentReopen:
		default:
			return "", "", clientError(http.StatusNotFound, fmt.Sprintf("no incident action %q", action))
		}
		status, err := s.Actions.TransitionIncident(r.Context(), id, action, strings.TrimSpace(r.PostFormValue("note")), actor)
		return fmt.Sprintf("/incidents/%d", id), "Incident is now " + string(status) + ".", err
	})
}

func (s *Server) handleRetryJobForm(w http.ResponseWriter, r *http.Request) {
	s.formAction(w, r, func(id int64, actor string) (string, string, error) {
		return "/dead", fmt.Sprintf("Job %d is queued again.", id), s.Actions.RetryJob(r.Context(), id, actor)
	})
}

// backTo is the page a form came from when it is on this site, else def.
func backTo(r *http.Request, def string) string {
	if ref := r.Referer(); ref != "" {
		if p := safeNext(pathOf(ref)); p != "/" {
			return p
		}
	}
	return def
}
