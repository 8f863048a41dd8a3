package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
)

// TestRunExecuteResultCaps: a step reporting more test results than the
// cap stores the cap (failing tests first), a result file over the size
// cap is not read, and a file that does not parse is skipped; each is a
// warning on the run and in the check run's summary, and none makes the
// run errored.
func TestRunExecuteResultCaps(t *testing.T) {
	h := newHarness(t, runner.NewShell(), false)
	h.cfg.MaxTestResults, h.cfg.MaxResultFileBytes = 5, 4096
	h.client = newTestClient(t, h.db, h.cfg, true)
	var cases strings.Builder
	for i := range 8 {
		if i == 6 {
			cases.WriteString(`<testcase classname="c" name="t6"><failure message="boom"/></testcase>`)
			continue
		}
		cases.WriteString(`<testcase classname="c" name="t` + string(rune('0'+i)) + `"/>`)
	}
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: ignored
steps:
  - name: tests
    run: |
      cp many.xml out/many.xml; cp broken.xml out/broken.xml; cp big.xml out/big.xml
    results: junit:out/*.xml
`, "out/.keep": "",
		"many.xml":   `<testsuite name="s">` + cases.String() + `</testsuite>`,
		"broken.xml": `<testsuite name="s"><testcase name="x">`,
		"big.xml":    `<testsuite name="s"><testcase name="big"/></testsuite>` + "<!--" + strings.Repeat("x", 5000) + "-->",
	})
	runID, _ := h.enqueue(cloneURL, sha)
	run := h.waitRun(runID, time.Minute)
	if run.State != store.RunSucceeded {
		t.Fatalf("run %s/%s %q, want succeeded", run.State, run.Category, run.Error)
	}
	want := []string{
		`step "tests": results file out/big.xml is 5061 bytes, over the cap of 4 KiB per file (SENTINEL_MAX_RESULT_FILE_SIZE); not read`,
		`step "tests": results file out/broken.xml is not valid JUnit XML: junit: `,
		`step "tests": 5 test results kept of 8, the cap per step (SENTINEL_MAX_TEST_RESULTS); failing tests were kept first`,
	}
	if len(run.Warnings) != len(want) {
		t.Fatalf("warnings %q, want %d", run.Warnings, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(run.Warnings[i], w) {
			t.Errorf("warning %d: %q, want it to start with %q", i, run.Warnings[i], w)
		}
	}
	var stored, failed int
	if err := h.db.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE outcome = 'fail') FROM test_results WHERE run_id = $1`, runID).Scan(&stored, &failed); err != nil {
		t.Fatal(err)
	}
	if stored != 5 || failed != 1 {
		t.Errorf("%d results stored (%d failed), want 5 with the failure", stored, failed)
	}
	out := RenderCheck(CheckReport{Run: run, PublicURL: "http://sentinel.test"})
	if !strings.Contains(out.Summary, "> **Warning:** "+want[2]) {
		t.Errorf("the check run's summary does not tell the cap:\n%s", out.Summary)
	}
}

// TestRunExecuteGoTestJSONOverCap: go test -json output past the result
// file cap is neither kept whole on disk nor parsed into wrong outcomes: the
// run gets a warning and no results.
func TestRunExecuteGoTestJSONOverCap(t *testing.T) {
	h := newHarness(t, runner.NewShell(), false)
	h.cfg.MaxResultFileBytes = 4096
	h.client = newTestClient(t, h.db, h.cfg, true)
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: ignored
steps:
  - name: tests
    run: |
      i=0; while [ $i -lt 200 ]; do
        printf '{"Action":"pass","Package":"example.com/m","Test":"TestN%d","Elapsed":0}\n' $i; i=$((i+1))
      done
    results: go-test-json
`})
	runID, _ := h.enqueue(cloneURL, sha)
	run := h.waitRun(runID, time.Minute)
	if run.State != store.RunSucceeded || len(run.Warnings) != 1 ||
		run.Warnings[0] != `step "tests": its go test -json output reached the cap of 4 KiB (SENTINEL_MAX_RESULT_FILE_SIZE); its results were not read` {
		t.Errorf("run %s %q, want succeeded with a warning of the cap", run.State, run.Warnings)
	}
	var n int
	if err := h.db.QueryRow(context.Background(), `SELECT count(*) FROM test_results WHERE run_id = $1`, runID).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d results stored (%v), want none", n, err)
	}
}
