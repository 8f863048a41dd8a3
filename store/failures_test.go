package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
	"github.com/sentinel-ci/sentinel/triage"
)

// TestFailureDiagnosticsRoundTrip: the diagnostics of a failure come back
// whole from RunFailures and CheckRunReport; beyond MaxFailureDiagnostics
// they are cut and counted with those triage already dropped; a failure
// without any reads back none.
func TestFailureDiagnosticsRoundTrip(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	_, runID := newRunForSteps(t, db)
	ctx := context.Background()

	few := []triage.Diagnostic{
		{File: "src/a.c", Line: 5, Column: 17, Severity: "error", Message: "expected ';' before '}' token", Owner: "gcc", LogLine: 3},
		{File: "lib/b.sh", Line: 2, Severity: "notice", Message: "Double quote to prevent globbing", Code: "SC2086", Owner: "shellcheck", LogLine: 9},
	}
	var many []triage.Diagnostic
	for i := range store.MaxFailureDiagnostics + 7 {
		many = append(many, triage.Diagnostic{File: "src/w.c", Line: i + 1, Severity: "warning", Message: fmt.Sprint("unused ", i), Owner: "gcc", LogLine: int64(i + 1)})
	}
	fs := []store.NewFailure{
		{Failure: triage.Failure{Category: triage.CategoryCompile, Title: "few", Fingerprint: "f1", Source: "log", Diagnostics: few}},
		{Failure: triage.Failure{Category: triage.CategoryCompile, Title: "many", Fingerprint: "f2", Source: "log", Diagnostics: many, DiagnosticsDropped: 3}},
		{Failure: triage.Failure{Category: triage.CategoryTest, Title: "none", Fingerprint: "f3", Source: "test"}},
	}
	if _, err := store.ReplaceRunFailures(ctx, db, runID, fs); err != nil {
		t.Fatal(err)
	}
	got, err := store.RunFailures(ctx, db, runID)
	if err != nil {
		t.Fatal(err)
	}
	_, rep, err := store.CheckRunReport(ctx, db, runID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || len(rep) != 3 {
		t.Fatalf("%d failures, %d report failures; want 3", len(got), len(rep))
	}
	if d := cmp.Diff(few, got[0].Diagnostics); d != "" || got[0].DiagnosticsDropped != 0 {
		t.Errorf("diagnostics (-stored +read):\n%s dropped %d", d, got[0].DiagnosticsDropped)
	}
	if d := cmp.Diff(few, rep[0].Diagnostics); d != "" {
		t.Errorf("report diagnostics (-stored +read):\n%s", d)
	}
	for _, c := range []struct {
		name    string
		ds      []triage.Diagnostic
		dropped int
	}{{"failure", got[1].Diagnostics, got[1].DiagnosticsDropped}, {"report", rep[1].Diagnostics, rep[1].DiagnosticsDropped}} {
		if len(c.ds) != store.MaxFailureDiagnostics || c.dropped != 7+3 {
			t.Errorf("%s: %d diagnostics kept, %d dropped; want %d and 10", c.name, len(c.ds), c.dropped, store.MaxFailureDiagnostics)
		}
		if len(c.ds) > 0 && (c.ds[0] != many[0] || c.ds[len(c.ds)-1] != many[store.MaxFailureDiagnostics-1]) {
			t.Errorf("%s: kept not the first ones: %+v … %+v", c.name, c.ds[0], c.ds[len(c.ds)-1])
		}
	}
	if len(got[2].Diagnostics) != 0 || len(rep[2].Diagnostics) != 0 || got[2].DiagnosticsDropped != 0 {
		t.Errorf("failure without diagnostics read %+v / %+v", got[2].Diagnostics, rep[2].Diagnostics)
	}
}
