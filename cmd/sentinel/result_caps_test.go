package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// capsFixtures writes a JUnit report of 10 tests and a go test -json
// stream of 5, each with one failing test near the end, which a cap of 3
// must keep.
func capsFixtures(t *testing.T) (junit, gotest string) {
	t.Helper()
	dir := t.TempDir()
	var x strings.Builder
	x.WriteString(`<?xml version="1.0"?><testsuite name="calc">`)
	for i := range 10 {
		if i == 8 {
			fmt.Fprintf(&x, `<testcase classname="calc" name="t%d"><failure message="expected 3, got 4"/></testcase>`, i)
			continue
		}
		fmt.Fprintf(&x, `<testcase classname="calc" name="t%d"/>`, i)
	}
	x.WriteString("</testsuite>\n")
	var g strings.Builder
	for i := range 5 {
		action := "pass"
		if i == 4 {
			action = "fail"
		}
		fmt.Fprintf(&g, "{\"Action\":\"run\",\"Package\":\"calc\",\"Test\":\"T%d\"}\n{\"Action\":%q,\"Package\":\"calc\",\"Test\":\"T%d\"}\n", i, action, i)
	}
	junit, gotest = filepath.Join(dir, "junit.xml"), filepath.Join(dir, "go-test.json")
	if err := os.WriteFile(junit, []byte(x.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gotest, []byte(g.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return junit, gotest
}

// TestTriageAndFlakyCapResults: sentinel triage and sentinel flaky read
// result files under the caps of a step's results (SENTINEL_MAX_TEST_RESULTS,
// SENTINEL_MAX_RESULT_FILE_SIZE), keeping failing tests first and saying
// what they left out, as the runner does.
func TestTriageAndFlakyCapResults(t *testing.T) {
	junit, gotest := capsFixtures(t)
	t.Setenv("SENTINEL_MAX_TEST_RESULTS", "3")
	t.Setenv("SENTINEL_MAX_RESULT_FILE_SIZE", "1m")
	kept := func(of int) string {
		return fmt.Sprintf("3 test results kept of %d, the cap per step (SENTINEL_MAX_TEST_RESULTS); failing tests were kept first", of)
	}

	var out, errb bytes.Buffer
	if code := runTriage([]string{"--json", junit, gotest}, nil, &out, &errb); code != 0 {
		t.Fatalf("triage: exit %d, %s", code, errb.String())
	}
	var doc triageOutput
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for i, of := range []int{10, 5} {
		f := doc.Files[i]
		if f.Totals == nil || f.Totals.Tests != 3 || f.Totals.Failed != 1 {
			t.Errorf("%s: totals %+v, want 3 tests, 1 failed", f.File, f.Totals)
		}
		if len(f.Warnings) != 1 || f.Warnings[0] != kept(of) {
			t.Errorf("%s: warnings %q, want [%q]", f.File, f.Warnings, kept(of))
		}
		if len(f.Failures) == 0 {
			t.Errorf("%s: the failing test was not kept: no failure found", f.File)
		}
	}
	out.Reset()
	if code := runTriage([]string{junit}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "  warning: "+kept(10)) {
		t.Errorf("triage text: exit %d, output %q, want the warning", code, out.String())
	}

	out.Reset()
	errb.Reset()
	if code := runFlaky([]string{"--json", junit}, &out, &errb); code != 0 {
		t.Fatalf("flaky: exit %d, %s", code, errb.String())
	}
	if want := "sentinel flaky: " + junit + ": " + kept(10) + "\n"; errb.String() != want {
		t.Errorf("flaky stderr %q, want %q", errb.String(), want)
	}
	var fl flakyOutput
	if err := json.Unmarshal(out.Bytes(), &fl); err != nil {
		t.Fatal(err)
	}
	failing := 0
	for _, ft := range fl.Tests {
		failing += ft.Failures
	}
	if len(fl.Tests) != 3 || failing != 1 {
		t.Errorf("flaky judged %d tests with %d failures, want 3 with the failing one", len(fl.Tests), failing)
	}

	// Over the size cap: a JUnit file is not read, a go test -json
	// stream is scanned as a log only.
	t.Setenv("SENTINEL_MAX_RESULT_FILE_SIZE", "100")
	out.Reset()
	errb.Reset()
	if code := runTriage([]string{"--json", junit, gotest}, nil, &out, &errb); code != 1 {
		t.Fatalf("triage over the size cap: exit %d, want 1", code)
	}
	doc = triageOutput{}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if f := doc.Files[0]; !strings.Contains(f.Error, "over the cap of 100 bytes per file (SENTINEL_MAX_RESULT_FILE_SIZE); not read") {
		t.Errorf("JUnit over the size cap: error %q", f.Error)
	}
	if f := doc.Files[1]; f.Error != "" || f.Totals != nil || len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0], "SENTINEL_MAX_RESULT_FILE_SIZE") {
		t.Errorf("go test -json over the size cap: %+v, want a warning and no results", f)
	}
	out.Reset()
	errb.Reset()
	if code := runFlaky([]string{junit}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "SENTINEL_MAX_RESULT_FILE_SIZE") {
		t.Errorf("flaky over the size cap: exit %d, stderr %q", code, errb.String())
	}

	t.Setenv("SENTINEL_MAX_TEST_RESULTS", "many")
	errb.Reset()
	if code := runFlaky([]string{junit}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "SENTINEL_MAX_TEST_RESULTS") {
		t.Errorf("flaky with a bad cap: exit %d, stderr %q", code, errb.String())
	}
}
