package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var updateTriageGolden = flag.Bool("update-triage", false, "rewrite the triage command golden files")

// triageGolden compares got with testdata/triage/NAME, rewriting it with -update-triage.
func triageGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "triage", name)
	if *updateTriageGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-triage to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

func TestTriageCommandGolden(t *testing.T) {
	t.Parallel()
	files := []string{"compile_go.log", "network_npm.log", "go-test.json", "junit.xml"}
	var args []string
	for _, f := range files {
		args = append(args, filepath.Join("testdata", "triage", f))
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"text.golden", args},
		{"json.golden", append([]string{"--json"}, args...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := runTriage(tc.args, nil, &out, &errOut); code != 0 {
				t.Fatalf("exit %d, stderr: %s", code, errOut.String())
			}
			triageGolden(t, tc.name, out.Bytes())
		})
	}
}

func TestTriageCommandErrors(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := runTriage(nil, nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage") {
		t.Errorf("no files: exit %d, stderr %q; want 2 and usage", code, errOut.String())
	}
	out.Reset()
	code := runTriage([]string{filepath.Join("testdata", "triage", "missing.log"), filepath.Join("testdata", "triage", "empty.xml")}, nil, &out, &errOut)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{"missing.log (", "no such file", "empty.xml (log)", "no failures found"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestFingerprintCommand(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	in, err := os.Open(filepath.Join("testdata", "triage", "lines.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if code := runFingerprint(nil, in, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	triageGolden(t, "fingerprint.golden", out.Bytes())
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d output lines for 4 input lines", len(lines))
	}
	if strings.Split(lines[0], "\t")[0] != strings.Split(lines[1], "\t")[0] {
		t.Errorf("lines differing only in UUID and duration got different fingerprints:\n%s", out.String())
	}
	var fromFile bytes.Buffer
	if code := runFingerprint([]string{filepath.Join("testdata", "triage", "lines.txt")}, nil, &fromFile, &errOut); code != 0 || fromFile.String() != out.String() {
		t.Errorf("reading the file gave exit %d and different output", code)
	}
}

// TestTriageCommandBaseline runs a failing log alone and then with the log
// of the same step when it passed: the error both runs print (behind other
// timestamps) decides alone, and gives way to the test failure with the
// baseline.
func TestTriageCommandBaseline(t *testing.T) {
	t.Parallel()
	pass := filepath.Join("testdata", "triage", "baseline_pass.log")
	fail := filepath.Join("testdata", "triage", "baseline_fail.log")
	first := func(args ...string) triageFileJSON {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := runTriage(append([]string{"--json"}, args...), nil, &out, &errOut); code != 0 {
			t.Fatalf("exit %d, stderr: %s", code, errOut.String())
		}
		var doc triageOutput
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Files) != 1 || len(doc.Files[0].Failures) == 0 {
			t.Fatalf("no failure in %s", out.String())
		}
		return doc.Files[0]
	}
	if got := first(fail).Failures[0]; got.Category != "network" {
		t.Errorf("without baseline: category %s (%s), want network", got.Category, got.Title)
	}
	got := first("--baseline", pass, fail).Failures[0]
	if got.Category != "test" {
		t.Errorf("with baseline: category %s (%s), want test", got.Category, got.Title)
	}
	for _, e := range got.Evidence {
		if strings.Contains(e.Text, "UnknownHostException") {
			t.Errorf("with baseline: evidence line %d is in the passing log too: %s", e.Line, e.Text)
		}
	}
	var out, errOut bytes.Buffer
	if code := runTriage([]string{"--baseline", filepath.Join("testdata", "triage", "missing.log"), fail}, nil, &out, &errOut); code != 1 {
		t.Errorf("missing baseline: exit %d, want 1", code)
	}
}

func TestFingerprintCommandLearnsTemplates(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "triage", "templates.txt")
	var lines, groups, errOut bytes.Buffer
	if code := runFingerprint([]string{path}, nil, &lines, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	triageGolden(t, "templates.golden", lines.Bytes())
	if code := runFingerprint([]string{"--group", path}, nil, &groups, &errOut); code != 0 {
		t.Fatalf("--group: exit %d: %s", code, errOut.String())
	}
	triageGolden(t, "templates-group.golden", groups.Bytes())
	out := strings.Split(strings.TrimSuffix(lines.String(), "\n"), "\n")
	fp := func(i int) string { return strings.SplitN(out[i], "\t", 2)[0] }
	if fp(0) != fp(3) || fp(4) == fp(5) || fp(6) == fp(7) || fp(7) != fp(8) || fp(9) != fp(10) {
		t.Errorf("wrong grouping:\n%s", lines.String())
	}
	// stdin, spooled for the second pass, gives the same output.
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var fromStdin bytes.Buffer
	if code := runFingerprint([]string{"-"}, in, &fromStdin, &errOut); code != 0 || fromStdin.String() != lines.String() {
		t.Errorf("stdin gave exit %d and different output:\n%s", code, fromStdin.String())
	}
}

// TestTriageCommandStdin checks that `sentinel triage -` analyses a piped
// stream exactly as it analyses the same bytes in a file, for every format.
func TestTriageCommandStdin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		json bool
	}{
		{"compile_go.log", false},
		{"network_npm.log", true},
		{"go-test.json", false}, // read twice: results, then the log's evidence
		{"go-test.json", true},
		{"junit.xml", false},
		{"empty.xml", false},
	} {
		t.Run(fmt.Sprintf("%s json=%v", tc.file, tc.json), func(t *testing.T) {
			path := filepath.Join("testdata", "triage", tc.file)
			var flags []string
			if tc.json {
				flags = []string{"--json"}
			}
			var want, got, errOut bytes.Buffer
			if code := runTriage(append(flags, path), nil, &want, &errOut); code != 0 {
				t.Fatalf("from the file: exit %d, stderr %s", code, errOut.String())
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			pipe := io.MultiReader(bytes.NewReader(b)) // not seekable, like a pipe
			if code := runTriage(append(flags, "-"), pipe, &got, &errOut); code != 0 {
				t.Fatalf("from stdin: exit %d, stderr %s", code, errOut.String())
			}
			name := path
			if tc.json {
				name = `"` + path + `"`
			}
			wantStdin := strings.Replace(want.String(), name, strings.Replace(name, path, "-", 1), 1)
			if diff := cmp.Diff(wantStdin, got.String()); diff != "" {
				t.Errorf("stdin differs from the file (-file +stdin):\n%s", diff)
			}
		})
	}
}

func TestTriageCommandStdinUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-", "-"}, 2, "can be given once"},
		{[]string{"-h"}, 2, "A FILE of - reads standard input"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runTriage(tc.args, strings.NewReader("x\n"), &out, &errOut)
			if code != tc.code || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut.String(), tc.code, tc.want)
			}
		})
	}
}
