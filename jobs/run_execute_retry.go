package jobs

import (
	"regexp"
	"slices"
	"strings"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/triage"
)

// retry is how a failed step is tried again: its own command (or its
// retry_run) in its own image and directory, with the failing tests named
// in the environment the toolchain reads.
type retry struct {
	command string
	env     map[string]string // added to the step's environment
	note    string            // what the log says before the attempt
}

// Environment a retry sets, documented in docs/pipeline.md.
const (
	envRetryTests   = "SENTINEL_RETRY_TESTS"   // failing tests, one name per line
	envRetryPattern = "SENTINEL_RETRY_PATTERN" // ^(A|B)$ over those names
)

// retryPlan decides how to retry a failed step, given its results. A step
// without results is run again whole; with results, only its failing tests
// are selected: for go test, GOFLAGS gains -run=^(A|B)$ -count=1 (go test
// reads GOFLAGS wherever the step calls it: a Makefile, a script, a
// sub-directory); every step also gets SENTINEL_RETRY_TESTS and
// SENTINEL_RETRY_PATTERN for retry_run or a script to use. ok is false
// when a retry cannot tell anything: results with no failing test (the
// failure is outside any test) or a build that failed.
func retryPlan(s runner.Step, stepEnv map[string]string, r *triage.Results) (retry, bool) {
	command := s.Run
	if s.RetryRun != "" {
		command = s.RetryRun
	}
	if s.Results == "" {
		return retry{command: command, note: "sentinel: re-running the whole step (no test results to select from)"}, true
	}
	if r == nil {
		return retry{}, false
	}
	names := failingNames(r)
	if len(names) == 0 {
		return retry{}, false
	}
	if s.Results == runner.ResultsGoTestJSON {
		for _, p := range r.Problems {
			switch p.Kind {
			case triage.ProblemBuildFailed, triage.ProblemSetupFailed, triage.ProblemFailed, triage.ProblemNoEnd:
				return retry{}, false
			}
		}
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	pattern := "^(" + strings.Join(quoted, "|") + ")$"
	env := map[string]string{envRetryTests: strings.Join(names, "\n"), envRetryPattern: pattern}
	note := "sentinel: re-running the step for its failing tests: " + strings.Join(names, ", ")
	if s.Results == runner.ResultsGoTestJSON {
		// GOFLAGS splits on spaces; a test name has none, and QuoteMeta
		// escapes no space, so the pattern stays one flag.
		flags := strings.TrimSpace(stepEnv["GOFLAGS"] + " -run=" + pattern + " -count=1")
		env["GOFLAGS"] = flags
		note += " (GOFLAGS=" + flags + ")"
	}
	return retry{command: command, env: env, note: note}, true
}

// failingNames lists the sorted top-level names of the tests that failed,
// errored or never finished (a subtest's failure re-runs its parent).
func failingNames(r *triage.Results) []string {
	var out []string
	for _, tc := range r.Tests {
		switch tc.Outcome {
		case triage.OutcomeFail, triage.OutcomeError, triage.OutcomeIncomplete:
		default:
			continue
		}
		top, _, _ := strings.Cut(tc.Name, "/")
		if !slices.Contains(out, top) {
			out = append(out, top)
		}
	}
	slices.Sort(out)
	return out
}
