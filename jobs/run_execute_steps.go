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
	if err := store.SetRunLimits(ctx, db, ex.run.ID, ex.limitReport(ex.limits(p))); err != nil {
		return ex.failure(ctx, err)
	}
	carry, err := ex.failedOnlyPlan(ctx, p)
	if err != nil {
		return ex.failure(ctx, err)
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
		anyRuns = anyRuns || runs[i] && (carry == nil || carry[i].skip == "")
	}
	if anyRuns { // services are for steps: none is started for a run that runs none
		if o, failed := ex.startServices(ctx, p); failed {
			return o
		}
	}
	ran, passed := false, false // passed: some step was skipped for passing in an earlier attempt
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
		var first *retry
		if carry != nil {
			if carry[i].skip != "" {
				// A "Re-run failed" attempt: the step passed in an earlier one.
				passed = true
				if err := store.FinishStep(ctx, db, ids[i], store.StepEnd{State: triage.StepSkipped, Error: carry[i].skip}); err != nil {
					return ex.failure(ctx, err)
				}
				continue
			}
			first = carry[i].plan
		}
		ran = true
		if o, done := ex.step(ctx, p, i, s, ids[i], attempts[i], first); done {
			return o
		}
	}
	if !ran && !passed {
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
// its failing tests selected through the environment, or whole). first,
// when not nil, is how a "Re-run failed" attempt runs it the first time:
// only the tests that failed in the attempt it re-runs.
// done reports that the run ends here, with outcome o.
func (ex *execution) step(ctx context.Context, p *runner.Pipeline, pos int, s runner.Step, stepID int64, attempt int, first *retry) (o outcome, done bool) {
	spec := runner.StepSpec{
		RunID: ex.run.ID, StepID: stepID, Name: s.Name, Workspace: ex.ws, Image: ex.image(p, s),
		Command: s.Run, Env: ex.env(p, s), Limits: ex.limits(p), Timeout: s.Timeout, Network: s.Network,
		Caches: ex.caches, CacheScope: ex.cacheScope, Services: len(p.Services) > 0,
	}
	base := spec.Env
	note := ""
	if first != nil {
		spec.Command, note = first.command, first.note
		spec.Env = maps.Clone(base)
		maps.Copy(spec.Env, first.env)
	}
	if err := store.StartStep(ctx, ex.w.DB, stepID, "", spec.Command); err != nil {
		return ex.failure(ctx, err), true
	}
	res, results, err := ex.attempt(ctx, spec, s, attempt, note)
	for retry := 0; err == nil && retry < s.RetryFailed && res.Failed() && !res.TimedOut && !res.OOMKilled && !res.DiskExceeded; retry++ {
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
	case res.DiskExceeded:
		return outcome{state: store.RunFailed, category: triage.CategoryDisk,
			err: fmt.Errorf("step %q was stopped: disk full: the workspace exceeded its limit of %s", s.Name, runner.FormatBytes(spec.Limits.Disk))}, true
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
		// Kept to the result file cap: the file is outside the workspace,
		// where the disk limit does not watch.
		_, maxFile := ex.w.Config.resultCaps()
		spec.Stdout = io.MultiWriter(stream, &cappedWriter{w: f, left: maxFile})
	}
	started := time.Now()
	ex.lastImage = spec.Image
	res, runErr := ex.runStep(ctx, spec)
	stats, logErr := stream.Close()
	if logErr != nil {
		ex.log.Warn("storing the step log failed", "step", s.Name, "err", logErr)
	}

	var results *triage.Results
	if runErr == nil {
		var warnings []string
		var noFiles string
		results, warnings, noFiles = ex.results(s, jsonOut, started)
		// A step that failed may have stopped before writing its results;
		// one that passed and wrote none is misconfigured.
		if noFiles != "" && !res.Failed() {
			warnings = append(warnings, noFiles)
			ex.triage.addProblem(noFiles)
		}
		maskResults(results, ex.secrets)
		if results != nil {
			// COPY, in a transaction of its own: a step can report
			// thousands of results, and a step's results land whole or not at all.
			err := ex.w.DB.InTx(ctx, func(tx pgx.Tx) error {
				return store.RecordTestResults(ctx, tx, ex.run.RepositoryID, runID, spec.StepID, attempt, results.Tests)
			})
			switch {
			case store.IsDataException(err):
				// What the step wrote, not the machinery: the run goes on without them.
				warnings = append(warnings, fmt.Sprintf("step %q: its test results could not be stored: %v", s.Name, err))
				results = nil
			case err != nil:
				runErr = err
			}
		}
		for _, w := range warnings {
			ex.log.Warn("test results", "step", s.Name, "warning", w)
			if err := store.AddRunWarning(ctx, db, runID, w); err != nil && runErr == nil {
				runErr = err
			}
		}
	}
	end := stepEnd(res, runErr, ctx, spec)
	end.Error = runner.MaskString(end.Error, ex.secrets)
	end.LogBytes, end.LogTruncated = stats.Bytes, stats.Truncated
	if results != nil {
		end.StoppedPackages = results.Totals().Stopped
	}
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
	case res.DiskExceeded:
		e.State, e.Error = triage.StepFailed, fmt.Sprintf("stopped: disk full: the workspace exceeded its limit of %s", runner.FormatBytes(spec.Limits.Disk))
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
// for junit. What the step wrote wrong (a file that does not parse, one
// over the size cap, more tests than the cap) is a warning, not an error:
// it is data, and the run goes on with what could be read. A file that
// does not parse is also a configuration problem named in the check run;
// noFiles says the step wrote no file its results: glob matches.
func (ex *execution) results(s runner.Step, jsonOut *os.File, started time.Time) (r *triage.Results, warnings []string, noFiles string) {
	maxTests, maxFile := ex.w.Config.resultCaps()
	capped := func(r *triage.Results) (*triage.Results, []string, string) {
		var dropped int
		r.Tests, dropped = triage.CapTests(r.Tests, maxTests)
		r.Dropped += dropped
		if w := CapWarning(r); w != "" {
			warnings = append(warnings, fmt.Sprintf("step %q: %s", s.Name, w))
		}
		return r, warnings, noFiles
	}
	if jsonOut != nil {
		if _, err := jsonOut.Seek(0, io.SeekStart); err != nil {
			return nil, []string{ex.resultProblem(fmt.Sprintf("step %q: reading its go test -json output: %v", s.Name, err))}, ""
		}
		if st, err := jsonOut.Stat(); err == nil && st.Size() >= maxFile {
			// Cut short, the stream would leave tests without their end, and
			// they would read as incomplete: better none than wrong ones.
			return nil, []string{fmt.Sprintf("step %q: its go test -json output reached the cap of %s (SENTINEL_MAX_RESULT_FILE_SIZE); its results were not read",
				s.Name, runner.FormatBytes(maxFile))}, ""
		}
		r, err := triage.ParseGoTestJSON(jsonOut)
		if err != nil {
			return nil, []string{ex.resultProblem(fmt.Sprintf("step %q: its go test -json output could not be parsed: %v", s.Name, err))}, ""
		}
		return capped(r)
	}
	glob, ok := s.JUnitGlob()
	if !ok {
		return nil, nil, ""
	}
	fsys := os.DirFS(ex.ws)
	files, err := runner.GlobFiles(fsys, glob)
	if err != nil {
		return nil, []string{ex.resultProblem(fmt.Sprintf("step %q: results %s: %v", s.Name, glob, err))}, ""
	}
	all := &triage.Results{Format: "junit"}
	read := 0
	for _, name := range files {
		// Reports left by an earlier attempt would be read twice.
		st, err := os.Stat(ex.ws + "/" + name)
		if err != nil || st.ModTime().Before(started.Add(-2*time.Second)) {
			continue
		}
		if st.Size() > maxFile {
			warnings = append(warnings, fmt.Sprintf("step %q: %s", s.Name, OversizeWarning(name, st.Size(), maxFile)))
			continue
		}
		f, err := fsys.Open(name)
		if err != nil {
			warnings = append(warnings, ex.resultProblem(fmt.Sprintf("step %q: results file %s: %v", s.Name, name, err)))
			continue
		}
		r, err := ParseResults(f, triage.FormatJUnit, maxTests)
		f.Close()
		if err != nil {
			warnings = append(warnings, ex.resultProblem(fmt.Sprintf("step %q: results file %s is not valid JUnit XML: %v", s.Name, name, err)))
			continue
		}
		all.Tests = append(all.Tests, r.Tests...)
		all.Suites = append(all.Suites, r.Suites...)
		all.Dropped += r.Dropped
		read++
	}
	if read == 0 && len(warnings) == 0 {
		noFiles = fmt.Sprintf("step %q: results: no file matching junit:%s was written by the step (check the results: glob in %s)", s.Name, glob, runner.PipelineFile)
	}
	return capped(all)
}

// resultProblem names a results file the step got wrong as a configuration
// problem of the pipeline in the check run, and returns it for the run's
// warnings.
func (ex *execution) resultProblem(msg string) string {
	ex.triage.addProblem(msg)
	return msg
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

// limitReport is what the run page and the API show of the steps' limits:
// each value and whether it holds under this runtime.
func (ex *execution) limitReport(l runner.Limits) []store.StepLimit {
	var out []store.StepLimit
	if e, ok := ex.w.Config.Runtime.(runner.LimitEnforcer); ok {
		out = e.Enforcement(l)
	} else {
		for _, name := range []string{"memory", "cpus", "pids"} {
			out = append(out, store.StepLimit{Name: name, Value: "?", How: "not known: the " + ex.w.Config.Runtime.Name() + " runtime does not say"})
		}
	}
	disk := store.StepLimit{Name: "disk", Value: "none", How: "not set"}
	if l.Disk > 0 {
		disk = store.StepLimit{Name: "disk", Value: runner.FormatBytes(l.Disk), Enforced: true,
			How: fmt.Sprintf("workspace measured every %s; the step is stopped past it", ex.w.Config.diskWatchInterval())}
	}
	return append(out, disk)
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

// runStep runs the step through the runtime while watching the workspace's
// size: past the disk limit the step is stopped and ends DiskExceeded, a
// result of the step rather than an error.
func (ex *execution) runStep(ctx context.Context, spec runner.StepSpec) (runner.StepResult, error) {
	if spec.Limits.Disk <= 0 {
		return ex.w.Config.Runtime.RunStep(ctx, spec)
	}
	stepCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	go runner.WatchWorkspace(stepCtx, spec.Workspace, spec.Limits.Disk, ex.w.Config.diskWatchInterval(), func(e *runner.DiskExceeded) {
		ex.log.Warn("step stopped", "step", spec.Name, "err", e)
		stop(e)
	})
	res, err := ex.w.Config.Runtime.RunStep(stepCtx, spec)
	var full *runner.DiskExceeded
	if err != nil && context.Cause(ctx) == nil && errors.As(context.Cause(stepCtx), &full) {
		res.DiskExceeded, res.ExitCode = true, -1
		return res, nil
	}
	return res, err
}

// cappedWriter writes the first left bytes to w and drops the rest,
// reporting success so that the step's other outputs go on.
type cappedWriter struct {
	w    io.Writer
	left int64
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if c.left <= 0 {
		return len(p), nil
	}
	n := int64(len(p))
	if n > c.left {
		n = c.left
	}
	if _, err := c.w.Write(p[:n]); err != nil {
		return 0, err
	}
	c.left -= n
	return len(p), nil
}
