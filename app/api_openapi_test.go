package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// apiSpec loads the published description and checks that it is a valid
// OpenAPI 3 document.
func apiSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPI)
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not valid OpenAPI 3: %v", err)
	}
	return doc
}

// specOperation finds the operation whose path template matches path; a
// literal segment wins over a parameter.
func specOperation(doc *openapi3.T, method, path string) (string, *openapi3.Operation) {
	got := strings.Split(path, "/")
	best, bestScore := "", -1
	for tmpl, item := range doc.Paths.Map() {
		segs := strings.Split(tmpl, "/")
		if len(segs) != len(got) || item.GetOperation(method) == nil {
			continue
		}
		score := 0
		for i, s := range segs {
			switch {
			case strings.HasPrefix(s, "{"):
			case s == got[i]:
				score++
			default:
				score = -1
			}
			if score < 0 {
				break
			}
		}
		if score > bestScore {
			best, bestScore = tmpl, score
		}
	}
	if best == "" {
		return "", nil
	}
	return best, doc.Paths.Value(best).GetOperation(method)
}

// TestAPIMatchesOpenAPI calls every operation of /api/openapi.json against a
// seeded database, and checks each answer: JSON, a status the description
// lists for the operation, and a body its schema accepts (required fields,
// types, enumerations, nullability). Every operation must be called with a
// successful answer at least once.
func TestAPIMatchesOpenAPI(t *testing.T) {
	t.Parallel()
	doc := apiSpec(t)
	ds := newDashServer(t, Options{AllowLocalRepos: true})
	s := seedDashboard(t, ds.DB)

	dir := t.TempDir()
	for _, args := range [][]string{
		{"init", "-q", "-b", "trunk", dir},
		{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "first"},
	} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	goJSON := `{"Action":"run","Package":"example.com/x","Test":"TestA"}
{"Action":"pass","Package":"example.com/x","Test":"TestA","Elapsed":0.01}
`
	calls := []struct {
		method, path, contentType, body string
		want                            int
	}{
		{"GET", "/api/openapi.json", "", "", 200},
		{"GET", "/api/runs", "", "", 200},
		{"GET", "/api/runs?repo=octo/app&state=failed&limit=2", "", "", 200},
		{"GET", fmt.Sprintf("/api/runs/%d", s.FailedRun), "", "", 200},
		{"GET", "/api/runs/424242", "", "", 404},
		{"GET", "/api/runs?state=bogus", "", "", 400},
		{"GET", "/api/runs?repo=nope/nope", "", "", 404},
		{"GET", "/api/repos", "", "", 200},
		{"POST", "/api/repos", "application/json", fmt.Sprintf(`{"full_name": "me/tool", "clone_url": %q, "default_branch": "trunk"}`, dir), 201},
		{"POST", "/api/repos", "application/json", `{"full_name": "nope"}`, 400},
		{"POST", "/api/runs", "application/json", `{"repo": "me/tool"}`, 201},
		{"POST", "/api/runs", "application/json", `{"repo": "me/none"}`, 404},
		{"POST", fmt.Sprintf("/api/runs/%d/approve", s.ForkRun), "application/json", "{}", 200},
		{"POST", fmt.Sprintf("/api/runs/%d/cancel", s.ForkRun), "application/json", "{}", 200},
		{"POST", fmt.Sprintf("/api/runs/%d/cancel", s.ForkRun), "application/json", "{}", 409},
		{"POST", fmt.Sprintf("/api/runs/%d/rerun", s.FailedRun), "application/json", "{}", 201},
		{"POST", fmt.Sprintf("/api/runs/%d/rerun", s.FailedRun), "application/json", `{"failed_only": true}`, 201},
		{"GET", "/api/clusters", "", "", 200},
		{"GET", "/api/clusters?category=test&repo=octo/app", "", "", 200},
		{"GET", "/api/clusters?category=bogus", "", "", 400},
		{"GET", "/api/clusters?repo=nope/nope", "", "", 404},
		{"GET", "/api/incidents", "", "", 200},
		{"GET", "/api/incidents?repo=nope/nope", "", "", 404},
		{"GET", "/api/incidents?status=odd", "", "", 400},
		{"GET", fmt.Sprintf("/api/incidents/%d", s.Incident), "", "", 200},
		{"POST", fmt.Sprintf("/api/incidents/%d/acknowledge", s.Incident), "application/json", `{"note": "looking"}`, 200},
		{"POST", fmt.Sprintf("/api/incidents/%d/reopen", s.Incident), "application/json", `{}`, 409},
		{"GET", "/api/flaky", "", "", 200},
		{"GET", "/api/flaky?repo=octo/app&state=flaky", "", "", 200},
		{"GET", "/api/flaky?repository=octo/app", "", "", 200},
		{"GET", "/api/flaky?repo=nope/nope", "", "", 404},
		{"GET", "/api/flaky?state=bogus", "", "", 400},
		{"GET", fmt.Sprintf("/api/flaky/%d", s.FlakyTest), "", "", 200},
		{"POST", fmt.Sprintf("/api/flaky/%d/quarantine", s.FlakyTest), "application/json", `{"owner": "mona", "for": "48h", "reason": "flaky dial"}`, 200},
		{"POST", fmt.Sprintf("/api/flaky/%d/release", s.FlakyTest), "application/json", `{}`, 200},
		{"POST", fmt.Sprintf("/api/flaky/%d/quarantine", s.FlakyTest), "application/json", `{}`, 400},
		{"POST", "/api/results?repo=octo/calc&commit=abcdef1&branch=main&run_id=1", "application/x-ndjson", goJSON, 202},
		{"POST", "/api/results?repository=octo/calc&commit=abcdef1&branch=main&run_id=1", "application/x-ndjson", goJSON, 200},
		{"GET", "/api/audit", "", "", 200},
		{"GET", "/api/audit?actor=api&kind=run&limit=1", "", "", 200},
		{"GET", "/api/audit?object=run:x", "", "", 400},
	}
	called := map[string]bool{} // "METHOD template" answered 2xx
	for _, c := range calls {
		req, _ := http.NewRequest(c.method, ds.url+c.path, strings.NewReader(c.body))
		if c.contentType != "" {
			req.Header.Set("Content-Type", c.contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		what := c.method + " " + c.path
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d: %s", what, resp.StatusCode, c.want, b)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q, want JSON", what, ct)
			continue
		}
		tmpl, op := specOperation(doc, c.method, strings.SplitN(c.path, "?", 2)[0])
		if op == nil {
			t.Errorf("%s: no operation in openapi.json", what)
			continue
		}
		if resp.StatusCode < 300 {
			called[c.method+" "+tmpl] = true
		}
		ref := op.Responses.Status(resp.StatusCode)
		if ref == nil || ref.Value == nil || ref.Value.Content.Get("application/json") == nil {
			t.Errorf("%s: status %d is not documented for %s %s", what, resp.StatusCode, c.method, tmpl)
			continue
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("%s: not JSON: %v", what, err)
			continue
		}
		if err := ref.Value.Content.Get("application/json").Schema.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
			t.Errorf("%s: answer does not match the schema of %s %s %d: %v\n%s", what, c.method, tmpl, resp.StatusCode, err, b)
		}
	}
	for tmpl, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !called[method+" "+tmpl] {
				t.Errorf("%s %s: no successful call in this test", method, tmpl)
			}
		}
	}
}

// TestAPIErrorsAreJSON: a path or method no route serves under /api/ is
// answered with a JSON error, not text/plain; the pages keep their HTML.
func TestAPIErrorsAreJSON(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	for _, c := range []struct {
		method, path string
		want         int
		ct           string
	}{
		{"GET", "/api/nope", 404, "application/json"},
		{"GET", "/api", 404, "application/json"},
		{"DELETE", "/api/runs", 405, "application/json"},
		{"PUT", "/api/flaky/1/quarantine", 405, "application/json"},
		{"GET", "/nope", 404, "text/html"},
	} {
		req, _ := http.NewRequest(c.method, ds.url+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ct) {
			t.Errorf("%s %s: %d %q, want %d %s: %s", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.want, c.ct, b)
			continue
		}
		if c.ct == "application/json" {
			var m map[string]string
			if json.Unmarshal(b, &m) != nil || m["error"] == "" {
				t.Errorf("%s %s: %s, want {\"error\": ...}", c.method, c.path, b)
			}
		}
	}
}

// TestAPIFlakyWithoutFilter: GET /api/flaky with no filter lists the tests
// (an empty state list once went to PostgreSQL as NULL and matched nothing),
// and numbers are rounded to what they mean.
func TestAPIFlakyWithoutFilter(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	status, m := apiDo(t, "GET", ds.url+"/api/flaky", "")
	tests, _ := m["tests"].([]any)
	if status != 200 || len(tests) != 4 {
		t.Fatalf("GET /api/flaky: %d, %d tests, want 4: %v", status, len(tests), m)
	}
	if first := tests[0].(map[string]any); first["name"] != "TestRetryDial" || first["state"] != "flaky" {
		t.Errorf("first test %v, want the flaky TestRetryDial", first)
	}
	_, run := apiDo(t, "GET", fmt.Sprintf("%s/api/runs/%d", ds.url, s.FailedRun), "")
	if c := run["failures"].([]any)[0].(map[string]any)["confidence"]; c != 0.9 {
		t.Errorf("confidence %v, want 0.9", c)
	}
}
