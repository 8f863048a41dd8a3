package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

// goTestJSONShop is what go test -json printed for a package with a
// testify-style assertion comparing UUIDs and a nil-map panic that stopped
// the package before its last test (go1.26, checkout at /home/ci/shop).
const goTestJSONShop = `{"Time":"2026-12-06T00:25:51.640794168Z","Action":"start","Package":"github.com/octo/shop/ids"}
{"Time":"2026-12-06T00:25:51.660551615Z","Action":"run","Package":"github.com/octo/shop/ids","Test":"TestParse"}
{"Time":"2026-12-06T00:25:51.660584624Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestParse","Output":"=== RUN   TestParse\n"}
{"Time":"2026-12-06T00:25:51.660694738Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestParse","Output":"    ids_test.go:8: \n"}
{"Time":"2026-12-06T00:25:51.660707847Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestParse","Output":"        \tError Trace:\t/home/ci/shop/ids/ids_test.go:8\n"}
{"Time":"2026-12-06T00:25:51.660720175Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestParse","Output":"        \tError:      \tNot equal: \n"}
{"Time":"2026-12-06T00:25:51.660732404Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestParse","Output":"        \t            \texpected: \"6ba7b811-9dad-11d1-80b4-00c04fd430c8\"\n"}
{"Time":"2026-12-06T00:25:51.660748347Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestParse","Output":"        \t            \tactual  : \"6ba7b810-9dad-11d1-80b4-00c04fd430c8\"\n"}
{"Time":"2026-12-06T00:25:51.660759724Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestParse","Output":"        \tTest:       \tTestParse\n"}
{"Time":"2026-12-06T00:25:51.660780185Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestParse","Output":"--- FAIL: TestParse (0.00s)\n"}
{"Time":"2026-12-06T00:25:51.660793835Z","Action":"fail","Package":"github.com/octo/shop/ids","Test":"TestParse","Elapsed":0}
{"Time":"2026-12-06T00:25:51.66081074Z","Action":"run","Package":"github.com/octo/shop/ids","Test":"TestLookup"}
{"Time":"2026-12-06T00:25:51.660813374Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestLookup","Output":"=== RUN   TestLookup\n"}
{"Time":"2026-12-06T00:25:51.660838892Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestLookup","Output":"--- FAIL: TestLookup (0.00s)\n"}
{"Time":"2026-12-06T00:25:51.664777879Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestLookup","Output":"panic: assignment to entry in nil map [recovered, repanicked]\n"}
{"Time":"2026-12-06T00:25:51.664814012Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestLookup","Output":"\n"}
{"Time":"2026-12-06T00:25:51.664857527Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestLookup","Output":"goroutine 23 [running]:\n"}
{"Time":"2026-12-06T00:25:51.664934141Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestLookup","Output":"testing.tRunner.func1.2({0x55a7a0, 0x6cac60})\n"}
{"Time":"2026-12-06T00:25:51.664990134Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestLookup","Output":"\t/usr/local/go/src/testing/testing.go:1974 +0x232\n"}
{"Time":"2026-12-06T00:25:51.665016473Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestLookup","Output":"testing.tRunner.func1()\n"}
{"Time":"2026-12-06T00:25:51.665070133Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestLookup","Output":"\t/usr/local/go/src/testing/testing.go:1977 +0x349\n"}
{"Time":"2026-12-06T00:25:51.665147739Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestLookup","Output":"panic({0x55a7a0?, 0x6cac60?})\n"}
{"Time":"2026-12-06T00:25:51.665202169Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestLookup","Output":"\t/usr/local/go/src/runtime/panic.go:860 +0x13a\n"}
{"Time":"2026-12-06T00:25:51.665247397Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestLookup","Output":"github.com/octo/shop/ids.TestLookup(0x8011bfb06c8?)\n"}
{"Time":"2026-12-06T00:25:51.665301107Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestLookup","Output":"\t/home/ci/shop/ids/ids_test.go:14 +0x28\n"}
{"Time":"2026-12-06T00:25:51.665349899Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestLookup","Output":"testing.tRunner(0x8011bfb06c8, 0x592f50)\n"}
{"Time":"2026-12-06T00:25:51.665414796Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestLookup","Output":"\t/usr/local/go/src/testing/testing.go:2036 +0xea\n"}
{"Time":"2026-12-06T00:25:51.665456688Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestLookup","Output":"created by testing.(*T).Run in goroutine 1\n"}
{"Time":"2026-12-06T00:25:51.66551161Z","Action":"output","Package":"github.com/octo/shop/ids","Test":"TestLookup","Output":"\t/usr/local/go/src/testing/testing.go:2101 +0x4c5\n"}
{"Time":"2026-12-06T00:25:51.66600982Z","Action":"fail","Package":"github.com/octo/shop/ids","Test":"TestLookup","Elapsed":0}
{"Time":"2026-12-06T00:25:51.666016951Z","Action":"output","Package":"github.com/octo/shop/ids","Output":"FAIL\tgithub.com/octo/shop/ids\t0.017s\n"}
{"Time":"2026-12-06T00:25:51.666030581Z","Action":"fail","Package":"github.com/octo/shop/ids","Elapsed":0.025}
`

// TestGoFailuresReadRawEverywhere posts real go test -json output, lets the
// triage worker analyse it, and checks every surface people read: the run
// page shows each failure at its file and line with its raw message, and
// no page, JSON answer or check run shows the normalised text.
func TestGoFailuresReadRawEverywhere(t *testing.T) {
	t.Parallel()
	a := newResultsAPI(t, "tok")
	body, _ := json.Marshal(ResultsUpload{Repository: "octo/shop", Commit: "4444444444444444444444444444444444444444", Branch: "main",
		RunID: "9", Content: goTestJSONShop})
	code, out := a.do("POST", "/api/results", "application/json", "tok", string(body))
	if code != http.StatusAccepted {
		t.Fatalf("upload: %d %v", code, out)
	}
	runID := int64(out["run_id"].(float64))
	if _, err := a.an.Analyze(a.ctx, a.s.River, runID); err != nil {
		t.Fatal(err)
	}
	const (
		want = "6ba7b811-9dad-11d1-80b4-00c04fd430c8"
		got  = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
	)
	page := func(path string) string {
		t.Helper()
		rec := httptest.NewRecorder()
		a.h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	noNormalised := func(where, s string) {
		t.Helper()
		for _, p := range []string{"<uuid>", "&lt;uuid&gt;", `\u003cuuid\u003e`} {
			if strings.Contains(s, p) {
				t.Errorf("%s shows the normalised %s", where, p)
			}
		}
	}

	run := page(fmt.Sprintf("/runs/%d", runID))
	// Each failure's own article shows its place and its raw message.
	articles := map[string]string{}
	for _, part := range strings.Split(run, `<article class="failure"`)[1:] {
		part, _, _ = strings.Cut(part, "</article>")
		for _, test := range []string{"TestParse", "TestLookup"} {
			if strings.Contains(part, "ids."+test+"</code>") {
				articles[test] = part
			}
		}
	}
	for test, wants := range map[string][]string{
		"TestParse":  {"<code>ids/ids_test.go:8</code>", "\tError:      \tNot equal:", "expected: &#34;" + want + "&#34;", "actual  : &#34;" + got + "&#34;"},
		"TestLookup": {"<code>ids/ids_test.go:14</code>", "panic: assignment to entry in nil map"},
	} {
		for _, s := range wants {
			if !strings.Contains(articles[test], s) {
				t.Errorf("run page: the failure of %s lacks %q", test, s)
			}
		}
	}
	if !strings.Contains(run, "1 package ended by a panic or a timeout") {
		t.Error("run page does not say that a package stopped")
	}
	noNormalised("run page", run)

	apiRun := page(fmt.Sprintf("/api/runs/%d", runID))
	var detail struct {
		StoppedPackages int `json:"stopped_packages"`
		Failures        []struct {
			Test, Title, Message, File string
			Line                       int
			ClusterID                  int64 `json:"cluster_id"`
		}
	}
	if err := json.Unmarshal([]byte(apiRun), &detail); err != nil {
		t.Fatal(err)
	}
	if detail.StoppedPackages != 1 {
		t.Errorf("API run: stopped_packages %d, want 1", detail.StoppedPackages)
	}
	var found bool
	for _, f := range detail.Failures {
		if strings.HasSuffix(f.Test, "TestParse") {
			found = true
			if f.File != "ids/ids_test.go" || f.Line != 8 || !strings.Contains(f.Message, "Error Trace:") || !strings.Contains(f.Message, `expected: "`+want+`"`) {
				t.Errorf("API failure of TestParse: %+v", f)
			}
		}
	}
	if !found {
		t.Errorf("API run has no failure of TestParse: %+v", detail.Failures)
	}
	noNormalised("API run", apiRun)

	clusters := page("/api/clusters")
	noNormalised("API clusters", clusters)
	if !strings.Contains(clusters, got) && !strings.Contains(clusters, want) {
		t.Errorf("API clusters do not show the raw UUIDs:\n%s", clusters)
	}
	for _, f := range detail.Failures {
		if f.ClusterID == 0 {
			continue
		}
		cluster := page(fmt.Sprintf("/clusters/%d", f.ClusterID))
		noNormalised("cluster page", cluster)
		if loc := fmt.Sprintf("<code>%s:%d</code>", f.File, f.Line); f.Line > 0 && !strings.Contains(cluster, loc) {
			t.Errorf("cluster %d does not place its failure at %s", f.ClusterID, loc)
		}
	}
	noNormalised("clusters page", page("/clusters"))
	noNormalised("overview", page("/"))

	r, err := store.GetRun(a.ctx, a.s.DB, runID)
	if err != nil {
		t.Fatal(err)
	}
	report, err := jobs.LoadCheckReport(a.ctx, a.s.DB, r, "http://sentinel.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	check := jobs.RenderCheck(report)
	noNormalised("check run title", check.Title)
	noNormalised("check run summary", check.Summary)
	noNormalised("check run text", check.Text)
	if !strings.Contains(check.Summary, want) {
		t.Errorf("check run summary lacks the raw %s:\n%s", want, check.Summary)
	}
	if !strings.Contains(check.Summary, "1 package ended by a panic or a timeout") {
		t.Errorf("check run summary does not say a package stopped:\n%s", check.Summary)
	}
	for _, an := range check.Annotations {
		noNormalised("annotation", an.GetTitle()+an.GetMessage())
	}
}
