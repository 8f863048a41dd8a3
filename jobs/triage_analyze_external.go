package jobs

import (
	"bytes"
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// ExternalResults are test results another CI system produced (POST
// /api/results): they become a run with trigger "external" and one step,
// and go through the same triage and flaky detection as Sentinel's own.
type ExternalResults struct {
	RepositoryID int64
	SHA          string
	Branch       string
	PRNumber     int
	ExternalID   string // the other system's run id
	Attempt      int    // the other system's attempt (re-run) number, 1 when unknown
	StepName     string // default "external"
	Results      *triage.Results
	Log          []byte   // the raw input, kept as the step's log (capped)
	Warnings     []string // what reading the results left out (CapWarning), shown on the run
}

// maxExternalLog bounds the input kept as the external step's log.
const maxExternalLog = 8 << 20

// errNoResults means an upload carried no test at all.
var errNoResults = errors.New("the results contain no test")

// RecordExternalRun stores external results as a finished run and queues
// its analysis, all in tx. Posting the same (repository, commit, external
// id, attempt) again changes nothing and returns the existing run with
// created false.
func RecordExternalRun(ctx context.Context, tx pgx.Tx, rc *river.Client[pgx.Tx], in ExternalResults) (runID int64, created bool, err error) {
	if in.Results == nil || len(in.Results.Tests) == 0 {
		return 0, false, errNoResults
	}
	if in.Attempt <= 0 {
		in.Attempt = 1
	}
	if in.StepName == "" {
		in.StepName = "external"
	}
	ref := ""
	if in.Branch != "" {
		ref = "refs/heads/" + in.Branch
	}
	runID, created, err = store.InsertRun(ctx, tx, store.NewRun{RepositoryID: in.RepositoryID, SHA: in.SHA, Ref: ref,
		Branch: in.Branch, PRNumber: in.PRNumber, Trigger: store.TriggerExternal, Attempt: in.Attempt, ExternalID: in.ExternalID})
	if err != nil || !created {
		return runID, false, err
	}
	if _, err := store.TransitionRun(ctx, tx, runID, []store.RunState{store.RunQueued}, store.RunRunning, "", ""); err != nil {
		return 0, false, err
	}
	for _, w := range in.Warnings {
		if err := store.AddRunWarning(ctx, tx, runID, w); err != nil {
			return 0, false, err
		}
	}
	stepID, _, err := store.InsertStep(ctx, tx, store.NewStep{RunID: runID, Name: in.StepName, Attempt: 1, State: triage.StepRunning})
	if err != nil {
		return 0, false, err
	}
	log := in.Log
	truncated := len(log) > maxExternalLog
	if truncated {
		log = log[:maxExternalLog]
	}
	if err := appendLog(ctx, tx, runID, stepID, log); err != nil {
		return 0, false, err
	}
	if err := store.RecordTestResults(ctx, tx, in.RepositoryID, runID, stepID, 1, in.Results.Tests); err != nil {
		return 0, false, err
	}
	code, stepState, runState := 0, triage.StepSucceeded, store.RunSucceeded
	if in.Results.Failing() {
		code, stepState, runState = 1, triage.StepFailed, store.RunFailed
	}
	if err := store.FinishStep(ctx, tx, stepID, store.StepEnd{State: stepState, ExitCode: &code,
		LogBytes: int64(len(in.Log)), LogTruncated: truncated, StoppedPackages: in.Results.Totals().Stopped}); err != nil {
		return 0, false, err
	}
	if _, err := store.TransitionRun(ctx, tx, runID, []store.RunState{store.RunRunning}, runState, "", ""); err != nil {
		return 0, false, err
	}
	if err := EnqueueTriage(ctx, rc, tx, runID); err != nil {
		return 0, false, err
	}
	return runID, true, nil
}

// appendLog stores data as a step log in chunks cut at line ends.
func appendLog(ctx context.Context, q store.Querier, runID, stepID int64, data []byte) error {
	const chunk = 256 << 10
	line, seq := 1, 0
	for len(data) > 0 {
		n := min(len(data), chunk)
		if n < len(data) {
			if i := bytes.LastIndexByte(data[:n], '\n'); i > 0 {
				n = i + 1
			}
		}
		part := data[:n]
		if err := store.AppendLogChunk(ctx, q, runID, store.LogChunk{StepID: stepID, Seq: seq, FirstLine: line, Data: part}); err != nil {
			return err
		}
		line += bytes.Count(part, []byte("\n"))
		seq++
		data = data[n:]
	}
	return nil
}
