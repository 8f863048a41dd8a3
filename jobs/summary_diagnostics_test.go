package jobs

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// TestDiagnosticAnnotations: each diagnostic stored on an evidence line
// becomes an annotation at its level, except one at the failure's own
// place or outside the repository; old rows without diagnostics give none.
func TestDiagnosticAnnotations(t *testing.T) {
	ev, err := json.Marshal([]triage.Evidence{
		{Line: 3, Text: "src/a.c:5:2: error: boom", Diagnostic: &triage.Diagnostic{File: "src/a.c", Line: 5, Column: 2, Severity: "error", Message: "boom", Owner: "gcc"}},
		{Line: 4, Text: "src/a.c:9:1: warning: unused", Diagnostic: &triage.Diagnostic{File: "src/a.c", Line: 9, Column: 1, Severity: "warning", Message: "unused", Owner: "gcc"}},
		{Line: 5, Text: "x.sh:1:1: note: quote", Diagnostic: &triage.Diagnostic{File: "x.sh", Line: 1, Severity: "notice", Message: "quote", Owner: "shellcheck", Code: "SC2086"}},
		{Line: 6, Text: "evil", Diagnostic: &triage.Diagnostic{File: "../evil", Line: 1, Severity: "error", Message: "out", Owner: "x"}},
		{Line: 7, Text: "plain line"},
	})
	if err != nil {
		t.Fatal(err)
	}
	fs := []store.ReportFailure{
		{Category: triage.CategoryCompile, Title: "boom", File: "src/a.c", Line: 5, Evidence: ev},
		{Category: triage.CategoryTest, Title: "old row", Evidence: json.RawMessage(`["a plain string"]`)},
	}
	anns := Annotations(fs, PathResolver{})
	var got []string
	for _, a := range anns {
		got = append(got, a.GetPath()+":"+strconv.Itoa(a.GetStartLine())+" "+a.GetAnnotationLevel()+" "+a.GetTitle())
	}
	want := []string{"src/a.c:5 failure compile: boom", "src/a.c:9 warning gcc warning", "x.sh:1 notice shellcheck notice SC2086"}
	if len(got) != len(want) {
		t.Fatalf("annotations %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("annotation %d = %q, want %q", i, got[i], want[i])
		}
	}
	if anns[1].GetStartColumn() != 1 || anns[1].GetEndColumn() != 1 {
		t.Errorf("column not kept: %+v", anns[1])
	}
}

// TestStoredDiagnosticAnnotations: every diagnostic stored with a failure
// is annotated, whether or not it is on an evidence line; one at the
// failure's own line, outside the repository, without a line or repeated
// by a second step is not.
func TestStoredDiagnosticAnnotations(t *testing.T) {
	ds := []triage.Diagnostic{
		{File: "src/a.c", Line: 5, Column: 2, Severity: "error", Message: "boom", Owner: "gcc", LogLine: 3},
		{File: "src/a.c", Line: 9, Severity: "error", Message: "again", Owner: "gcc", LogLine: 300},
		{File: "src/a.c", Line: 9, Column: 14, Severity: "error", Message: "second on the line", Owner: "gcc", LogLine: 301},
		{File: "src/b.c", Line: 2, Severity: "warning", Message: "unused", Owner: "gcc", LogLine: 400},
		{File: "/etc/passwd", Line: 1, Severity: "error", Message: "absolute", Owner: "x", LogLine: 401},
		{File: "../up.c", Line: 1, Severity: "error", Message: "climbs", Owner: "x", LogLine: 402},
		{File: "src/c.c", Severity: "error", Message: "no line", Owner: "x", LogLine: 403},
	}
	ev := json.RawMessage(`[{"line":3,"text":"src/a.c:5:2: error: boom"}]`)
	fs := []store.ReportFailure{
		{Category: triage.CategoryCompile, Title: "boom", File: "src/a.c", Line: 5, Evidence: ev, Diagnostics: ds},
		{Category: triage.CategoryCompile, Title: "boom again", StepName: "test", Diagnostics: ds[1:2]},
	}
	var got []string
	for _, a := range Annotations(fs, PathResolver{}) {
		got = append(got, a.GetPath()+":"+strconv.Itoa(a.GetStartLine())+":"+strconv.Itoa(a.GetStartColumn())+" "+a.GetAnnotationLevel()+" "+a.GetMessage())
	}
	want := []string{"src/a.c:5:0 failure boom", "src/a.c:9:0 failure again", "src/a.c:9:14 failure second on the line", "src/b.c:2:0 warning unused"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("annotations\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSummarySaysDiagnosticsCapped: the check run's summary says when a
// step printed more diagnostics than were kept, and is silent otherwise.
func TestSummarySaysDiagnosticsCapped(t *testing.T) {
	ds := []triage.Diagnostic{{File: "src/a.c", Line: 5, Severity: "error", Message: "boom", Owner: "gcc", LogLine: 3}}
	run := store.Run{ID: 9, State: store.RunFailed}
	capped := RenderCheck(CheckReport{Run: run, Failures: []store.ReportFailure{
		{Category: triage.CategoryCompile, Title: "boom", StepName: "build", Diagnostics: ds, DiagnosticsDropped: 12}}})
	if want := "step `build` printed 12 diagnostics beyond the 1 kept"; !strings.Contains(capped.Summary, want) {
		t.Errorf("summary lacks %q:\n%s", want, capped.Summary)
	}
	whole := RenderCheck(CheckReport{Run: run, Failures: []store.ReportFailure{
		{Category: triage.CategoryCompile, Title: "boom", StepName: "build", Diagnostics: ds}}})
	if strings.Contains(whole.Summary, "beyond the") {
		t.Errorf("summary speaks of a cap that was not reached:\n%s", whole.Summary)
	}
}
