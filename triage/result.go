package triage

import (
	"strconv"
	"time"
)

// Outcome is the final state of one test run.
type Outcome string

const (
	OutcomePass       Outcome = "pass"
	OutcomeFail       Outcome = "fail"
	OutcomeSkip       Outcome = "skip"
	OutcomeError      Outcome = "error"      // JUnit <error>: the test could not run properly
	OutcomeIncomplete Outcome = "incomplete" // started, never ended (crash, timeout, killed)
)

// MaxTestOutput bounds the output kept per test, in bytes.
const MaxTestOutput = 16 * 1024

// TestCase is one run of one test.
type TestCase struct {
	Package  string        `json:"package"`          // Go import path, or JUnit classname (suite name when absent)
	Name     string        `json:"name"`             // subtests as "Parent/Sub"
	Parent   string        `json:"parent,omitempty"` // name of the parent test for a subtest
	Attempt  int           `json:"attempt"`          // 1 for the first run of this test in the input, 2 for a re-run...
	Outcome  Outcome       `json:"outcome"`
	Duration time.Duration `json:"duration"`
	File     string        `json:"file,omitempty"`
	Line     int           `json:"line,omitempty"`
	Message  string        `json:"message,omitempty"` // the failure message, first lines
	Output   string        `json:"output,omitempty"`  // bounded by MaxTestOutput
}

// TestID is the stable, repository-independent identity of a test:
// package (or class) and name. It is what the store keys tests on and
// what a test failure's fingerprint uses.
func TestID(pkg, name string) string {
	if pkg == "" {
		return name
	}
	return pkg + "::" + name
}

// ID returns TestID(t.Package, t.Name).
func (t TestCase) ID() string { return TestID(t.Package, t.Name) }

// ProblemKind names a problem outside any single test.
type ProblemKind string

const (
	ProblemBuildFailed ProblemKind = "build-failed" // the package or test binary did not compile
	ProblemSetupFailed ProblemKind = "setup-failed" // go test could not set the package up
	ProblemVet         ProblemKind = "vet"          // a go vet finding (a vet step, or the vet go test runs)
	ProblemPanic       ProblemKind = "panic"        // a panic ended the test binary
	ProblemTimeout     ProblemKind = "timeout"      // "test timed out after"
	ProblemRace        ProblemKind = "race"         // "WARNING: DATA RACE"
	ProblemNoEnd       ProblemKind = "no-end"       // a package or test started and never ended
	ProblemFailed      ProblemKind = "failed"       // the package failed with no failing test to blame
)

// Problem is a package-level problem found while parsing results.
type Problem struct {
	Kind    ProblemKind `json:"kind"`
	Package string      `json:"package,omitempty"`
	Test    string      `json:"test,omitempty"` // the test involved, when known
	Message string      `json:"message"`        // first line that says what happened
	File    string      `json:"file,omitempty"`
	Line    int         `json:"line,omitempty"`
	// Detail holds the lines a compiler indented under its diagnostic
	// ("\thave (number)", "\twant ()"), raw, at most maxDiagDetail.
	Detail []string `json:"detail,omitempty"`
	Output []string `json:"output,omitempty"` // the lines that explain it (bounded)
	Frames []string `json:"frames,omitempty"` // first normalised stack frames, for panics
}

// Suite is a JUnit test suite as declared in the file.
type Suite struct {
	Name     string `json:"name"`
	Tests    int    `json:"tests"` // declared counts (attributes)
	Failures int    `json:"failures"`
	Errors   int    `json:"errors"`
	Skipped  int    `json:"skipped"`
	Cases    int    `json:"cases"` // testcase elements found directly in it
}

// Results are the parsed results of one step.
type Results struct {
	Format   string     `json:"format"` // "go-test-json" or "junit"
	Tests    []TestCase `json:"tests"`
	Problems []Problem  `json:"problems,omitempty"`
	Suites   []Suite    `json:"suites,omitempty"`
	// NonJSON holds lines of a go test -json stream that were not JSON
	// (compiler errors on stderr, prints from TestMain), bounded.
	NonJSON      []NumberedLine `json:"non_json,omitempty"`
	NonJSONCount int            `json:"non_json_count,omitempty"`
	// Dropped counts the test cases read but not kept, past a cap (CapTests).
	Dropped int `json:"dropped,omitempty"`
}

// NumberedLine is a line with its 1-based line number in the input.
type NumberedLine struct {
	Line int64  `json:"line"`
	Text string `json:"text"`
}

// Counts totals results by outcome.
type Counts struct {
	Tests      int `json:"tests"` // distinct tests (by TestID)
	Runs       int `json:"runs"`  // test runs, re-runs included
	Passed     int `json:"passed"`
	Failed     int `json:"failed"`
	Errored    int `json:"errored"`
	Skipped    int `json:"skipped"`
	Incomplete int `json:"incomplete"`
	// Stopped counts the packages whose test binary a panic or a timeout
	// ended: their tests after that point never ran and are in no count.
	Stopped int `json:"stopped_packages,omitempty"`
}

// Totals counts distinct tests by their final outcome (the last run's
// for re-runs; when one file lists a test twice, the worst outcome). A
// JUnit suite that declares counts but lists no testcase contributes its
// declared counts, as JUnit reporters do.
func (r *Results) Totals() Counts {
	var c Counts
	final := map[string]Outcome{}
	attempt := map[string]int{}
	var order []string
	for i, t := range r.Tests {
		c.Runs++
		id := t.ID()
		if id == "" { // a nameless JUnit testcase is a test of its own
			id = "\x00" + strconv.Itoa(i)
		}
		prev, ok := final[id]
		if !ok {
			order = append(order, id)
		}
		switch {
		case !ok, t.Attempt > attempt[id]:
			final[id] = t.Outcome
		case t.Attempt == attempt[id] && severity(t.Outcome) > severity(prev):
			final[id] = t.Outcome
		}
		attempt[id] = max(attempt[id], t.Attempt)
	}
	for _, id := range order {
		c.Tests++
		c.add(final[id])
	}
	stopped := map[string]bool{}
	for _, p := range r.Problems {
		if (p.Kind == ProblemPanic || p.Kind == ProblemTimeout) && !stopped[p.Package] {
			stopped[p.Package] = true
			c.Stopped++
		}
	}
	for _, s := range r.Suites {
		if s.Cases == 0 && s.Tests > 0 {
			c.Tests += s.Tests
			c.Failed += s.Failures
			c.Errored += s.Errors
			c.Skipped += s.Skipped
			c.Passed += max(0, s.Tests-s.Failures-s.Errors-s.Skipped)
		}
	}
	return c
}

// Failing reports whether the results fail the step that produced them:
// a test failed or errored in its final attempt, or the build, a panic or
// a timeout stopped the tests. It is how results another CI system posts
// become a failed or a succeeded run.
func (r *Results) Failing() bool {
	if c := r.Totals(); c.Failed+c.Errored > 0 {
		return true
	}
	for _, p := range r.Problems {
		if p.Kind == ProblemBuildFailed || p.Kind == ProblemPanic || p.Kind == ProblemTimeout || p.Kind == ProblemVet {
			return true
		}
	}
	return false
}

func (c *Counts) add(o Outcome) {
	switch o {
	case OutcomePass:
		c.Passed++
	case OutcomeFail:
		c.Failed++
	case OutcomeError:
		c.Errored++
	case OutcomeSkip:
		c.Skipped++
	case OutcomeIncomplete:
		c.Incomplete++
	}
}

func severity(o Outcome) int {
	switch o {
	case OutcomeError:
		return 4
	case OutcomeFail:
		return 3
	case OutcomeIncomplete:
		return 2
	case OutcomeSkip:
		return 1
	}
	return 0
}
