package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// TestDrillNULTestNameShown: a test whose name and message carry a NUL byte
// is stored through the runner's path (store.RecordTestResults) and shown
// on the run page and in the API, the NUL as U+2400.
func TestDrillNULTestNameShown(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	ctx := context.Background()
	var stepID int64
	if err := ds.DB.QueryRow(ctx, `SELECT id FROM steps WHERE run_id = $1 ORDER BY position DESC LIMIT 1`, s.FailedRun).Scan(&stepID); err != nil {
		t.Fatal(err)
	}
	err := ds.DB.InTx(ctx, func(tx pgx.Tx) error {
		return store.RecordTestResults(ctx, tx, s.Repo, s.FailedRun, stepID, 1, []triage.TestCase{
			{Package: "example.com/app/nul", Name: "TestNul\x00Byte", Attempt: 1, Outcome: triage.OutcomeFail, Message: "got \x00 here"}})
	})
	if err != nil {
		t.Fatalf("a NUL in a test name: %v", err)
	}
	code, body := get(t, http.DefaultClient, fmt.Sprintf("%s/runs/%d", ds.url, s.FailedRun))
	if code != http.StatusOK || !strings.Contains(body, "TestNul\u2400Byte") || !strings.Contains(body, "got \u2400 here") {
		t.Errorf("run page (%d) does not show the test with its NUL as U+2400", code)
	}
	code, run := apiDo(t, "GET", fmt.Sprintf("%s/api/runs/%d", ds.url, s.FailedRun), "")
	found := false
	tests, _ := run["tests"].([]any)
	for _, tc := range tests {
		if m, _ := tc.(map[string]any); m["name"] == "TestNul\u2400Byte" && m["outcome"] == "fail" {
			found = true
		}
	}
	if code != http.StatusOK || !found {
		t.Errorf("API run (%d) lacks the test TestNul\u2400Byte: %v", code, run["tests"])
	}
}
