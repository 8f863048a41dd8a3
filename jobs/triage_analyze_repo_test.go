package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// analyzeExecuted runs the real triage worker on a run the run worker
// executed, with the arguments the run worker queued, and renders its
// check run.
func (h *harness) analyzeExecuted(runID int64) CheckOutput {
	h.t.Helper()
	ctx := context.Background()
	var raw []byte
	if err := h.db.QueryRow(ctx, `SELECT args FROM river_job WHERE kind = 'triage.analyze' AND (args->>'run_id')::bigint = $1`, runID).Scan(&raw); err != nil {
		h.t.Fatal(err)
	}
	var args TriageAnalyzeArgs
	if err := json.Unmarshal(raw, &args); err != nil {
		h.t.Fatal(err)
	}
	w := &TriageAnalyzeWorker{DB: h.db, Log: slog.New(slog.DiscardHandler)}
	if _, err := w.AnalyzeWith(ctx, h.client, runID, args.Repo); err != nil {
		h.t.Fatal(err)
	}
	run, err := store.GetRun(ctx, h.db, runID)
	if err != nil {
		h.t.Fatal(err)
	}
	steps, failures, err := store.CheckRunReport(ctx, h.db, runID)
	if err != nil {
		h.t.Fatal(err)
	}
	return RenderCheck(CheckReport{Run: run, Steps: steps, Failures: failures})
}

func hasAnnotation(out CheckOutput, path string, line int) bool {
	for _, a := range out.Annotations {
		if a.GetPath() == path && a.GetStartLine() == line {
			return true
		}
	}
	return false
}

// TestRunRepositoryRulesAndMatchers: the rules and matcher files of the
// run's commit decide the category and place annotations; a matcher file
// named but absent is a configuration problem in the check run, and the
// other files still apply.
func TestRunRepositoryRulesAndMatchers(t *testing.T) {
	h := newHarness(t, runnertest.Docker(t), true)
	cloneURL, sha := h.repo(map[string]string{
		".sentinel.yml": `image: busybox
matchers:
  - ci/acme.json
  - ci/missing.json
steps:
  - name: build
    run: |
      echo "src/calc.c:5:17: error: expected ';' before '}' token"
      echo "acme-check: /workspace/lib/widget.acme:7: widget is unbalanced"
      echo "acme-check: /etc/passwd:1: outside the checkout"
      exit 1
`,
		"ci/acme.json": `{"problemMatcher": [{"owner": "acme", "pattern": [
  {"regexp": "^acme-check: (\\S+):(\\d+): (.*)$", "file": 1, "line": 2, "message": 3}]}]}`,
		".sentinel/rules.yml": `- id: acme.widget
  pattern: '^acme-check: \S+: widget is (\w+)'
  category: lint
  title: 'Widget check: widget is $1'
  remediation: Balance the widget.
  confidence: 0.99
`,
		"src/calc.c": "int main(void) { return 0 }\n", "lib/widget.acme": "x\n",
	})
	runID, _ := h.enqueue(cloneURL, sha)
	if run := h.waitRun(runID, time.Minute); run.State != store.RunFailed {
		t.Fatalf("run %s: %s", run.State, run.Error)
	}
	out := h.analyzeExecuted(runID)
	_, fs, err := store.CheckRunReport(context.Background(), h.db, runID)
	if err != nil {
		t.Fatal(err)
	}
	var rule, problem bool
	for _, f := range fs {
		switch {
		case f.Category == triage.CategoryLint && f.Title == "Widget check: widget is unbalanced":
			rule = true
		case f.Category == triage.CategoryConfiguration && strings.Contains(f.Title, "ci/missing.json: file not found"):
			problem = true
		}
	}
	for _, a := range out.Annotations {
		t.Logf("annotation %s:%d %s: %s", a.GetPath(), a.GetStartLine(), a.GetTitle(), a.GetMessage())
	}
	for _, f := range fs {
		t.Logf("failure %s: %s", f.Category, f.Title)
	}
	if !rule || !problem {
		t.Errorf("failures %+v: want the repository rule's lint failure and the missing matcher file named", fs)
	}
	if !hasAnnotation(out, "lib/widget.acme", 7) {
		t.Errorf("no annotation from the repository's matcher at lib/widget.acme:7: %v", out.Annotations)
	}
	for _, a := range out.Annotations {
		if strings.Contains(a.GetPath(), "passwd") || strings.HasPrefix(a.GetPath(), "/") {
			t.Errorf("annotation outside the checkout: %s", a.GetPath())
		}
	}
	if out.Conclusion != "failure" {
		t.Errorf("conclusion %s", out.Conclusion)
	}
}

// TestRunPipelineProblemsNamed: a bad rules file, a result file that is not
// JUnit XML and declared results that were never written are named in the
// check run as configuration problems; the run itself passed, and triage
// used the built-in rules.
func TestRunPipelineProblemsNamed(t *testing.T) {
	h := newHarness(t, runnertest.Docker(t), true)
	cloneURL, sha := h.repo(map[string]string{
		".sentinel.yml": `image: busybox
steps:
  - name: test
    run: mkdir -p out && echo '<testsuite name="s"><testcase name="a">' > out/junit.xml
    results: junit:out/*.xml
  - name: lint
    run: echo linted
    results: junit:reports/*.xml
`,
		".sentinel/rules.yml": "- id: acme.x\n  pattern: x\n  category: widgets\n  title: X\n  confidence: 0.5\n",
	})
	runID, _ := h.enqueue(cloneURL, sha)
	if run := h.waitRun(runID, time.Minute); run.State != store.RunSucceeded {
		t.Fatalf("run %s: %s", run.State, run.Error)
	}
	out := h.analyzeExecuted(runID)
	_, fs, err := store.CheckRunReport(context.Background(), h.db, runID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`.sentinel/rules.yml line 1: rule "acme.x": unknown category "widgets"; triage used the built-in rules`,
		`step "test": results file out/junit.xml is not valid JUnit XML`,
		`step "lint": results: no file matching junit:reports/*.xml was written`,
	}
	for _, w := range want {
		found := false
		for _, f := range fs {
			if f.Category == triage.CategoryConfiguration && strings.Contains(f.Title, w) {
				found = true
				if !strings.Contains(f.Remediation, "docs/rules.md") || strings.Contains(f.Remediation, "never reached your code") {
					t.Errorf("%s: remediation %q, want one for a run that went on", w, f.Remediation)
				}
			}
		}
		if !found {
			var titles []string
			for _, f := range fs {
				titles = append(titles, string(f.Category)+": "+f.Title)
			}
			t.Errorf("no configuration failure naming %q in %q", w, titles)
		}
	}
	if out.Conclusion != "failure" {
		t.Errorf("conclusion %s, want failure: the pipeline is misconfigured", out.Conclusion)
	}
	if !hasAnnotation(out, ".sentinel/rules.yml", 1) {
		t.Errorf("no annotation at the rules file's bad line: %v", out.Annotations)
	}
}

// TestRunEveryDiagnosticAnnotated: a gcc build whose five errors in two
// files lie far apart in the log gets five failure annotations, one per
// error (the failure's own place once), and its warnings, which are never
// evidence, are annotated too: not only the diagnostics on evidence lines.
func TestRunEveryDiagnosticAnnotated(t *testing.T) {
	h := newHarness(t, runnertest.Docker(t), true)
	var log strings.Builder
	noise := func(from int) {
		for i := range 40 {
			fmt.Fprintf(&log, "gcc -O2 -Wall -c -o obj/unit%02d.o src/unit%02d.c\n", from+i, from+i)
		}
	}
	errs := []struct {
		file      string
		line, col int
		msg       string
	}{
		{"src/parser.c", 41, 9, "'tok' undeclared (first use in this function)"},
		{"src/parser.c", 77, 5, "expected ';' before 'return'"},
		{"src/lexer.c", 12, 18, "unknown type name 'sizet'"},
		{"src/parser.c", 130, 22, "too few arguments to function 'next_token'"},
		{"src/lexer.c", 58, 3, "'else' without a previous 'if'"},
	}
	warns := []struct {
		file string
		line int
	}{{"src/lexer.c", 7}, {"src/parser.c", 19}, {"src/lexer.c", 90}}
	for i, e := range errs {
		noise(i * 40)
		if i < len(warns) {
			w := warns[i]
			fmt.Fprintf(&log, "%s:%d:9: warning: unused variable 'tmp%d' [-Wunused-variable]\n", w.file, w.line, i)
		}
		fmt.Fprintf(&log, "In file included from %s:1:\n%s:%d:%d: error: %s\n", e.file, e.file, e.line, e.col, e.msg)
	}
	log.WriteString("make: *** [Makefile:12: obj/parser.o] Error 1\n")
	cloneURL, sha := h.repo(map[string]string{
		".sentinel.yml": "image: busybox\nsteps:\n  - name: build\n    run: cat ci/build.log; exit 2\n",
		"ci/build.log":  log.String(),
		"src/parser.c":  "int main(void) { return 0; }\n", "src/lexer.c": "int lex(void);\n",
	})
	runID, _ := h.enqueue(cloneURL, sha)
	if run := h.waitRun(runID, time.Minute); run.State != store.RunFailed {
		t.Fatalf("run %s: %s", run.State, run.Error)
	}
	out := h.analyzeExecuted(runID)
	for _, a := range out.Annotations {
		t.Logf("annotation %s:%d:%d %s %s: %s", a.GetPath(), a.GetStartLine(), a.GetStartColumn(), a.GetAnnotationLevel(), a.GetTitle(), a.GetMessage())
	}
	if len(out.Annotations) != len(errs)+len(warns) {
		t.Errorf("%d annotations, want %d: one per error and warning", len(out.Annotations), len(errs)+len(warns))
	}
	for _, w := range warns {
		if !hasAnnotation(out, w.file, w.line) {
			t.Errorf("no annotation for the warning at %s:%d", w.file, w.line)
		}
	}
	for _, e := range errs {
		n := 0
		for _, a := range out.Annotations {
			if a.GetPath() == e.file && a.GetStartLine() == e.line {
				n++
				if a.GetAnnotationLevel() != "failure" || a.GetStartColumn() != e.col && a.GetStartColumn() != 0 {
					t.Errorf("%s:%d level %s column %d, want failure at column %d", e.file, e.line, a.GetAnnotationLevel(), a.GetStartColumn(), e.col)
				}
			}
		}
		if n != 1 {
			t.Errorf("%d annotations at %s:%d, want 1", n, e.file, e.line)
		}
	}
}
