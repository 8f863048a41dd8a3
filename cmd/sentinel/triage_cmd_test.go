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

// TestTriageCommandRulesAndMatchers: --rules applies a rules file as the
// worker applies .sentinel/rules.yml, --matchers a GitHub Actions matcher
// file beside the built-in ones; --json keeps evidence[].line and adds the
// diagnostics. A bad file is an error naming file and line.
func TestTriageCommandRulesAndMatchers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	log := write("build.log", "make all\nsrc/calc.c:5:17: error: expected ';' before '}' token\nacme-check: lib/widget.acme:7: widget is unbalanced\nmake: *** [Makefile:3: all] Error 1\n")
	rules := write("rules.yml", "- id: acme.widget\n  pattern: '^acme-check: \\S+: widget is (\\w+)'\n  category: lint\n  title: 'Widget is $1'\n  remediation: Balance it.\n  confidence: 0.99\n")
	matchers := write("acme.json", `{"problemMatcher": [{"owner": "acme", "pattern": [{"regexp": "^acme-check: (\\S+):(\\d+): (.*)$", "file": 1, "line": 2, "message": 3}]}]}`)
	var out, errOut bytes.Buffer
	if code := runTriage([]string{"--json", "--rules", rules, "--matchers", matchers, log}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errOut.String())
	}
	var doc triageOutput
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	f := doc.Files[0].Failures[0]
	if f.Category != "lint" || f.Title != "Widget is unbalanced" || f.File != "lib/widget.acme" || f.Line != 7 {
		t.Errorf("failure %s %q at %s:%d, want the rules file's lint failure at lib/widget.acme:7", f.Category, f.Title, f.File, f.Line)
	}
	if len(f.Evidence) == 0 || f.Evidence[0].Line != 3 {
		t.Errorf("evidence %+v: want line 3 first", f.Evidence)
	}
	var got []string
	for _, d := range f.Diagnostics {
		got = append(got, fmt.Sprintf("%s %s:%d %s", d.Owner, d.File, d.Line, d.Message))
	}
	want := []string{"gcc src/calc.c:5 expected ';' before '}' token", "acme lib/widget.acme:7 widget is unbalanced"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
	bad := write("bad.yml", "- id: acme.widget\n  pattern: '('\n  category: lint\n  title: T\n  confidence: 0.5\n")
	errOut.Reset()
	if code := runTriage([]string{"--rules", bad, log}, nil, io.Discard, &errOut); code != 1 || !strings.Contains(errOut.String(), bad+" line 1: rule \"acme.widget\": bad pattern") {
		t.Errorf("bad rules file: exit %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	if code := runTriage([]string{"--matchers", write("bad.json", "{\"problemMatcher\": [\n{\"owner\": 1}]}"), log}, nil, io.Discard, &errOut); code != 1 || !strings.Contains(errOut.String(), "line 2:") {
		t.Errorf("bad matcher file: exit %d, stderr %q", code, errOut.String())
	}
}
