package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateFlakyGolden = flag.Bool("update-flaky", false, "rewrite the flaky command golden files")

// runFlakyIn runs `sentinel flaky` in testdata/flaky, so file names in the
// output do not depend on where the test runs.
func runFlakyIn(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(filepath.Join("testdata", "flaky")); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := os.Chdir(wd); err != nil {
			t.Fatal(err)
		}
	}()
	var out, errb bytes.Buffer
	code = runFlaky(args, &out, &errb)
	return out.String(), errb.String(), code
}

func flakyGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "flaky", name)
	if *updateFlakyGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-flaky to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update-flaky to see the change):\n%s", name, got)
	}
}

func seriesFiles(t *testing.T, glob string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "flaky", glob))
	if err != nil || len(files) == 0 {
		t.Fatalf("series %s: %v %v", glob, files, err)
	}
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	return files
}

// TestFlakyCommandGolden judges the three series and compares text and
// JSON with the golden files.
func TestFlakyCommandGolden(t *testing.T) {
	cases := []struct{ name, glob string }{
		{"junit", "junit-*.xml"},
		{"gotest", "gotest-*.json"},
		{"csv", "history.csv"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := seriesFiles(t, c.glob)
			text, errs, code := runFlakyIn(t, files...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			js, errs, code := runFlakyIn(t, append([]string{"--json"}, files...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			flakyGolden(t, c.name+".golden", []byte(text))
			flakyGolden(t, c.name+".json.golden", []byte(js))
		})
	}
}

// TestFlakyCommandVerdicts checks the verdicts the series were built to
// show, independently of the golden files' wording.
func TestFlakyCommandVerdicts(t *testing.T) {
	cases := []struct {
		glob     string
		want     map[string]string // test -> verdict
		evidence map[string]string // test -> substring of the evidence
	}{
		{"junit-*.xml", map[string]string{
			"tests.test_api.TestClient::test_retry_on_503": "flaky",
			"tests.test_cart::test_discount":               "broken",
			"tests.test_cart::test_total":                  "healthy",
		}, map[string]string{
			"tests.test_api.TestClient::test_retry_on_503": "failed 3 of 12 runs",
			"tests.test_cart::test_discount":               "since #9; last passed at #8",
		}},
		{"gotest-*.json", map[string]string{
			"example.com/shop/internal/queue::TestLeaseExpiry": "flaky",
			"example.com/shop/internal/queue::TestDrain":       "healthy",
		}, map[string]string{
			"example.com/shop/internal/queue::TestLeaseExpiry": "passed and failed on the same commit #2",
		}},
		{"history.csv", map[string]string{
			"checkout::TestPayTimeout": "flaky",
			"cart::TestTax":            "broken",
			"search::TestIndex":        "healthy",
		}, map[string]string{
			"checkout::TestPayTimeout": "failed 2 of 20 runs; flaky: passed and failed on the same commit",
			"search::TestIndex":        "failed 1 of 20 runs",
		}},
	}
	for _, c := range cases {
		files := seriesFiles(t, c.glob)
		out, errs, code := runFlakyIn(t, append([]string{"--json"}, files...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.glob, code, errs)
		}
		var doc flakyOutput
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Schema != flakySchema {
			t.Errorf("schema %q", doc.Schema)
		}
		got := map[string]flakyTestJSON{}
		for _, tt := range doc.Tests {
			got[tt.Test] = tt
		}
		for test, v := range c.want {
			if got[test].Verdict != v {
				t.Errorf("%s: %s verdict %q, want %q (%s)", c.glob, test, got[test].Verdict, v, got[test].Evidence)
			}
		}
		for test, ev := range c.evidence {
			if !strings.Contains(got[test].Evidence, ev) {
				t.Errorf("%s: %s evidence %q lacks %q", c.glob, test, got[test].Evidence, ev)
			}
		}
	}
}

// TestFlakyCommandBadInput: a corrupt report or a bad CSV row fails with
// the file and line named; bad usage exits 2.
func TestFlakyCommandBadInput(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"junit-01.xml", "corrupt.xml"}, 1, "sentinel flaky: corrupt.xml: junit: line 10: element <testcase> closed by </testsuite>"},
		{[]string{"bad.csv"}, 1, `sentinel flaky: bad.csv:5: outcome "flaked" is not pass, fail, error or skip`},
		{[]string{"SOURCES.md"}, 1, "SOURCES.md: not JUnit XML, go test -json or a run,commit,test,outcome CSV"},
		{[]string{"missing.xml"}, 1, "missing.xml"},
		{nil, 2, "usage: sentinel flaky"},
	}
	for _, c := range cases {
		out, errs, code := runFlakyIn(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, out, errs, c.code, c.want)
		}
	}
}

// TestFlakyCSVErrors covers the CSV rules one by one.
func TestFlakyCSVErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ body, want string }{
		{"", "empty file"},
		{"run,test,outcome\n1,a,pass\n", `h.csv:1: header "run,test,outcome" lacks the column "commit"`},
		{"run,commit,test,outcome\n1,abc,a,pass\n2,abc\n", "h.csv:3: 2 fields, no test"},
		{"run,commit,test,outcome\n1,abc,a,pass\n1,def,a,fail\n", "h.csv:3: run 1 has two commits, abc and def"},
		{"run,commit,test,outcome\n1,abc,,pass\n", "h.csv:2: empty run or test"},
		{"run,commit,test,outcome\n1,abc,\"a,pass\n", "h.csv:2:"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, "h.csv")
		if err := os.WriteFile(p, []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		h := &flakyHistory{seen: map[string]bool{}}
		err := h.readFile(p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.body, err, c.want)
		}
	}
}

// TestFlakyMassFailureExcluded: a run where most of at least 10 tests failed
// at once is not evidence (triage.MassFailure) for any of its tests, as on
// the server.
func TestFlakyMassFailureExcluded(t *testing.T) {
	var b strings.Builder
	b.WriteString("run,commit,test,outcome\n")
	for run := 1; run <= 12; run++ {
		for i := 0; i < 10; i++ {
			outcome := "pass"
			if run == 6 && i < 8 { // the runner's disk filled up
				outcome = "fail"
			}
			fmt.Fprintf(&b, "%d,c%02d,pkg::T%d,%s\n", run, run, i, outcome)
		}
	}
	p := filepath.Join(t.TempDir(), "mass.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	h := &flakyHistory{seen: map[string]bool{}}
	if err := h.readFile(p); err != nil {
		t.Fatal(err)
	}
	for _, tt := range h.judge() {
		const want = 1
		if tt.Verdict != "healthy" || tt.Failures != 0 || tt.Excluded != want || tt.Runs != 12-want {
			t.Errorf("%s: %s, %d failures in %d runs, %d excluded (want healthy, %d excluded)", tt.Test, tt.Verdict, tt.Failures, tt.Runs, tt.Excluded, want)
		}
	}
}
