package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/store"
)

// TestRunPageShowsLimitsAndWarnings: the run page and the API's run say
// which limits the steps were given, which held and which did not, and the
// run's warnings.
func TestRunPageShowsLimitsAndWarnings(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	ctx := context.Background()
	limits := []store.StepLimit{
		{Name: "memory", Value: "4 GiB", Enforced: true, How: "per process (RLIMIT_DATA)"},
		{Name: "pids", Value: "4096", How: "not enforced: Sentinel runs as root, whom RLIMIT_NPROC does not bind"},
		{Name: "disk", Value: "10 GiB", Enforced: true, How: "workspace measured every 2s"},
	}
	if err := store.SetRunLimits(ctx, ds.DB, s.FailedRun, limits); err != nil {
		t.Fatal(err)
	}
	const warning = `step "test": 50000 test results kept of 644000`
	for range 2 { // a warning is kept once
		if err := store.AddRunWarning(ctx, ds.DB, s.FailedRun, warning); err != nil {
			t.Fatal(err)
		}
	}
	code, body := get(t, http.DefaultClient, fmt.Sprintf("%s/runs/%d", ds.url, s.FailedRun))
	if code != http.StatusOK {
		t.Fatalf("run page: %d", code)
	}
	for _, want := range []string{
		"<strong>memory</strong> 4 GiB — enforced: per process (RLIMIT_DATA)",
		"<strong>pids</strong> 4096 — <em>not enforced</em>: not enforced: Sentinel runs as root",
		"<strong>disk</strong> 10 GiB — enforced",
		`<dd class="warning">step &#34;test&#34;: 50000 test results kept of 644000</dd>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	if n := strings.Count(body, `class="warning"`); n != 1 {
		t.Errorf("%d warnings shown, want 1", n)
	}
	code, run := apiDo(t, "GET", fmt.Sprintf("%s/api/runs/%d", ds.url, s.FailedRun), "")
	if code != http.StatusOK {
		t.Fatalf("api run: %d %v", code, run)
	}
	got, _ := run["limits"].([]any)
	if len(got) != 3 || got[1].(map[string]any)["enforced"] != false || got[0].(map[string]any)["value"] != "4 GiB" {
		t.Errorf("api limits %v", run["limits"])
	}
	if w, _ := run["warnings"].([]any); len(w) != 1 || w[0] != warning {
		t.Errorf("api warnings %v", run["warnings"])
	}
}
