package jobs

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func at(sec int) *time.Time {
	t := time.Date(2026, 11, 21, 6, 0, sec, 0, time.UTC)
	return &t
}

func exit(n int) *int { return &n }

var (
	brokenTest = store.ReportFailure{
		ID: 11, ClusterID: 7, StepName: "test", Category: "test_failure", Title: "expected 2, got 3",
		Confidence: 0.95, File: "/workspace/calc/add_test.go", Line: 14, TestName: "example.com/calc.TestAdd",
		Hint: "The assertion in TestAdd fails on every run since abc123.", Remediation: "Fix Add or the expectation.",
		SeenBefore: 3, Evidence: json.RawMessage(`[{"line":12,"text":"--- FAIL: TestAdd (0.00s)"},{"line":13,"text":"    add_test.go:14: expected 2, got 3"}]`),
	}
	flakyTest = store.ReportFailure{
		ID: 12, ClusterID: 8, StepName: "test", Category: "test_failure", Title: "timeout waiting for server",
		Confidence: 0.8, File: "net/dial_test.go", Line: 40, TestName: "example.com/net.TestDial", Flaky: true,
		Evidence: json.RawMessage(`["dial tcp 127.0.0.1:4242: connect: connection refused"]`),
	}
	compileError = store.ReportFailure{
		ID: 13, StepName: "build", Category: "compile_error", Title: "undefined: Sub",
		Confidence: 1, File: "calc/sub.go", Line: 3, Remediation: "Define Sub or remove its use.",
	}
	steps = []store.Step{
		{Position: 1, Attempt: 1, Name: "build", State: "succeeded", ExitCode: exit(0), StartedAt: at(0), FinishedAt: at(3)},
		{Position: 2, Attempt: 1, Name: "test", State: "failed", ExitCode: exit(1), StartedAt: at(3), FinishedAt: at(50)},
		{Position: 2, Attempt: 2, Name: "test", State: "failed", ExitCode: exit(1), StartedAt: at(50), FinishedAt: at(55)},
	}
)

func report(state store.RunState, fs ...store.ReportFailure) CheckReport {
	return CheckReport{
		Run:       store.Run{ID: 42, State: state, Repository: "octo/calc", SHA: "abc123"},
		Steps:     steps,
		Failures:  fs,
		PublicURL: "http://sentinel.example:8080/",
		Roots:     []string{runner.WorkspaceMount},
	}
}

func TestConclusion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		state store.RunState
		fs    []store.ReportFailure
		want  string
	}{
		{"passed", store.RunSucceeded, nil, "success"},
		{"broken test", store.RunFailed, []store.ReportFailure{brokenTest}, "failure"},
		{"only flaky", store.RunFailed, []store.ReportFailure{flakyTest}, "neutral"},
		{"flaky that passed on retry", store.RunSucceeded, []store.ReportFailure{flakyTest}, "neutral"},
		{"flaky and broken", store.RunFailed, []store.ReportFailure{flakyTest, brokenTest}, "failure"},
		{"failed without triage", store.RunFailed, nil, "failure"},
		{"errored", store.RunErrored, nil, "failure"},
		{"timed out", store.RunTimedOut, []store.ReportFailure{brokenTest}, "timed_out"},
		{"cancelled", store.RunCancelled, nil, "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Conclusion(tt.state, tt.fs); got != tt.want {
				t.Errorf("Conclusion(%s, %d failures) = %q, want %q", tt.state, len(tt.fs), got, tt.want)
			}
		})
	}
}

// TestRenderCheckGolden pins the markdown of the summary and text.
func TestRenderCheckGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    CheckReport
	}{
		{"failure", report(store.RunFailed, brokenTest, flakyTest, compileError)},
		{"neutral", report(store.RunFailed, flakyTest)},
		{"success", report(store.RunSucceeded)},
		{"config-error", func() CheckReport {
			r := report(store.RunFailed)
			r.Steps = nil
			r.Run.Category = "configuration"
			r.Run.Error = ".sentinel.yml line 7: bad duration \"ten\": want a positive duration such as 90s, 10m or 1h"
			return r
		}()},
		{"cancelled", report(store.RunCancelled)},
		{"timed-out", report(store.RunTimedOut, brokenTest)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := RenderCheck(tt.r)
			var b strings.Builder
			fmt.Fprintf(&b, "conclusion: %s\ntitle: %s\n", out.Conclusion, out.Title)
			for _, a := range out.Actions {
				fmt.Fprintf(&b, "action: %s %q %q\n", a.Identifier, a.Label, a.Description)
			}
			for _, a := range out.Annotations {
				fmt.Fprintf(&b, "annotation: %s:%d %s %q\n", a.GetPath(), a.GetStartLine(), a.GetAnnotationLevel(), a.GetTitle())
			}
			fmt.Fprintf(&b, "--- summary\n%s--- text\n%s", out.Summary, out.Text)
			golden(t, filepath.Join("testdata", "summary", tt.name+".golden.md"), b.String())
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestRenderCheckContents(t *testing.T) {
	t.Parallel()
	out := RenderCheck(report(store.RunFailed, brokenTest, flakyTest, compileError))
	for _, want := range []string{
		"example.com/calc.TestAdd", "test_failure", "confidence 95%", "Seen 3 times before",
		"http://sentinel.example:8080/clusters/7", "http://sentinel.example:8080/runs/42",
		"**Hint:**", "**Remediation:** Fix Add or the expectation.", "`example.com/net.TestDial` is flaky",
		"| test (attempt 2) | ❌ failed (exit 1) | 5s |", "| build | ✅ succeeded | 3s |",
	} {
		if !strings.Contains(out.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, out.Summary)
		}
	}
	var ids []string
	for _, a := range out.Actions {
		ids = append(ids, a.Identifier)
	}
	if diff := cmp.Diff([]string{ActionRerunFailed, ActionQuarantineFlaky, ActionOpenIncident}, ids); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	for _, a := range out.Actions {
		if utf8.RuneCountInString(a.Label) > 20 || utf8.RuneCountInString(a.Description) > 40 || len(a.Identifier) > 20 {
			t.Errorf("action %+v breaks GitHub's limits", a)
		}
	}
	levels := map[string]string{}
	for _, a := range out.Annotations {
		levels[a.GetPath()] = a.GetAnnotationLevel()
	}
	if diff := cmp.Diff(map[string]string{"calc/add_test.go": "failure", "net/dial_test.go": "warning", "calc/sub.go": "failure"}, levels); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
}

func TestSummaryIsTruncatedWithinLimit(t *testing.T) {
	t.Parallel()
	var fs []store.ReportFailure
	for i := 0; i < 400; i++ {
		f := brokenTest
		f.ID, f.ClusterID = int64(100+i), int64(100+i)
		f.TestName = fmt.Sprintf("example.com/calc.TestCase%03d", i)
		f.Hint = strings.Repeat("ünïcode hint ", 20)
		f.Evidence = json.RawMessage(fmt.Sprintf(`[%q]`, strings.Repeat("evidence ", 40)))
		fs = append(fs, f)
	}
	out := RenderCheck(report(store.RunFailed, fs...))
	for name, s := range map[string]string{"summary": out.Summary, "text": out.Text} {
		if n := utf8.RuneCountInString(s); n > 65535 || len(s) < 60000 {
			t.Errorf("%s has %d characters, want close to but within 65535", name, n)
		}
		if !strings.Contains(s, "… truncated (") || !strings.Contains(s, "/runs/42") {
			t.Errorf("%s does not say it was truncated: %q", name, s[len(s)-200:])
		}
		if strings.Count(s, "```")%2 != 0 {
			t.Errorf("%s leaves a code block open", name)
		}
	}
}

func TestRepoPath(t *testing.T) {
	t.Parallel()
	roots := []string{"/workspace", "/data/workspaces/run-42/"}
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"calc/add_test.go", "calc/add_test.go", true},
		{"./calc/add_test.go", "calc/add_test.go", true},
		{"/workspace/calc/add_test.go", "calc/add_test.go", true},
		{"/data/workspaces/run-42/pkg/x.go", "pkg/x.go", true},
		{`calc\win.go`, "calc/win.go", true},
		{"/usr/local/go/src/testing/testing.go", "", false},
		{"/workspaceother/x.go", "", false},
		{"../etc/passwd", "", false},
		{"calc/../../x.go", "", false},
		{"", "", false},
		{"/workspace", "", false},
	}
	for _, tt := range tests {
		got, ok := RepoPath(tt.in, roots)
		if got != tt.want || ok != tt.ok {
			t.Errorf("RepoPath(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPathResolver(t *testing.T) {
	t.Parallel()
	monorepo := map[string]string{"example.com/mono": "", "example.com/mono/tools": "tools", "example.com/api": "services/api"}
	tests := []struct {
		file, pkg string
		modules   map[string]string
		repo      string
		want      string
	}{
		{"pricing_test.go", "example.com/samples/testfail/pricing", map[string]string{"example.com/samples/testfail": ""}, "", "pricing/pricing_test.go"},
		{"pricing_test.go", "example.com/sentinel-samples/testfail/pricing", nil, "demo/testfail", "pricing/pricing_test.go"},
		{"calc_test.go", "github.com/octo/calc", nil, "octo/calc", "calc_test.go"},
		{"x_test.go", "github.com/Octo/Calc/Sub/Dir", nil, "octo/calc", "Sub/Dir/x_test.go"},
		{"x_test.go", "example.com/calc/v2/sub", nil, "octo/calc", "sub/x_test.go"},
		{"x_test.go", "example.com/calc/calc", nil, "octo/calc", "calc/x_test.go"},
		{"x_test.go", "other.org/lib/pkg", nil, "octo/calc", "x_test.go"},
		{"x_test.go", "other.org/lib/pkg", map[string]string{"other.org/lib": ""}, "octo/calc", "pkg/x_test.go"},
		{"x_test.go", "other.org/calc/pkg", map[string]string{"other.org/lib": ""}, "octo/calc", "x_test.go"},
		{"pkg/x_test.go", "github.com/octo/calc/pkg", nil, "octo/calc", "pkg/x_test.go"},
		{"/workspace/pkg/x_test.go", "github.com/octo/calc/pkg", nil, "octo/calc", "pkg/x_test.go"},
		{"x_test.go", "", nil, "octo/calc", "x_test.go"},
		// Monorepos: the longest module holding the package decides.
		{"x_test.go", "example.com/mono/pkg", monorepo, "octo/mono", "pkg/x_test.go"},
		{"x_test.go", "example.com/mono/tools/gen", monorepo, "octo/mono", "tools/gen/x_test.go"},
		{"x_test.go", "example.com/mono/toolsx", monorepo, "octo/mono", "toolsx/x_test.go"},
		{"x_test.go", "example.com/api", monorepo, "octo/mono", "services/api/x_test.go"},
		{"x_test.go", "example.com/api/handlers/v1", monorepo, "octo/mono", "services/api/handlers/v1/x_test.go"},
		{"x_test.go", "example.com/other", monorepo, "octo/mono", "x_test.go"},
	}
	for _, tt := range tests {
		r := PathResolver{Roots: []string{runner.WorkspaceMount}, GoModules: tt.modules, Repository: tt.repo}
		got, ok := r.Resolve(store.ReportFailure{File: tt.file, TestPackage: tt.pkg})
		if !ok || got != tt.want {
			t.Errorf("Resolve(%q in %q, modules %v, repo %q) = %q, %v; want %q", tt.file, tt.pkg, tt.modules, tt.repo, got, ok, tt.want)
		}
	}
}

func FuzzRepoPath(f *testing.F) {
	for _, s := range []string{"a/b.go", "/workspace/a.go", "../x", "/x/../workspace/a", `a\..\..\b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := RepoPath(s, []string{runner.WorkspaceMount})
		if !ok {
			return
		}
		if strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") || p == "" {
			t.Errorf("RepoPath(%q) = %q escapes the repository", s, p)
		}
	})
}

func TestAnnotationBatches(t *testing.T) {
	t.Parallel()
	fs := make([]store.ReportFailure, 120)
	for i := range fs {
		fs[i] = store.ReportFailure{ID: int64(i), Category: "lint", Title: strings.Repeat("long title ", 40), File: "a.go", Line: i + 1, Message: strings.Repeat("é", 70000)}
	}
	anns := Annotations(fs, PathResolver{})
	var sizes []int
	for _, b := range AnnotationBatches(anns) {
		sizes = append(sizes, len(b))
	}
	if diff := cmp.Diff([]int{50, 50, 20}, sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	for _, a := range anns {
		if utf8.RuneCountInString(a.GetTitle()) > 255 || len(a.GetMessage()) > 64*1024 || !utf8.ValidString(a.GetMessage()) {
			t.Fatalf("annotation breaks GitHub's limits: title %d runes, message %d bytes", utf8.RuneCountInString(a.GetTitle()), len(a.GetMessage()))
		}
	}
	if AnnotationBatches(nil) != nil {
		t.Error("no annotations should give no batches")
	}
}

// FuzzRenderCheck feeds arbitrary triage output (titles, files, evidence,
// run errors) through the renderer: it must never panic, and what it makes
// must stay within GitHub's limits.
func FuzzRenderCheck(f *testing.F) {
	f.Add("expected 2, got 3", "/workspace/a_test.go", `[{"line":1,"text":"x"}]`, ".sentinel.yml line 3: bad", 12)
	f.Add("```", "../x", `["a","b"]`, "", 0)
	f.Add(strings.Repeat("é", 300), "a\\b.go", `{`, "go.mod line 0: x", -1)
	f.Fuzz(func(t *testing.T, title, file, evidence, runErr string, line int) {
		fail := store.ReportFailure{ID: 1, ClusterID: 2, Category: "test_failure", Title: title, File: file, Line: line,
			TestName: title, TestPackage: file, Evidence: json.RawMessage(evidence), Hint: title}
		r := report(store.RunFailed, fail, fail)
		r.Run.Error = runErr
		out := RenderCheck(r)
		for name, s := range map[string]string{"summary": out.Summary, "text": out.Text} {
			if utf8.RuneCountInString(s) > 65535 {
				t.Errorf("%s has %d characters", name, utf8.RuneCountInString(s))
			}
		}
		for _, a := range out.Annotations {
			p := a.GetPath()
			if p == "" || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "../") || a.GetStartLine() < 1 ||
				utf8.RuneCountInString(a.GetTitle()) > 255 || len(a.GetMessage()) > 64*1024 {
				t.Errorf("annotation breaks GitHub's rules: %+v", a)
			}
		}
		if len(out.Actions) > 3 {
			t.Errorf("%d actions", len(out.Actions))
		}
	})
}

// A long evidence block (a whole stack trace) is collapsed, and a blank
// line inside a block keeps its number instead of showing raw JSON.
func TestRenderEvidenceCollapsesLongBlocks(t *testing.T) {
	t.Parallel()
	var items []string
	for n := 1; n <= 30; n++ {
		text := fmt.Sprintf("\tat com.acme.Deep.call(Deep.java:%d)", n)
		if n == 2 {
			text = ""
		}
		items = append(items, fmt.Sprintf(`{"line":%d,"text":%q}`, n, text))
	}
	short := store.ReportFailure{Title: "short", Category: "test", Evidence: json.RawMessage(`[{"line":7,"text":"boom"}]`)}
	long := store.ReportFailure{Title: "long", Category: "test", Evidence: json.RawMessage("[" + strings.Join(items, ",") + "]")}
	got := renderEvidence(CheckReport{Failures: []store.ReportFailure{short, long}})
	if strings.Count(got, "<details>") != 1 || !strings.Contains(got, "<summary>30 lines of evidence</summary>") {
		t.Errorf("long block not collapsed once:\n%s", got)
	}
	if !strings.Contains(got, "    7 | boom") || strings.Contains(got, `{"line"`) || !strings.Contains(got, "    2 | \n") {
		t.Errorf("evidence lines:\n%s", got)
	}
}

// TestCheckTitleAndAnnotationsWithoutTerminalEscapes: colours and other
// escapes a test printed do not reach the check run's title or annotations.
func TestCheckTitleAndAnnotationsWithoutTerminalEscapes(t *testing.T) {
	t.Parallel()
	f := brokenTest
	f.TestName = "example.com/calc.\x1b[1mTestAdd\x1b[0m"
	f.Title = "\x1b[31mexpected 2, got 3\x1b[0m\x1b]0;pwned\x07\x08"
	f.Message = "\x1b[32m+ want\x1b[0m\n\x1b[31m- got\x1b[0m\tend"
	out := RenderCheck(report(store.RunFailed, f))
	if out.Title != "1 failure: example.com/calc.TestAdd (test_failure)" {
		t.Errorf("title %q", out.Title)
	}
	if len(out.Annotations) == 0 {
		t.Fatal("no annotation")
	}
	a := out.Annotations[0]
	if strings.ContainsAny(a.GetTitle()+a.GetMessage(), "\x1b\x07\x08") {
		t.Errorf("escapes left: title %q message %q", a.GetTitle(), a.GetMessage())
	}
	if !strings.Contains(a.GetMessage(), "expected 2, got 3\n\n+ want\n- got\tend") {
		t.Errorf("message %q lost its text", a.GetMessage())
	}
}

// TestSummarySaysWhenPackagesStopped: tests that never ran because a panic
// or a timeout ended their package are in no count; the summary says so
// under the step that ran them.
func TestSummarySaysWhenPackagesStopped(t *testing.T) {
	t.Parallel()
	r := report(store.RunFailed, brokenTest)
	r.Steps = append([]store.Step(nil), steps...)
	r.Steps[len(r.Steps)-1].StoppedPackages = 2
	out := RenderCheck(r)
	want := "> ⚠️ Step `test`: 2 packages ended by a panic or a timeout; their later tests did not run and are in no count."
	if !strings.Contains(out.Summary, want) {
		t.Errorf("summary lacks %q:\n%s", want, out.Summary)
	}
	if out := RenderCheck(report(store.RunFailed, brokenTest)); strings.Contains(out.Summary, "ended by a panic") {
		t.Errorf("summary speaks of stopped packages where none stopped:\n%s", out.Summary)
	}
}

// TestRenderCheckPassedInEarlierAttempt: a "Re-run failed" attempt's check
// run says why a step was skipped: it passed in an earlier attempt.
func TestRenderCheckPassedInEarlierAttempt(t *testing.T) {
	t.Parallel()
	r := report(store.RunSucceeded)
	r.Steps = []store.Step{{Name: "build", State: triage.StepSkipped, Attempt: 1, Error: "passed in attempt 1"},
		{Name: "test", State: triage.StepSucceeded, Attempt: 1}}
	if out := RenderCheck(r); !strings.Contains(out.Summary, "| build | ⏭️ skipped (passed in attempt 1) |") {
		t.Errorf("summary does not say why build was skipped:\n%s", out.Summary)
	}
}

// TestRenderCheckFilteredOut: a run whose when: filters skipped every step
// is neutral, and the summary says which filter left each step out.
func TestRenderCheckFilteredOut(t *testing.T) {
	t.Parallel()
	r := report(store.RunSucceeded)
	r.Run.Trigger, r.Run.Branch = store.TriggerPush, "feature/x"
	r.Run.Error = FilteredOutPrefix + " (deploy: when.branches [main] does not match branch feature/x)"
	r.Steps = []store.Step{{Name: "deploy", State: triage.StepSkipped, Attempt: 1, Error: "filtered out: when.branches [main] does not match branch feature/x"}}
	out := RenderCheck(r)
	if out.Conclusion != "neutral" || out.Title != "Every step was filtered out by when:" {
		t.Errorf("conclusion %q title %q", out.Conclusion, out.Title)
	}
	for _, want := range []string{"no step ran", "this push of branch `feature/x`", "filtered out: when.branches [main] does not match branch feature/x"} {
		if !strings.Contains(out.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, out.Summary)
		}
	}
	r.Run.State = store.RunFailed
	if RenderCheck(r).Conclusion == "neutral" {
		t.Error("a failed run with that error text was made neutral")
	}
}
