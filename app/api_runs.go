package app

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// apiRun is a run in the JSON API.
type apiRun struct {
	ID            int64           `json:"id"`
	Repository    string          `json:"repository"`
	SHA           string          `json:"sha"`
	Ref           string          `json:"ref"`
	Branch        string          `json:"branch"`
	PRNumber      int             `json:"pr_number,omitempty"`
	CommitMessage string          `json:"commit_message"`
	Author        string          `json:"author"`
	Trigger       store.Trigger   `json:"trigger"`
	Attempt       int             `json:"attempt"`
	ExternalID    string          `json:"external_id,omitempty"`
	State         store.RunState  `json:"state"`
	Conclusion    string          `json:"conclusion"`
	Category      triage.Category `json:"category,omitempty"`
	Error         string          `json:"error,omitempty"`
	SupersededBy  int64           `json:"superseded_by,omitempty"`
	CheckRunID    int64           `json:"check_run_id,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	StartedAt     *time.Time      `json:"started_at"`
	FinishedAt    *time.Time      `json:"finished_at"`
	DurationMS    int64           `json:"duration_ms"`
	URL           string          `json:"url"`
	Fork          bool            `json:"fork"`
	// Limits are the limits the steps were given and whether the runtime
	// enforced each; null before the steps.
	Limits   []store.StepLimit `json:"limits"`
	Warnings []string          `json:"warnings"`
}

func (s *Server) toAPIRun(r store.Run, now time.Time) apiRun {
	return apiRun{ID: r.ID, Repository: r.Repository, SHA: r.SHA, Ref: r.Ref, Branch: r.Branch, PRNumber: r.PRNumber,
		CommitMessage: r.CommitMessage, Author: r.Author, Trigger: r.Trigger, Attempt: r.Attempt, ExternalID: r.ExternalID,
		State: r.State, Conclusion: r.Conclusion, Category: r.Category, Error: r.Error, SupersededBy: r.SupersededBy,
		CheckRunID: r.CheckRunID, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
		DurationMS: r.Duration(now).Milliseconds(), URL: strings.TrimRight(s.Opts.PublicURL, "/") + "/runs/" + strconv.FormatInt(r.ID, 10),
		Fork: r.Fork, Limits: r.Limits, Warnings: r.Warnings}
}

type apiStep struct {
	ID           int64            `json:"id"`
	Position     int              `json:"position"`
	Name         string           `json:"name"`
	Attempt      int              `json:"attempt"`
	Image        string           `json:"image"`
	Command      string           `json:"command"`
	State        triage.StepState `json:"state"`
	ExitCode     *int             `json:"exit_code"`
	OOMKilled    bool             `json:"oom_killed"`
	Error        string           `json:"error,omitempty"`
	LogBytes     int64            `json:"log_bytes"`
	LogTruncated bool             `json:"log_truncated"`
	LogURL       string           `json:"log_url"`
	// StoppedPackages: packages a panic or a timeout ended; their later
	// tests did not run and are in no count.
	StoppedPackages int        `json:"stopped_packages"`
	StartedAt       *time.Time `json:"started_at"`
	FinishedAt      *time.Time `json:"finished_at"`
}

type apiFailure struct {
	ID          int64                `json:"id"`
	Step        string               `json:"step"`
	ClusterID   int64                `json:"cluster_id,omitempty"`
	Test        string               `json:"test,omitempty"`
	Category    triage.Category      `json:"category"`
	Title       string               `json:"title"`
	Message     string               `json:"message,omitempty"` // raw, as the test or tool printed it
	Fingerprint string               `json:"fingerprint"`
	Confidence  float64              `json:"confidence"`
	File        string               `json:"file,omitempty"`
	Line        int                  `json:"line,omitempty"`
	Hint        string               `json:"hint,omitempty"`
	Remediation string               `json:"remediation,omitempty"`
	Flaky       bool                 `json:"flaky"`
	Quarantined bool                 `json:"quarantined"`
	Evidence    []store.EvidenceLine `json:"evidence"`
	// Diagnostics are the located problems the matchers read in the
	// step's log (on its first failure), each a check-run annotation;
	// DiagnosticsDropped counts those not kept.
	Diagnostics        []apiDiagnostic `json:"diagnostics"`
	DiagnosticsDropped int             `json:"diagnostics_dropped"`
}

type apiDiagnostic struct {
	File     string `json:"file"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Code     string `json:"code,omitempty"`
	Owner    string `json:"owner"`
	LogLine  int64  `json:"log_line"`
}

func toAPIDiagnostics(ds []triage.Diagnostic) []apiDiagnostic {
	out := make([]apiDiagnostic, 0, len(ds))
	for _, d := range ds {
		out = append(out, apiDiagnostic{File: d.File, Line: d.Line, Column: d.Column, Severity: d.Severity, Message: d.Message,
			Code: d.Code, Owner: d.Owner, LogLine: d.LogLine})
	}
	return out
}

type apiAttempt struct {
	Attempt    int    `json:"attempt"`
	Outcome    string `json:"outcome"`
	DurationMS int64  `json:"duration_ms"`
	File       string `json:"file,omitempty"`
	Line       int    `json:"line,omitempty"`
	Message    string `json:"message,omitempty"`
}

type apiTest struct {
	Package  string       `json:"package"`
	Name     string       `json:"name"`
	Outcome  string       `json:"outcome"`
	Flaky    bool         `json:"flaky"`
	Attempts []apiAttempt `json:"attempts"`
}

type apiCall struct {
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Status    int       `json:"status"`
	Recorded  bool      `json:"recorded"`
	Request   jsonRaw   `json:"request"`
	CreatedAt time.Time `json:"created_at"`
}

type apiRunDetail struct {
	apiRun
	// StoppedPackages sums the last attempt of each step: see apiStep.
	StoppedPackages int          `json:"stopped_packages"`
	Steps           []apiStep    `json:"steps"`
	Failures        []apiFailure `json:"failures"`
	Tests           []apiTest    `json:"tests"`
	GitHubCalls     []apiCall    `json:"github_calls"`
}

func toAPICalls(calls []store.OutboundCall) []apiCall {
	out := make([]apiCall, 0, len(calls))
	for _, c := range calls {
		out = append(out, apiCall{Method: c.Method, Path: c.Path, Status: c.Status, Recorded: c.Recorded, Request: jsonRaw(c.Request), CreatedAt: c.CreatedAt})
	}
	return out
}

func (s *Server) apiListRuns(w http.ResponseWriter, r *http.Request) {
	f, err := runFilterFromQuery(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if f.Repository != "" {
		if _, err := s.repoByName(r, f.Repository); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	runs, err := store.ListRuns(r.Context(), s.DB, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := time.Now()
	out := make([]apiRun, 0, len(runs))
	last := ""
	for _, run := range runs {
		out = append(out, s.toAPIRun(run, now))
		last = strconv.FormatInt(run.ID, 10)
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": out, "next_cursor": nextCursor(len(runs), f.Limit, last)})
}

func (s *Server) apiGetRun(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := runView{page: page{Now: time.Now()}}
	if err := s.loadRun(r.Context(), &v, id, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	d := apiRunDetail{apiRun: s.toAPIRun(v.Run, v.Now), Steps: []apiStep{}, Failures: []apiFailure{}, Tests: []apiTest{}, GitHubCalls: toAPICalls(v.Outbound), StoppedPackages: v.Stopped}
	for _, st := range v.Steps {
		d.Steps = append(d.Steps, apiStep{ID: st.ID, Position: st.Position, Name: st.Name, Attempt: st.Attempt, Image: st.Image,
			Command: st.Command, State: st.State, ExitCode: st.ExitCode, OOMKilled: st.OOMKilled, Error: st.Error,
			LogBytes: st.LogBytes, LogTruncated: st.LogTruncated, StartedAt: st.StartedAt, FinishedAt: st.FinishedAt,
			LogURL: d.URL + "/steps/" + strconv.FormatInt(st.ID, 10) + "/log", StoppedPackages: st.StoppedPackages})
	}
	for _, f := range v.Failures {
		d.Failures = append(d.Failures, apiFailure{ID: f.ID, Step: f.StepName, ClusterID: f.ClusterID, Test: f.TestName,
			Category: f.Category, Title: f.Title, Message: f.Message, Fingerprint: f.Fingerprint, Confidence: round2(f.Confidence), File: f.File, Line: f.Line,
			Hint: f.Hint, Remediation: f.Remediation, Flaky: f.Flaky, Quarantined: f.Quarantined, Evidence: f.Evidence,
			Diagnostics: toAPIDiagnostics(f.Diagnostics), DiagnosticsDropped: f.DiagnosticsDropped})
	}
	for _, t := range v.Tests {
		at := apiTest{Package: t.Package, Name: t.Name, Outcome: t.Outcome, Flaky: t.Flaky}
		for _, a := range t.Attempts {
			at.Attempts = append(at.Attempts, apiAttempt{Attempt: a.Attempt, Outcome: a.Outcome, DurationMS: a.Duration.Milliseconds(),
				File: a.File, Line: a.Line, Message: a.Message})
		}
		d.Tests = append(d.Tests, at)
	}
	writeJSON(w, http.StatusOK, d)
}

// apiRunAction answers a run action with the run as it is afterwards.
func (s *Server) apiRunAction(w http.ResponseWriter, r *http.Request, status int, act func(id int64, actor string) (int64, error)) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resultID, err := act(id, s.apiActor(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	run, err := store.GetRun(r.Context(), s.DB, resultID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, status, map[string]any{"run": s.toAPIRun(run, time.Now())})
}

func (s *Server) apiApproveRun(w http.ResponseWriter, r *http.Request) {
	s.apiRunAction(w, r, http.StatusOK, func(id int64, actor string) (int64, error) {
		return id, s.Actions.Approve(r.Context(), id, actor)
	})
}

func (s *Server) apiCancelRun(w http.ResponseWriter, r *http.Request) {
	s.apiRunAction(w, r, http.StatusOK, func(id int64, actor string) (int64, error) {
		return id, s.Actions.Cancel(r.Context(), id, actor)
	})
}

// apiRerunRun starts a new attempt of the run: whole, or with
// {"failed_only": true} only what failed in it (the check run's "Re-run
// failed"). The body is optional.
func (s *Server) apiRerunRun(w http.ResponseWriter, r *http.Request) {
	var body struct {
		FailedOnly bool `json:"failed_only"`
	}
	if r.ContentLength != 0 && isJSON(r) {
		if err := decodeJSON(r, &body); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	s.apiRunAction(w, r, http.StatusCreated, func(id int64, actor string) (int64, error) {
		return s.Actions.Rerun(r.Context(), id, actor, body.FailedOnly)
	})
}
