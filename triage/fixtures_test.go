package triage

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fixtureDir returns a folder of the copied test-runner fixtures
// (testdata/fixtures/SOURCES.md names their origin and licence). A missing
// folder fails the test.
func fixtureDir(t testing.TB, sub string) string {
	t.Helper()
	dir := filepath.Join("testdata", "fixtures", sub)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("fixtures missing: %v", err)
	}
	return dir
}

func TestParseJUnitFixturesMatchExpectedTotals(t *testing.T) {
	t.Parallel()
	dir := fixtureDir(t, "test-output/junit-xml/publish-unit-test-result-action/junit-xml")
	expected, err := filepath.Glob(filepath.Join(dir, "*.results.json"))
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join(dir, "*", "*.results.json"))
	expected = append(expected, more...)
	if len(expected) < 20 {
		t.Fatalf("found only %d expectation files in %s", len(expected), dir)
	}
	for _, exp := range expected {
		xmlPath := strings.TrimSuffix(exp, ".results.json") + ".xml"
		name, _ := filepath.Rel(dir, xmlPath)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(exp)
			if err != nil {
				t.Fatal(err)
			}
			var want struct {
				Stats struct {
					Errors []json.RawMessage `json:"errors"`
					Suites int               `json:"suites"`
					Tests  int               `json:"tests"`
					Succ   int               `json:"tests_succ"`
					Skip   int               `json:"tests_skip"`
					Fail   int               `json:"tests_fail"`
					Error  int               `json:"tests_error"`
				} `json:"stats"`
			}
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(xmlPath)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			res, err := ParseJUnit(f)
			if len(want.Stats.Errors) > 0 {
				if err == nil {
					t.Fatalf("ParseJUnit succeeded, want a parse error")
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseJUnit: %v", err)
			}
			c := res.Totals()
			got := [6]int{len(res.Suites), c.Tests, c.Passed, c.Skipped, c.Failed, c.Errored}
			w := want.Stats
			if diff := cmp.Diff([6]int{w.Suites, w.Tests, w.Succ, w.Skip, w.Fail, w.Error}, got); diff != "" {
				t.Errorf("[suites tests passed skipped failed errored] (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseJUnitFixtureErrors(t *testing.T) {
	t.Parallel()
	dir := fixtureDir(t, "test-output/junit-xml/publish-unit-test-result-action")
	for _, tc := range []struct{ file, want string }{
		{"xml/empty.xml", "empty input"},
		{"xml/non-xml.xml", "not XML"},
		{"junit-xml/pytest/corrupt-xml.xml", "unexpected EOF"},
		{"junit-xml/non-junit.xml", "root element is <suites>"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, err = ParseJUnit(f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseJUnit error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
