package triage

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Expectations derived by reading each gotestsum fixture: distinct tests by
// final outcome (the last run of a re-run test), runs, and problem kinds.
func TestParseGoTestJSONFixtures(t *testing.T) {
	t.Parallel()
	dir := fixtureDir(t, "test-output/go-test-json/gotestsum")
	type want struct {
		counts   Counts
		problems []ProblemKind
		nonJSON  int
	}
	cases := map[string]want{
		// Re-runs: every flaky test passes on its last attempt.
		"cmd__testdata__go-test-json-flaky-rerun.out": {counts: Counts{Tests: 6, Runs: 12, Passed: 6}},
		// 49 run events, 54 end events: ends without a run still count.
		"cmd__testdata__go-test-missing-run-events.out":  {counts: Counts{Tests: 46, Runs: 54, Passed: 43, Failed: 3}},
		"cmd__testdata__input__go-test-build-failed.out": {problems: []ProblemKind{ProblemBuildFailed}},
		// The timeout panic comes after TestHello passed; the package's
		// later tests never ran (Stopped).
		"cmd__testdata__input__go-test-json-panic-race-1.out": {counts: Counts{Tests: 1, Runs: 1, Passed: 1, Stopped: 1}, problems: []ProblemKind{ProblemTimeout}},
		// TestSleepsTooLong never ends: the timeout killed it.
		"cmd__testdata__input__go-test-json-panic-race-2.out": {counts: Counts{Tests: 1, Runs: 1, Incomplete: 1, Stopped: 1}, problems: []ProblemKind{ProblemTimeout}},
		"cmd__testdata__input__go-test-setup-failed.out":      {problems: []ProblemKind{ProblemSetupFailed, ProblemSetupFailed}},
		// 12 runs, 5 ends: the other 7 started and never ended.
		"testjson__testdata__go-test-json-missing-test-events.out":     {counts: Counts{Tests: 12, Runs: 12, Passed: 4, Failed: 1, Incomplete: 7}},
		"testjson__testdata__go-test-json-with-nonjson-stdout.out":     {counts: Counts{Tests: 1, Runs: 1, Passed: 1}, nonJSON: 1},
		"testjson__testdata__input__go-test-json-misattributed.out":    {counts: Counts{Tests: 5, Runs: 5, Passed: 4, Failed: 1}},
		"testjson__testdata__input__go-test-json-missing-skip-msg.out": {counts: Counts{Tests: 42, Runs: 42, Passed: 40, Skipped: 2}},
		// The panicking test has no fail event; the panic marks it failed.
		"testjson__testdata__input__go-test-json-missing-test-fail.out": {counts: Counts{Tests: 1, Runs: 1, Failed: 1, Stopped: 1}, problems: []ProblemKind{ProblemPanic}},
		"testjson__testdata__input__go-test-json-with-attributes.out":   {counts: Counts{Tests: 1, Runs: 1, Passed: 1}},
		// badmain exits 2 from TestMain with no failing test.
		"testjson__testdata__input__go-test-json-with-cover-go1.20.out":   {counts: Counts{Tests: 59, Runs: 59, Passed: 42, Failed: 12, Skipped: 5}, problems: []ProblemKind{ProblemFailed}},
		"testjson__testdata__input__go-test-json-with-cover.out":          {counts: Counts{Tests: 46, Runs: 46, Passed: 38, Failed: 4, Skipped: 4}, problems: []ProblemKind{ProblemFailed}},
		"testjson__testdata__input__go-test-json-with-parallel-fails.out": {counts: Counts{Tests: 12, Runs: 12, Passed: 4, Failed: 8}},
		"testjson__testdata__input__go-test-json-with-shuffle.out":        {counts: Counts{Tests: 59, Runs: 59, Passed: 42, Failed: 12, Skipped: 5}, problems: []ProblemKind{ProblemFailed}},
		"testjson__testdata__input__go-test-json.out":                     {counts: Counts{Tests: 59, Runs: 59, Passed: 42, Failed: 12, Skipped: 5}, problems: []ProblemKind{ProblemFailed}},
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.out"))
	if len(files) != len(cases) {
		t.Errorf("found %d .out fixtures, have expectations for %d", len(files), len(cases))
	}
	for name, w := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			res, err := ParseGoTestJSON(f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(w.counts, res.Totals()); diff != "" {
				t.Errorf("totals (-want +got):\n%s", diff)
			}
			var kinds []ProblemKind
			for _, p := range res.Problems {
				kinds = append(kinds, p.Kind)
			}
			if diff := cmp.Diff(w.problems, kinds); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if res.NonJSONCount != w.nonJSON {
				t.Errorf("non-JSON lines = %d, want %d", res.NonJSONCount, w.nonJSON)
			}
		})
	}
}

func TestParseGoTestJSONStderrOnlyIsAnError(t *testing.T) {
	t.Parallel()
	dir := fixtureDir(t, "test-output/go-test-json/gotestsum")
	f, err := os.Open(filepath.Join(dir, "testjson__testdata__go-test.err"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := ParseGoTestJSON(f); err == nil {
		t.Fatal("ParseGoTestJSON accepted a file with no test2json event")
	}
}
