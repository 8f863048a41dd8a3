package app

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

// TestPostResultsCapsTestCases: an upload's test cases are capped as a
// step's are (SENTINEL_MAX_TEST_RESULTS: failing tests kept first, the
// answer and the run say how many were kept), for JUnit and go test -json,
// and a file over SENTINEL_MAX_RESULT_FILE_SIZE is refused with 413.
func TestPostResultsCapsTestCases(t *testing.T) {
	t.Parallel()
	a := newResultsAPI(t, "s3cret")
	a.s.Opts.ResultCaps = jobs.ResultCaps{Tests: 3, FileBytes: 4096}
	const sha = "0123456789abcdef0123456789abcdef01234567"
	var junit strings.Builder
	junit.WriteString(`<?xml version="1.0"?><testsuite name="calc">`)
	for i := range 10 {
		if i == 8 {
			fmt.Fprintf(&junit, `<testcase classname="calc" name="t%d"><failure message="boom"/></testcase>`, i)
			continue
		}
		fmt.Fprintf(&junit, `<testcase classname="calc" name="t%d"/>`, i)
	}
	junit.WriteString(`</testsuite>`)
	var gotest strings.Builder
	for i := range 5 {
		action := "pass"
		if i == 4 {
			action = "fail"
		}
		fmt.Fprintf(&gotest, "{\"Action\":\"run\",\"Package\":\"calc\",\"Test\":\"T%d\"}\n{\"Action\":%q,\"Package\":\"calc\",\"Test\":\"T%d\"}\n", i, action, i)
	}
	for _, tt := range []struct {
		name, ctype, body, warning string
	}{
		{"junit", "application/xml", junit.String(), "3 test results kept of 10, the cap per step (SENTINEL_MAX_TEST_RESULTS); failing tests were kept first"},
		{"go-test-json", "application/x-ndjson", gotest.String(), "3 test results kept of 5, the cap per step (SENTINEL_MAX_TEST_RESULTS); failing tests were kept first"},
	} {
		code, out := a.do("POST", "/api/results?repository=octo/calc&commit="+sha+"&branch=main&run_id="+tt.name, tt.ctype, "s3cret", tt.body)
		if code != http.StatusAccepted || out["tests"] != 3.0 || out["failed"] != 1.0 {
			t.Fatalf("%s: %d %v, want 202 with 3 tests, 1 failed", tt.name, code, out)
		}
		if w, _ := out["warnings"].([]any); len(w) != 1 || w[0] != tt.warning {
			t.Errorf("%s: warnings %v, want [%q]", tt.name, out["warnings"], tt.warning)
		}
		run, err := store.GetRun(a.ctx, a.s.DB, int64(out["run_id"].(float64)))
		if err != nil || !slices.Contains(run.Warnings, tt.warning) {
			t.Errorf("%s: run warnings %q (%v), want %q", tt.name, run.Warnings, err, tt.warning)
		}
		results, err := store.ListTestResults(a.ctx, a.s.DB, run.ID)
		if err != nil || len(results) != 3 {
			t.Errorf("%s: %d results stored (%v), want 3", tt.name, len(results), err)
		}
	}
	big := `<?xml version="1.0"?><testsuite name="calc"><testcase classname="calc" name="t"/>` + strings.Repeat(" ", 4096) + `</testsuite>`
	code, out := a.do("POST", "/api/results?repository=octo/calc&commit="+sha+"&branch=main&run_id=big", "application/xml", "s3cret", big)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(fmt.Sprint(out["error"]), "SENTINEL_MAX_RESULT_FILE_SIZE") {
		t.Errorf("a file over the cap: %d %v, want 413 naming SENTINEL_MAX_RESULT_FILE_SIZE", code, out)
	}
	// Under the cap, no warning.
	code, out = a.do("POST", "/api/results?repository=octo/calc&commit="+sha+"&branch=main&run_id=small", "application/xml", "s3cret", junitXML(true))
	if _, ok := out["warnings"]; code != http.StatusAccepted || ok {
		t.Errorf("a small upload: %d %v, want 202 without warnings", code, out)
	}
}
