package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// The actions below are shared by the dashboard's forms and the JSON API.
// Each is one transaction: the change, its jobs and its audit entry commit
// together or not at all.

// rerunRun creates the next attempt of a run's commit and enqueues it.
func (s *Server) rerunRun(ctx context.Context, id int64, actor string) (int64, error) {
	var newID int64
	err := s.DB.InTx(ctx, func(tx pgx.Tx) error {
		prev, err := store.GetRun(ctx, tx, id)
		if err != nil {
			return err
		}
		if prev.State == store.RunAwaitingApproval {
			return fmt.Errorf("run %d awaits approval; approve it instead: %w", id, store.ErrInvalidTransition)
		}
		newID, err = RerunTx(ctx, s.River, tx, prev, actor)
		return err
	})
	return newID, err
}

// cancelRun marks an unfinished run cancelled, cancels its River job (which
// stops the steps through the job's context) and completes its check run.
func (s *Server) cancelRun(ctx context.Context, id int64, actor string) error {
	return s.DB.InTx(ctx, func(tx pgx.Tx) error {
		run, err := store.GetRun(ctx, tx, id)
		if err != nil {
			return err
		}
		ok, err := store.TransitionRun(ctx, tx, id, []store.RunState{store.RunAwaitingApproval, store.RunQueued, store.RunRunning},
			store.RunCancelled, "", "cancelled by "+actor)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("run %d is %s: %w", id, run.State, store.ErrInvalidTransition)
		}
		if _, err := store.AbandonSteps(ctx, tx, id, triage.StepCancelled, "cancelled by "+actor); err != nil {
			return err
		}
		if run.JobID != 0 {
			if _, err := s.River.JobCancelTx(ctx, tx, run.JobID); err != nil && !errors.Is(err, river.ErrNotFound) {
				return fmt.Errorf("cancel job %d of run %d: %w", run.JobID, id, err)
			}
		}
		if _, err := s.River.InsertTx(ctx, tx, jobs.ReportCheckArgs{RunID: id, Phase: jobs.PhaseCompleted}, nil); err != nil {
			return fmt.Errorf("report cancelled run %d: %w", id, err)
		}
		return store.Audit(ctx, tx, actor, "run.cancel", "run", id, map[string]any{"from": run.State})
	})
}

// approveRun lets a pull request from a fork run.
func (s *Server) approveRun(ctx context.Context, id int64, actor string) error {
	return s.DB.InTx(ctx, func(tx pgx.Tx) error {
		ok, err := store.TransitionRun(ctx, tx, id, []store.RunState{store.RunAwaitingApproval}, store.RunQueued, "", "")
		if err != nil {
			return err
		}
		if !ok {
			run, err := store.GetRun(ctx, tx, id)
			if err != nil {
				return err
			}
			return fmt.Errorf("run %d is %s, not awaiting approval: %w", id, run.State, store.ErrInvalidTransition)
		}
		if err := EnqueueRun(ctx, s.River, tx, id, true); err != nil {
			return err
		}
		return store.Audit(ctx, tx, actor, "run.approve", "run", id, nil)
	})
}

// quarantineTest quarantines (owner set) or releases a test. The store
// functions record the test's event and the audit entry.
func (s *Server) quarantineTest(ctx context.Context, id int64, quarantine bool, owner, reason string, until *time.Time, source, actor string) error {
	return s.DB.InTx(ctx, func(tx pgx.Tx) error {
		t, err := store.GetTest(ctx, tx, id)
		if err != nil {
			return err
		}
		if !quarantine {
			if t.State() != "quarantined" {
				return fmt.Errorf("test %d is %s, not quarantined: %w", id, t.State(), store.ErrInvalidTransition)
			}
			return store.ReleaseQuarantine(ctx, tx, id, actor)
		}
		return store.SetQuarantine(ctx, tx, id, store.Quarantine{Owner: owner, Source: store.QuarantineSource(source), Reason: reason, Until: until, Actor: actor})
	})
}

// transitionIncident applies acknowledge, resolve or reopen and syncs the
// incident's GitHub issue.
func (s *Server) transitionIncident(ctx context.Context, id int64, action store.IncidentAction, note, actor string) (triage.IncidentStatus, error) {
	var status triage.IncidentStatus
	err := s.DB.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		if status, err = store.TransitionIncident(ctx, tx, id, action, actor, note, time.Now()); err != nil {
			return err
		}
		if _, err := s.River.InsertTx(ctx, tx, jobs.IncidentSyncArgs{IncidentID: id}, nil); err != nil {
			return fmt.Errorf("sync incident %d: %w", id, err)
		}
		return nil
	})
	return status, err
}

// retryJob makes a discarded River job available again.
func (s *Server) retryJob(ctx context.Context, id int64, actor string) error {
	return s.DB.InTx(ctx, func(tx pgx.Tx) error {
		job, err := s.River.JobGetTx(ctx, tx, id)
		if errors.Is(err, river.ErrNotFound) {
			return fmt.Errorf("job %d: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := s.River.JobRetryTx(ctx, tx, id); err != nil {
			return fmt.Errorf("retry job %d: %w", id, err)
		}
		return store.Audit(ctx, tx, actor, "job.retry", "river_job", id, map[string]any{"kind": job.Kind, "from": string(job.State)})
	})
}

// --- form handlers -------------------------------------------------------

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

func (s *Server) handleRerunForm(w http.ResponseWriter, r *http.Request) {
	s.formAction(w, r, func(id int64, actor string) (string, string, error) {
		newID, err := s.rerunRun(r.Context(), id, actor)
		return fmt.Sprintf("/runs/%d", newID), fmt.Sprintf("Re-run of run %d queued.", id), err
	})
}

func (s *Server) handleCancelForm(w http.ResponseWriter, r *http.Request) {
	s.formAction(w, r, func(id int64, actor string) (string, string, error) {
		return fmt.Sprintf("/runs/%d", id), "Run cancelled.", s.cancelRun(r.Context(), id, actor)
	})
}

func (s *Server) handleApproveForm(w http.ResponseWriter, r *http.Request) {
	s.formAction(w, r, func(id int64, actor string) (string, string, error) {
		return fmt.Sprintf("/runs/%d", id), "Run approved and queued.", s.approveRun(r.Context(), id, actor)
	})
}

func (s *Server) handleQuarantineForm(w http.ResponseWriter, r *http.Request) {
	s.formAction(w, r, func(id int64, actor string) (string, string, error) {
		owner := strings.TrimSpace(r.PostFormValue("owner"))
		if owner == "" {
			return "", "", clientError(http.StatusBadRequest, "A quarantine needs an owner: who will fix the test?")
		}
		var until *time.Time
		if d := r.PostFormValue("days"); d != "" {
			n, err := strconv.Atoi(d)
			if err != nil || n < 1 || n > 365 {
				return "", "", clientError(http.StatusBadRequest, "days must be a number from 1 to 365")
			}
			t := time.Now().Add(time.Duration(n) * 24 * time.Hour)
			until = &t
		}
		return backTo(r, "/flaky"), "Test quarantined.", s.quarantineTest(r.Context(), id, true, owner, strings.TrimSpace(r.PostFormValue("reason")), until, "dashboard", actor)
	})
}

func (s *Server) handleUnquarantineForm(w http.ResponseWriter, r *http.Request) {
	s.formAction(w, r, func(id int64, actor string) (string, string, error) {
		return backTo(r, "/flaky"), "Quarantine lifted.", s.quarantineTest(r.Context(), id, false, "", "", nil, "dashboard", actor)
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
		status, err := s.transitionIncident(r.Context(), id, action, strings.TrimSpace(r.PostFormValue("note")), actor)
		return fmt.Sprintf("/incidents/%d", id), "Incident is now " + string(status) + ".", err
	})
}

func (s *Server) handleRetryJobForm(w http.ResponseWriter, r *http.Request) {
	s.formAction(w, r, func(id int64, actor string) (string, string, error) {
		return "/dead", fmt.Sprintf("Job %d is queued again.", id), s.retryJob(r.Context(), id, actor)
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
