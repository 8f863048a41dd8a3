package app

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// TestRunDiagnosticsShown: a failure's stored diagnostics are listed under
// it on the run page (file:line, severity, message, a link to the log
// line) and in the API's run JSON, and both say how many were not kept.
func TestRunDiagnosticsShown(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	ctx := context.Background()
	steps, err := store.ListSteps(ctx, ds.DB, s.FailedRun)
	if err != nil || len(steps) == 0 {
		t.Fatalf("steps %v, %v", steps, err)
	}
	ds1 := []triage.Diagnostic{
		{File: "src/parser.c", Line: 41, Column: 9, Severity: "error", Message: "'tok' undeclared (first use in this function)", Owner: "gcc", LogLine: 12},
		{File: "src/lexer.c", Line: 7, Severity: "warning", Message: "unused variable 'tmp' <b>", Owner: "gcc", LogLine: 30},
	}
	if _, err := store.ReplaceRunFailures(ctx, ds.DB, s.FailedRun, []store.NewFailure{{StepID: steps[0].ID,
		Failure: triage.Failure{Category: triage.CategoryCompile, Title: "C/C++ build error", Fingerprint: "c1", Source: "log",
			File: "src/parser.c", Line: 41, Diagnostics: ds1, DiagnosticsDropped: 4}}}); err != nil {
		t.Fatal(err)
	}

	status, body := get(t, browserlessClient(t), fmt.Sprintf("%s/runs/%d", ds.url, s.FailedRun))
	if status != 200 {
		t.Fatalf("run page: %d", status)
	}
	for _, want := range []string{
		"2 diagnostics from problem matchers; 4 more not kept",
		"<code>src/parser.c:41</code> <span class=\"diag-error\">error</span> &#39;tok&#39; undeclared (first use in this function)",
		fmt.Sprintf(`href="/runs/%d#s%d-L12"`, s.FailedRun, steps[0].ID),
		"<code>src/lexer.c:7</code> <span class=\"diag-warning\">warning</span> unused variable &#39;tmp&#39; &lt;b&gt;",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("run page lacks %q", want)
		}
	}

	status, run := apiDo(t, "GET", fmt.Sprintf("%s/api/runs/%d", ds.url, s.FailedRun), "")
	if status != 200 {
		t.Fatalf("run JSON: %d %v", status, run)
	}
	f := run["failures"].([]any)[0].(map[string]any)
	got, _ := f["diagnostics"].([]any)
	if len(got) != 2 || f["diagnostics_dropped"] != float64(4) {
		t.Fatalf("failure diagnostics %v, dropped %v; want 2 and 4", f["diagnostics"], f["diagnostics_dropped"])
	}
	d := got[0].(map[string]any)
	if d["file"] != "src/parser.c" || d["line"] != float64(41) || d["column"] != float64(9) || d["severity"] != "error" ||
		d["owner"] != "gcc" || d["log_line"] != float64(12) || !strings.Contains(d["message"].(string), "'tok' undeclared") {
		t.Errorf("diagnostic %v", d)
	}
}
