package triage

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func diagnose(t *testing.T, set *MatcherSet, log string) []Diagnostic {
	t.Helper()
	rep, err := AnalyzeLog(strings.NewReader(log), LogOptions{Matchers: set})
	if err != nil {
		t.Fatal(err)
	}
	return rep.Diagnostics
}

func parseMatchers(t *testing.T, src string) *MatcherSet {
	t.Helper()
	ms, err := ParseProblemMatchers([]byte(src))
	if err != nil {
		t.Fatalf("ParseProblemMatchers: %v", err)
	}
	return CompileMatchers(ms)
}

// The example of Actions' documentation, comments included, works unchanged.
func TestProblemMatcherSingleLine(t *testing.T) {
	set := parseMatchers(t, `{
    "problemMatcher": [
        {
            "owner": "eslint-compact",
            "pattern": [
                {
                    // The pattern that provides groups to match against
                    "regexp": "^(.+):\\sline\\s(\\d+),\\scol\\s(\\d+),\\s(Error|Warning|Info)\\s-\\s(.+)\\s\\((.+)\\)$",
                    "file": 1, "line": 2, "column": 3, "severity": 4, "message": 5, "code": 6
                }
            ]
        }
    ]
}`)
	got := diagnose(t, set, "lint start\nbadFile.js: line 50, col 11, Error - 'myVar' is defined but never used. (no-unused-vars)\nsrc/x.js: line 2, col 1, Warning - Missing semicolon. (semi)\n")
	want := []Diagnostic{
		{File: "badFile.js", Line: 50, Column: 11, Severity: "error", Message: "'myVar' is defined but never used.", Code: "no-unused-vars", Owner: "eslint-compact", LogLine: 2},
		{File: "src/x.js", Line: 2, Column: 1, Severity: "warning", Message: "Missing semicolon.", Code: "semi", Owner: "eslint-compact", LogLine: 3},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
}

const stylishJSON = `{"problemMatcher": [{"owner": "eslint-stylish", "pattern": [
  {"regexp": "^([^\\s].*)$", "file": 1},
  {"regexp": "^\\s+(\\d+):(\\d+)\\s+(error|warning|info)\\s+(.*)\\s\\s+(.*)$", "line": 1, "column": 2, "severity": 3, "message": 4, "code": 5, "loop": true}
]}]}`

// A loop pattern makes one diagnostic per line it matches, with the file
// of the line before the loop, until a line does not match.
func TestProblemMatcherMultiLineLoop(t *testing.T) {
	set := parseMatchers(t, stylishJSON)
	log := "test.js\n" +
		"  1:0   error  Missing \"use strict\" statement                 strict\n" +
		"  5:10  error  'addOne' is defined but never used             no-unused-vars\n" +
		"\n" +
		"  7:1   error  after the loop ended                           semi\n" +
		"✖ 2 problems (2 errors, 0 warnings)\n" +
		"other.js\n" +
		"  9:2   warning  Unexpected console statement                 no-console\n"
	got := diagnose(t, set, log)
	want := []Diagnostic{
		{File: "test.js", Line: 1, Column: 0, Severity: "error", Message: `Missing "use strict" statement`, Code: "strict", Owner: "eslint-stylish", LogLine: 2},
		{File: "test.js", Line: 5, Column: 10, Severity: "error", Message: "'addOne' is defined but never used", Code: "no-unused-vars", Owner: "eslint-stylish", LogLine: 3},
		{File: "other.js", Line: 9, Column: 2, Severity: "warning", Message: "Unexpected console statement", Code: "no-console", Owner: "eslint-stylish", LogLine: 8},
	}
	// The loop pattern's message group is greedy up to the last double
	// space, as with the Actions runner.
	for i := range got {
		got[i].Message = strings.TrimSpace(got[i].Message)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
}

// Without loop, several patterns must match consecutive lines, and the
// match ends with the last one.
func TestProblemMatcherMultiLineNoLoop(t *testing.T) {
	set := parseMatchers(t, `{"problemMatcher": [{"owner": "two", "severity": "warning", "pattern": [
	  {"regexp": "^FILE (\\S+)$", "file": 1},
	  {"regexp": "^AT (\\d+)$", "line": 1},
	  {"regexp": "^MSG (.+)$", "message": 1}
	]}]}`)
	log := "FILE a.txt\nAT 3\nMSG first\nMSG not again\nFILE b.txt\nnoise\nAT 4\nMSG broken by noise\nFILE c.txt\nAT 5\nMSG third\n"
	got := diagnose(t, set, log)
	want := []Diagnostic{
		{File: "a.txt", Line: 3, Severity: "warning", Message: "first", Owner: "two", LogLine: 3},
		{File: "c.txt", Line: 5, Severity: "warning", Message: "third", Owner: "two", LogLine: 11},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
}

// Paths outside the checkout never become diagnostics; fromPath roots a
// relative file; the runner's /workspace is stripped.
func TestProblemMatcherPaths(t *testing.T) {
	set := parseMatchers(t, `{"problemMatcher": [{"owner": "p", "pattern": [
	  {"regexp": "^(\\S+) (\\S+):(\\d+): (.*)$", "fromPath": 1, "file": 2, "line": 3, "message": 4}
	]}]}`)
	log := "svc/proj.csproj Class1.cs:16: obsolete\n" +
		"- /workspace/src/a.c:3: inside\n" +
		"- /etc/passwd:1: outside\n" +
		"- ../../secret.txt:1: climbs out\n" +
		"- node_modules/x/index.js:1: a dependency\n"
	got := diagnose(t, set, log)
	want := []Diagnostic{
		{File: "svc/Class1.cs", Line: 16, Severity: "error", Message: "obsolete", Owner: "p", LogLine: 1},
		{File: "src/a.c", Line: 3, Severity: "error", Message: "inside", Owner: "p", LogLine: 2},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
}

// A user matcher with a built-in's owner replaces it, and user matchers
// win a line.
func TestMatcherSetWithUser(t *testing.T) {
	user, err := ParseProblemMatchers([]byte(`{"problemMatcher": [{"owner": "gcc", "severity": "warning", "pattern": [
	  {"regexp": "^(\\S+):(\\d+):\\d+: error: (.*)$", "file": 1, "line": 2, "message": 3}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	set := DefaultMatchers().WithUser(user)
	if n := strings.Count(strings.Join(set.Owners(), ","), "gcc"); n != 1 {
		t.Fatalf("owners %v: want gcc once", set.Owners())
	}
	got := diagnose(t, set, "src/a.c:3:1: error: boom\n")
	if len(got) != 1 || got[0].Severity != "warning" {
		t.Errorf("got %+v, want the user's gcc matcher (warning)", got)
	}
}

func TestParseProblemMatchersErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"syntax", "{\n  \"problemMatcher\": [\n    {\"owner\": \"x\",,}\n  ]\n}", "line 3: invalid JSON"},
		{"empty", `{}`, `no matchers`},
		{"no owner", "{\"problemMatcher\": [\n{\"owner\": \"\", \"pattern\": [{\"regexp\": \"x\", \"message\": 0}]}]}", "owner must not be empty"},
		{"no patterns", `{"problemMatcher": [{"owner": "a"}]}`, `matcher "a" has no patterns`},
		{"bad regexp", `{"problemMatcher": [{"owner": "a", "pattern": [{"regexp": "(?<=x)y", "message": 0}]}]}`, "RE2"},
		{"loop first", `{"problemMatcher": [{"owner": "a", "pattern": [{"regexp": "x", "message": 0, "loop": true}]}]}`, "only the last pattern"},
		{"loop without message", `{"problemMatcher": [{"owner": "a", "pattern": [{"regexp": "(x)", "message": 1}, {"regexp": "y", "loop": true}]}]}`, "must set message"},
		{"twice", `{"problemMatcher": [{"owner": "a", "pattern": [{"regexp": "(x)", "file": 1}, {"regexp": "(y)", "file": 1, "message": 1}]}]}`, `"file" is set twice`},
		{"group range", `{"problemMatcher": [{"owner": "a", "pattern": [{"regexp": "(x)", "message": 2}]}]}`, "has 1 groups"},
		{"no message", `{"problemMatcher": [{"owner": "a", "pattern": [{"regexp": "(x)", "file": 1}]}]}`, "must set message"},
		{"severity", `{"problemMatcher": [{"owner": "a", "severity": "fatal", "pattern": [{"regexp": "(x)", "message": 1}]}]}`, "default severity"},
		{"duplicate owner", `{"problemMatcher": [{"owner": "a", "pattern": [{"regexp": "(x)", "message": 1}]}, {"owner": "A", "pattern": [{"regexp": "(x)", "message": 1}]}]}`, "duplicate owner"},
		{"type", "{\"problemMatcher\": [{\"owner\": \"a\",\n \"pattern\": [{\"regexp\": \"(x)\", \"message\": \"1\"}]}]}", "line 2: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProblemMatchers([]byte(tc.src))
			var me *MatcherError
			if !errors.As(err, &me) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a *MatcherError containing %q", err, tc.want)
			}
		})
	}
}

// FuzzProblemMatchers: any matcher file either fails with a *MatcherError
// or yields matchers that scan any log without panicking, and their
// diagnostics stay inside the checkout.
func FuzzProblemMatchers(f *testing.F) {
	f.Add([]byte(stylishJSON), []byte("test.js\n  1:2  error  x  y\n"))
	f.Add([]byte(`{"problemMatcher": [{"owner": "a", "pattern": [{"regexp": "^(.*):(\\d+): (.*)$", "file": 1, "line": 2, "message": 3}]}]}`), []byte("../x:1: up\n/w/a:2: abs\na:3: ok\n"))
	f.Fuzz(func(t *testing.T, file, log []byte) {
		ms, err := ParseProblemMatchers(file)
		if err != nil {
			var me *MatcherError
			if !errors.As(err, &me) {
				t.Fatalf("error %T %v, want *MatcherError", err, err)
			}
			return
		}
		rep, err := AnalyzeLog(bytes.NewReader(log), LogOptions{Matchers: DefaultMatchers().WithUser(ms)})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range rep.Diagnostics {
			if d.File == "" || strings.HasPrefix(d.File, "/") || d.File == ".." || strings.HasPrefix(d.File, "../") {
				t.Fatalf("diagnostic outside the checkout: %+v", d)
			}
		}
	})
}

// TestDiagnosticsDroppedCounted: a step log with more diagnostics than the
// scan keeps gives its first failure the kept ones and the count of the
// others, so that pages can say the list is cut.
func TestDiagnosticsDroppedCounted(t *testing.T) {
	var b strings.Builder
	n := maxDiagnostics + 5
	for i := range n {
		fmt.Fprintf(&b, "src/gen.c:%d:3: error: 'v%d' undeclared (first use in this function)\n", i+1, i)
	}
	b.WriteString("make: *** [Makefile:4: gen.o] Error 1\n")
	fs, err := Analyze([]StepInput{{Facts: StepFacts{Step: "build", ExitCode: 2, State: StepFailed}, Log: strings.NewReader(b.String())}}, Options{})
	if err != nil || len(fs) == 0 {
		t.Fatalf("failures %v, %v", fs, err)
	}
	if len(fs[0].Diagnostics) != maxDiagnostics || fs[0].DiagnosticsDropped != 5 {
		t.Errorf("%d diagnostics, %d dropped; want %d and 5", len(fs[0].Diagnostics), fs[0].DiagnosticsDropped, maxDiagnostics)
	}
}
