package triage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The go test -json fixtures through the whole engine, with the stream
// also read as the step log (as the runner does).
func TestAnalyzeGoTestJSONFixtures(t *testing.T) {
	t.Parallel()
	dir := fixtureDir(t, "test-output/go-test-json/gotestsum")
	cases := []struct {
		file     string
		category Category
		title    string // substring of the first failure's title
		file2    string // expected File of the first failure
	}{
		{"cmd__testdata__input__go-test-build-failed.out", CategoryCompile, "undefined: assert.foo", "directory_test.go"},
		{"cmd__testdata__input__go-test-setup-failed.out", CategoryCompile, "expected ';', found o", "directory_test.go"},
		// The first frame of the repository's code, as printed: these were
		// recorded below directories only the report's workspace roots
		// could place.
		{"cmd__testdata__input__go-test-json-panic-race-2.out", CategoryTimeout, "test timed out after 2s (running TestSleepsTooLong)", "/home/daniel/pers/code/gotestsum/example/testing_test.go"},
		{"testjson__testdata__input__go-test-json-missing-test-fail.out", CategoryTest, "panic in TestWaitOn_WithCompare: runtime error: index out of range", "/home/daniel/pers/code/gotest.tools/internal/assert/result.go"},
		{"testjson__testdata__input__go-test-json.out", CategoryTest, "badmain: sometimes main can exit 2", ""},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, tc.file)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			res, err := ParseGoTestJSON(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			log, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer log.Close()
			fs, err := Analyze([]StepInput{{Facts: StepFacts{Step: "test", ExitCode: 1, State: "failed"}, Log: log, Results: res}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) == 0 {
				t.Fatal("no failures")
			}
			got := fs[0]
			if got.Category != tc.category || !strings.Contains(got.Title, tc.title) || got.File != tc.file2 {
				t.Errorf("first failure = %s %q file %q, want %s %q file %q", got.Category, got.Title, got.File, tc.category, tc.title, tc.file2)
			}
			if got.Step != "test" || len(got.Evidence) == 0 || len(got.Fingerprint) != 64 {
				t.Errorf("incomplete failure %+v", got)
			}
		})
	}
}

func TestAnalyzeReportsEachFailingLeafTestOnce(t *testing.T) {
	t.Parallel()
	dir := fixtureDir(t, "test-output/go-test-json/gotestsum")
	f, err := os.Open(filepath.Join(dir, "testjson__testdata__input__go-test-json.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := ParseGoTestJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := Analyze([]StepInput{{Facts: StepFacts{ExitCode: 1}, Results: res}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	tests := 0
	for _, fl := range fs {
		if fl.TestID == "" {
			continue
		}
		tests++
		if seen[fl.Fingerprint] {
			t.Errorf("duplicate fingerprint for %s", fl.TestID)
		}
		seen[fl.Fingerprint] = true
		if strings.HasSuffix(fl.TestID, "::TestNestedParallelFailures") || strings.HasSuffix(fl.TestID, "::TestNestedWithFailure") {
			t.Errorf("parent %s reported though its subtests explain it", fl.TestID)
		}
	}
	// 12 failing runs, minus the 2 parents explained by their subtests.
	if tests != 10 {
		t.Errorf("%d test failures, want 10", tests)
	}
}

func TestPanicProblemHasFrames(t *testing.T) {
	t.Parallel()
	dir := fixtureDir(t, "test-output/go-test-json/gotestsum")
	f, err := os.Open(filepath.Join(dir, "testjson__testdata__input__go-test-json-missing-test-fail.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := ParseGoTestJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	p := res.Problems[0]
	want := []string{"gotest.tools/v3/internal/assert.ArgsFromComparisonCall", "gotest.tools/v3/internal/assert.runComparison", "gotest.tools/v3/internal/assert.Eval"}
	if p.Kind != ProblemPanic || p.Test != "TestWaitOn_WithCompare" || strings.Join(p.Frames, "|") != strings.Join(want, "|") {
		t.Errorf("problem = %s %s frames %q, want panic in TestWaitOn_WithCompare with frames %q", p.Kind, p.Test, p.Frames, want)
	}
}
