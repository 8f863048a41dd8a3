package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// pipeline runs the steps in order; the first step that does not succeed
// ends the run and the steps after it are skipped. A step whose when: does
// not match the run (or every step, when the pipeline's does not) is
// skipped with the reason; a run that skipped them all succeeds with
// errFilteredOut, which its check run reports as neutral.
func (ex *execution) pipeline(ctx context.Context, p *runner.Pipeline, facts runner.Facts) outcome {
	db := ex.w.DB
	ids := make([]int64, len(p.Steps))
	attempts := make([]int, len(p.Steps))
	// All steps are recorded up front so that the dashboard shows the plan.
	for i, s := range p.Steps {
		id, att, err := store.InsertStep(ctx, db, store.NewStep{RunID: ex.run.ID, Position: i, Name: s.Name,
			Image: ex.image(p, s), Command: s.Run})
		if err != nil {
			return ex.failure(ctx, err)
		}
		ids[i], attempts[i] = id, att
	}
	pipelineOK, pipelineWhy := p.When.Match(facts)
	runs := make([]bool, len(p.Steps))
	reasons := make([]string, len(p.Steps))
	anyRuns := false
	for i, s := range p.Steps {
		runs[i], reasons[i] = pipelineOK, pipelineWhy
		if runs[i] {
			runs[i], reasons[i] = s.When.Match(facts)
		}
		anyRuns = anyRuns || runs[i]
	}
	if anyRuns { // services are for steps: none is started for a run that runs none
		if o, failed := ex.startServices(ctx, p); failed {
			return o
		}
	}
	ran := false
	var why []string
	for i, s := range p.Steps {
		ok, reason := runs[i], reasons[i]
		if !ok {
			why = append(why, fmt.Sprintf("%s: %s", s.Name, reason))
			if err := store.FinishStep(ctx, db, ids[i], store.StepEnd{State: triage.StepSkipped, Error: "filtered out: " + reason}); err != nil {
				return ex.failure(ctx, err)
			}
			continue
		}
		ran = true
		if o, done := ex.step(ctx, p, i, s, ids[i], attempts[i]); done {
			return o
		}
	}
	if !ran {
		if !pipelineOK {
			why = []string{"pipeline: " + pipelineWhy}
		}
		return outcome{state: store.RunSucceeded, err: fmt.Errorf("%w (%s)", errFilteredOut, strings.Join(why, "; "))}
	}
	return outcome{state: store.RunSucceeded}
}

// errFilteredOut begins the error of a run whose when: filters skipped every
// step; the check run is neutral and says why.
var errFilteredOut = errors.New(FilteredOutPrefix)

// FilteredOutPrefix starts the error of a run whose every step was filtered
// out by when:, which RenderCheck reports as neutral.
const FilteredOutPrefix = "every step was filtered out by when:"

// step runs one step and, with retry_failed, runs it again (retryPlan:
// its failing tests selected through the environment, or whole).
// done reports that the run ends here, with outcome o.
func (ex *execution) step(ctx context.Context, p *runner.Pipeline, pos int, s runner.Step, stepID int64, attempt int) (o outcome, done bool) {
	spec := runner.StepSpec{
		RunID: ex.run.ID, StepID: stepID, Name: s.Name, Workspace: ex.ws, Image: ex.image(p, s),
		Command: s.Run, Env: ex.env(p, s), Limits: ex.limits(p), Timeout: s.Timeout, Network: s.Network,
		Caches: ex.caches, CacheScope: ex.cacheScope, Services: len(p.Services) > 0,
	}
	if err := store.StartStep(ctx, ex.w.DB, stepID, "", ""); err != nil {
		return ex.failure(ctx, err), true
	}
	res, results, err := ex.attempt(ctx, spec, s, attempt, "")
	base := spec.Env
	for retry := 0; err == nil && retry < s.RetryFailed && res.Failed() && !res.TimedOut && !res.OOMKilled; retry++ {
		plan, ok := retryPlan(s, base, results)
		if !ok {
			break
		}
		spec.Command = plan.command
		spec.Env = maps.Clone(base)
		maps.Copy(spec.Env, plan.env)
		spec.StepID, attempt, err = store.InsertStep(ctx, ex.w.DB, store.NewStep{RunID: ex.run.ID, Position: pos,
			Name: s.Name, Image: spec.Image, Command: plan.command, State: triage.StepRunning})
		if err != nil {
			break
		}
		ex.log.Info("retrying a failed step", "step", s.Name, "attempt", attempt)
		res, results, err = ex.attempt(ctx, spec, s, attempt, plan.note)
	}
	switch {
	case err != nil:
		return ex.failure(ctx, err), true
	case res.TimedOut:
		return outcome{state: store.RunTimedOut, category: triage.CategoryTimeout,
			err: fmt.Errorf("step %q exceeded its %s timeout", s.Name, s.Timeout)}, true
	case res.OOMKilled:
		return outcome{state: store.RunFailed, category: triage.CategoryOOM,
			err: fmt.Errorf("step %q was killed: out of memory", s.Name)}, true
	case res.Failed():
		return outcome{state: store.RunFailed, err: fmt.Errorf("step %q exited with code %d", s.Name, res.ExitCode)}, true
	}
	return outcome{}, false
}

// attempt runs the step once into its own step row (spec.StepID), streams
// its log, stores its test results and records how it ended.
func (ex *execution) attempt(ctx context.Context, spec runner.StepSpec, s runner.Step, attempt int, note string) (runner.StepResult, *triage.Results, error) {
	db := ex.w.DB
	runID := ex.run.ID
	opts := ex.w.Config.Log
	opts.Secrets = ex.secrets
	stream := runner.NewLogStream(ctx, func(ctx context.Context, stepID int64, seq, firstLine int, data []byte) error {
		return store.AppendLogChunk(ctx, db, runID, store.LogChunk{StepID: stepID, Seq: seq, FirstLine: firstLine, Data: data})
	}, spec.StepID, opts)
	spec.Stdout, spec.Stderr = stream, stream
	if note != "" {
		fmt.Fprintln(stream, note)
	}
	if ex.fork && len(s.Secrets) > 0 {
		fmt.Fprintf(stream, "sentinel: this pull request comes from a fork, which gets no secrets: %s not set\n", strings.Join(s.Secrets, ", "))
	}

	// go test -json output is kept whole in a file beside the workspace (not
	// in memory, not in the capped log) for the parser.
	var jsonOut *os.File
	if s.Results == runner.ResultsGoTestJSON {
		f, err := os.CreateTemp(ex.w.Config.WorkDir, "results-*.json")
		if err != nil {
			stream.Close()
			return runner.StepResult{}, nil, &runner.InfraError{Op: "results file", Err: err}
		}
		defer os.Remove(f.Name())
		defer f.Close()
		jsonOut = f
		spec.Stdout = io.MultiWriter(stream, f)
	}
	started := time.Now()
	ex.lastImage = spec.Image
	res, runErr := ex.w.Config.Runtime.RunStep(ctx, spec)
	stats, logErr := stream.Close()
	if logErr != nil {
		ex.log.Warn("storing the step log failed", "step", s.Name, "err", logErr)
	}

	var results *triage.Results
	if runErr == nil {
		var err error
		results, err = ex.results(s, jsonOut, started)
		if err != nil {
			ex.log.Warn("reading test results failed", "step", s.Name, "err", err)
		}
		maskResults(results, ex.secrets)
		if results != nil {
			// COPY, in a transaction of its own: a step can report
			// thousands of results, and a step's results land whole or not at all.
			if err := ex.w.DB.InTx(ctx, func(tx pgx.Tx) error {
				return store.RecordTestResults(ctx, tx, ex.run.RepositoryID, runID, spec.StepID, attempt, results.Tests)
			}); err != nil {
				runErr = err
			}
		}
	}
	end := stepEnd(res, runErr, ctx, spec)
	end.Error = runner.MaskString(end.Error, ex.secrets)
	end.LogBytes, end.LogTruncated = stats.Bytes, stats.Truncated
	fresh, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := store.FinishStep(fresh, db, spec.StepID, end); err != nil && runErr == nil {
		runErr = err
	}
	return res, results, runErr
}

// stepEnd maps what the runtime said to the step row's end.
func stepEnd(res runner.StepResult, err error, ctx context.Context, spec runner.StepSpec) store.StepEnd {
	var e store.StepEnd
	cause := context.Cause(ctx)
	switch {
	case err != nil && errors.Is(cause, errRunTimeout):
		e.State, e.Error = triage.StepTimedOut, "the run exceeded its timeout"
	case err != nil && cause != nil:
		e.State, e.Error = triage.StepCancelled, cause.Error()
	case err != nil:
		e.State, e.Error = triage.StepErrored, err.Error()
	case res.TimedOut:
		e.State, e.Error = triage.StepTimedOut, fmt.Sprintf("exceeded its %s timeout", spec.Timeout)
	default:
		code := res.ExitCode
		e.ExitCode, e.OOMKilled = &code, res.OOMKilled
		e.State = triage.StepSucceeded
		if res.Failed() {
			e.State = triage.StepFailed
		}
		if res.OOMKilled {
			e.Error = "killed: out of memory"
			if spec.Limits.Memory > 0 {
				e.Error += fmt.Sprintf(" (limit %d MiB)", spec.Limits.Memory>>20)
			}
		}
	}
	return e
}

// results parses what the step produced: the captured stdout for
// go-test-json, files matching the glob written since the attempt started
// for junit.
func (ex *execution) results(s runner.Step, jsonOut *os.File, started time.Time) (*triage.Results, error) {
	if jsonOut != nil {
		if _, err := jsonOut.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		return triage.ParseGoTestJSON(jsonOut)
	}
	glob, ok := s.JUnitGlob()
	if !ok {
		return nil, nil
	}
	fsys := os.DirFS(ex.ws)
	files, err := runner.GlobFiles(fsys, glob)
	if err != nil {
		return nil, err
	}
	all := &triage.Results{Format: "junit"}
	var errs []error
	for _, name := range files {
		// Reports left by an earlier attempt would be read twice.
		if st, err := os.Stat(ex.ws + "/" + name); err != nil || st.ModTime().Before(started.Add(-2*time.Second)) {
			continue
		}
		f, err := fsys.Open(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r, err := triage.ParseJUnit(f)
		f.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		all.Tests = append(all.Tests, r.Tests...)
		all.Suites = append(all.Suites, r.Suites...)
	}
	return all, errors.Join(errs...)
}

func (ex *execution) image(p *runner.Pipeline, s runner.Step) string {
	img := s.Image
	if img == "" {
		img = p.Image
	}
	if r, ok := ex.w.Config.ImageRewrite[img]; ok {
		return r
	}
	return img
}

func (ex *execution) limits(p *runner.Pipeline) runner.Limits {
	return p.Limits.Or(ex.w.Config.DefaultLimits)
}

// env is what every step sees: CI markers, the run's identity, the
// pipeline's env, then the step's, then the secrets it names. Never a token.
func (ex *execution) env(p *runner.Pipeline, s runner.Step) map[string]string {
	env := map[string]string{
		"CI": "true", "SENTINEL": "true",
		"SENTINEL_RUN_ID": strconv.FormatInt(ex.run.ID, 10), "SENTINEL_SHA": ex.run.SHA,
		"SENTINEL_BRANCH": ex.run.Branch, "SENTINEL_REPOSITORY": ex.run.Repository,
	}
	maps.Copy(env, p.Env)
	maps.Copy(env, s.Env)
	maps.Copy(env, ex.secretEnv(s)) // only the secrets the step names
	return env
}
