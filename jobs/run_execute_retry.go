package jobs

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/triage"
)

// retryCommand is the command that re-runs only what failed: for go test
// -json, one `go test -run '^(A|B)$' pkg` per package with failing top-level
// tests; for JUnit steps, the step itself. ok is false when a retry cannot
// tell anything: no failing tests, or the failure is outside any test (a
// build failure would still be there).
func retryCommand(s runner.Step, r *triage.Results) (command string, ok bool) {
	if r == nil {
		return "", false
	}
	failing := failingTests(r)
	if len(failing) == 0 {
		return "", false
	}
	if _, junit := s.JUnitGlob(); junit {
		return s.Run, true
	}
	if s.Results != runner.ResultsGoTestJSON {
		return "", false
	}
	for _, p := range r.Problems {
		switch p.Kind {
		case triage.ProblemBuildFailed, triage.ProblemSetupFailed, triage.ProblemFailed, triage.ProblemNoEnd:
			return "", false
		}
	}
	pkgs := make([]string, 0, len(failing))
	for pkg := range failing {
		pkgs = append(pkgs, pkg)
	}
	slices.Sort(pkgs)
	var b strings.Builder
	b.WriteString("rc=0\n")
	for _, pkg := range pkgs {
		names := failing[pkg]
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = regexp.QuoteMeta(n)
		}
		fmt.Fprintf(&b, "go test -json -count=1 -run %s %s || rc=$?\n",
			shellQuote("^("+strings.Join(quoted, "|")+")$"), shellQuote(pkg))
	}
	b.WriteString("exit $rc\n")
	return b.String(), true
}

// failingTests maps each package to the sorted top-level names of its tests
// that failed, errored or never finished (a subtest's failure re-runs its parent).
func failingTests(r *triage.Results) map[string][]string {
	out := map[string][]string{}
	for _, tc := range r.Tests {
		switch tc.Outcome {
		case triage.OutcomeFail, triage.OutcomeError, triage.OutcomeIncomplete:
		default:
			continue
		}
		top, _, _ := strings.Cut(tc.Name, "/")
		if !slices.Contains(out[tc.Package], top) {
			out[tc.Package] = append(out[tc.Package], top)
		}
	}
	for _, names := range out {
		slices.Sort(names)
	}
	return out
}

// shellQuote quotes s for /bin/sh as a single word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
