package jobs

import (
	"fmt"
	"io"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/triage"
)

// ResultCaps bound what reading results may cost, wherever they come from
// (a step's files, an upload, a file given to the CLI): the test cases kept
// (SENTINEL_MAX_TEST_RESULTS) and the size of a file read
// (SENTINEL_MAX_RESULT_FILE_SIZE). Zero means the default.
type ResultCaps struct {
	Tests     int
	FileBytes int64
}

// OrDefaults fills the caps left at zero with the defaults.
func (c ResultCaps) OrDefaults() ResultCaps {
	if c.Tests <= 0 {
		c.Tests = DefaultMaxTestResults
	}
	if c.FileBytes <= 0 {
		c.FileBytes = DefaultMaxResultFileBytes
	}
	return c
}

// ParseResults reads one results file in format f (JUnit XML or go test
// -json) keeping at most maxTests test cases, failing ones first
// (triage.CapTests; the count dropped is in Dropped). JUnit is streamed, so
// its memory follows the cap rather than the file.
func ParseResults(r io.Reader, f triage.Format, maxTests int) (*triage.Results, error) {
	switch f {
	case triage.FormatJUnit:
		return triage.ParseJUnitMax(r, maxTests)
	case triage.FormatGoTestJSON:
		res, err := triage.ParseGoTestJSON(r)
		if err != nil {
			return nil, err
		}
		var dropped int
		res.Tests, dropped = triage.CapTests(res.Tests, maxTests)
		res.Dropped += dropped
		return res, nil
	}
	return nil, fmt.Errorf("unknown results format %q", f)
}

// CapWarning says how many test results the cap kept, "" when it dropped none.
func CapWarning(r *triage.Results) string {
	if r == nil || r.Dropped == 0 {
		return ""
	}
	return fmt.Sprintf("%d test results kept of %d, the cap per step (SENTINEL_MAX_TEST_RESULTS); failing tests were kept first",
		len(r.Tests), len(r.Tests)+r.Dropped)
}

// OversizeWarning says a results file was not read for its size.
func OversizeWarning(name string, size, max int64) string {
	return fmt.Sprintf("results file %s is %s, over the cap of %s per file (SENTINEL_MAX_RESULT_FILE_SIZE); not read",
		name, runner.FormatBytes(size), runner.FormatBytes(max))
}
