package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

type resultsAPI struct {
	t   *testing.T
	s   *Server
	h   http.Handler
	an  *jobs.TriageAnalyzeWorker
	ctx context.Context
}

func newResultsAPI(t *testing.T, token string) *resultsAPI {
	t.Helper()
	db := storetest.NewDB(t)
	rc, err := jobs.NewClient(db, nil, jobs.ClientConfig{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(db, rc, slog.New(slog.DiscardHandler), Options{PublicURL: "http://sentinel.test", AdminToken: token})
	r := chi.NewRouter()
	s.routes(r)
	return &resultsAPI{t: t, s: s, h: r, an: &jobs.TriageAnalyzeWorker{DB: db}, ctx: context.Background()}
}

func (a *resultsAPI) do(method, target, contentType, token, body string) (int, map[string]any) {
	a.t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		a.t.Fatalf("%s %s: %d %q: %v", method, target, rec.Code, rec.Body.String(), err)
	}
	return rec.Code, out
}

// upload posts a JUnit file for one external run and analyses the run.
func (a *resultsAPI) upload(token, sha, runID string, attempt int, xml string) int64 {
	a.t.Helper()
	code, out := a.do("POST", fmt.Sprintf("/api/results?repository=octo/calc&commit=%s&branch=main&run_id=%s&attempt=%d", sha, runID, attempt),
		"application/xml", token, xml)
	if code != http.StatusAccepted {
		a.t.Fatalf("upload: %d %v", code, out)
	}
	id := int64(out["run_id"].(float64))
	if _, err := a.an.Analyze(a.ctx, a.s.River, id); err != nil {
		a.t.Fatal(err)
	}
	return id
}

func junitXML(failing bool) string {
	tc := `<testcase classname="calc.AddTest" name="adds" time="0.01"/>`
	if failing {
		tc = `<testcase classname="calc.AddTest" name="adds" time="0.01"><failure message="expected 3 but was 4">at calc.AddTest.adds(AddTest.java:12)</failure></testcase>`
	}
	return `<?xml version="1.0"?><testsuite name="calc" tests="2"><testcase classname="calc.AddTest" name="subtracts" time="0.01"/>` + tc + `</testsuite>`
}

func TestPostResultsRecordsAnExternalRun(t *testing.T) {
	t.Parallel()
	a := newResultsAPI(t, "s3cret")
	const sha = "0123456789abcdef0123456789abcdef01234567"
	target := "/api/results?repository=octo/calc&commit=" + sha + "&branch=main&run_id=77"
	tests := []struct {
		name, target, ctype, token, body string
		want                             int
	}{
		{"no token", target, "application/xml", "", junitXML(false), http.StatusUnauthorized},
		{"wrong token", target, "application/xml", "nope", junitXML(false), http.StatusUnauthorized},
		{"bad commit", strings.Replace(target, sha, "main", 1), "application/xml", "s3cret", junitXML(false), http.StatusBadRequest},
		{"no run id", strings.Replace(target, "&run_id=77", "", 1), "application/xml", "s3cret", junitXML(false), http.StatusBadRequest},
		{"not results", target, "application/xml", "s3cret", "<html>nope</html>", http.StatusBadRequest},
		{"broken xml", target, "application/xml", "s3cret", "<testsuite><testcase name=", http.StatusBadRequest},
		{"accepted", target, "application/xml", "s3cret", junitXML(true), http.StatusAccepted},
		{"same run again", target, "application/xml", "s3cret", junitXML(true), http.StatusOK},
	}
	for _, tt := range tests {
		code, out := a.do("POST", tt.target, tt.ctype, tt.token, tt.body)
		if code != tt.want {
			t.Errorf("%s: status %d (%v), want %d", tt.name, code, out, tt.want)
		}
	}
	// The JSON envelope with go test -json content.
	gotest := `{"Action":"run","Package":"calc","Test":"TestAdd"}
{"Action":"fail","Package":"calc","Test":"TestAdd","Elapsed":0.01}
{"Action":"fail","Package":"calc","Elapsed":0.02}
`
	body, _ := json.Marshal(ResultsUpload{Repository: "octo/calc", Commit: sha, Branch: "main", RunID: "78", Content: gotest})
	code, out := a.do("POST", "/api/results", "application/json", "s3cret", string(body))
	if code != http.StatusAccepted || out["format"] != "go-test-json" || out["failed"].(float64) != 1 {
		t.Fatalf("JSON envelope: %d %v", code, out)
	}
	run, err := store.GetRun(a.ctx, a.s.DB, int64(out["run_id"].(float64)))
	if err != nil || run.Trigger != "external" || run.ExternalID != "78" || run.State != store.RunFailed {
		t.Fatalf("recorded run: %+v %v", run, err)
	}
}

func TestPostResultsWithoutTokenNeedsAResultType(t *testing.T) {
	t.Parallel()
	a := newResultsAPI(t, "")
	target := "/api/results?repository=octo/calc&commit=abcdef1&branch=main&run_id=1"
	if code, out := a.do("POST", target, "text/plain", "", junitXML(false)); code != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain without a token: %d %v", code, out)
	}
	if code, out := a.do("POST", target, "application/xml", "", junitXML(false)); code != http.StatusAccepted {
		t.Fatalf("application/xml without a token configured: %d %v", code, out)
	}
}

func TestResultsFeedFlakyDetectionAndAPI(t *testing.T) {
	t.Parallel()
	a := newResultsAPI(t, "tok")
	const sha = "1111111111111111111111111111111111111111"
	a.upload("tok", "2222222222222222222222222222222222222222", "1", 1, junitXML(false))
	first := a.upload("tok", sha, "2", 1, junitXML(true))
	a.upload("tok", sha, "2", 2, junitXML(false)) // re-run of the same commit passes
	code, out := a.do("GET", "/api/flaky?state=flaky", "", "", "")
	if code != http.StatusOK {
		t.Fatalf("GET /api/flaky: %d %v", code, out)
	}
	tests := out["tests"].([]any)
	if len(tests) != 1 {
		t.Fatalf("flaky tests: %v", out)
	}
	ft := tests[0].(map[string]any)
	ev := ft["evidence_runs"].([]any)
	if ft["name"] != "adds" || ft["package"] != "calc.AddTest" || len(ev) != 1 || int64(ev[0].(map[string]any)["id"].(float64)) != first {
		t.Fatalf("flaky test: %v", ft)
	}
	for _, k := range []string{"score", "failure_rate", "flip_rate", "window"} {
		if _, ok := ft[k]; !ok {
			t.Errorf("flaky test lacks %q", k)
		}
	}
	id := int64(ft["id"].(float64))
	code, out = a.do("GET", fmt.Sprintf("/api/flaky/%d", id), "", "", "")
	hist, _ := out["history"].([]any)
	if code != http.StatusOK || len(hist) != 1 || !strings.Contains(hist[0].(map[string]any)["reason"].(string), "same commit") {
		t.Fatalf("GET /api/flaky/{id}: %d %v", code, out)
	}
	if code, _ := a.do("GET", "/api/flaky/999999", "", "", ""); code != http.StatusNotFound {
		t.Fatalf("missing test: %d", code)
	}
	if code, out := a.do("POST", fmt.Sprintf("/api/flaky/%d/quarantine", id), "application/json", "", `{"owner":"alice"}`); code != http.StatusUnauthorized {
		t.Fatalf("quarantine without token: %d %v", code, out)
	}
	if code, out := a.do("POST", fmt.Sprintf("/api/flaky/%d/quarantine", id), "application/json", "tok", `{"reason":"x"}`); code != http.StatusBadRequest {
		t.Fatalf("quarantine without owner: %d %v", code, out)
	}
	code, out = a.do("POST", fmt.Sprintf("/api/flaky/%d/quarantine", id), "application/json", "tok", `{"owner":"alice","for":"48h","reason":"races on CI"}`)
	q, _ := out["quarantine"].(map[string]any)
	if code != http.StatusOK || out["state"] != "quarantined" || q == nil || q["owner"] != "alice" || q["until"] == nil {
		t.Fatalf("quarantine: %d %v", code, out)
	}
	// A quarantined test's failure does not fail the check run.
	failing := a.upload("tok", "3333333333333333333333333333333333333333", "3", 1, junitXML(true))
	_, fs, err := store.CheckRunReport(a.ctx, a.s.DB, failing)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || !fs[0].Quarantined || jobs.Conclusion(store.RunFailed, fs) != "neutral" {
		t.Fatalf("failure of a quarantined test: %+v", fs)
	}
	code, out = a.do("POST", fmt.Sprintf("/api/flaky/%d/release", id), "application/json", "tok", `{}`)
	if code != http.StatusOK || out["state"] != "flaky" {
		t.Fatalf("release: %d %v", code, out)
	}
}

func TestButtonsQuarantineAndOpenIncident(t *testing.T) {
	t.Parallel()
	a := newResultsAPI(t, "")
	const sha = "4444444444444444444444444444444444444444"
	a.upload("", sha, "10", 1, junitXML(true))
	a.upload("", sha, "10", 2, junitXML(false))
	failing := a.upload("", "5555555555555555555555555555555555555555", "11", 1, junitXML(true))
	buttons := a.s.Intake.Buttons
	run, err := store.GetRun(a.ctx, a.s.DB, failing)
	if err != nil {
		t.Fatal(err)
	}
	err = a.s.DB.InTx(a.ctx, func(tx pgx.Tx) error {
		return buttons[jobs.ActionQuarantineFlaky](a.ctx, tx, run, "octocat")
	})
	if err != nil {
		t.Fatal(err)
	}
	test, err := store.FindTest(a.ctx, a.s.DB, run.RepositoryID, "calc.AddTest", "adds")
	if err != nil {
		t.Fatal(err)
	}
	if test.State() != "quarantined" || test.QuarantineOwner != "octocat" || test.QuarantineSource != "button" ||
		test.Flaky.QuarantineUntil.Before(time.Now().Add(13*24*time.Hour)) {
		t.Fatalf("after the button: %s by %q from %q until %v", test.State(), test.QuarantineOwner, test.QuarantineSource, test.Flaky.QuarantineUntil)
	}
	err = a.s.DB.InTx(a.ctx, func(tx pgx.Tx) error {
		return buttons[jobs.ActionOpenIncident](a.ctx, tx, run, "octocat")
	})
	if err != nil {
		t.Fatal(err)
	}
	var n, syncs int
	if err := a.s.DB.QueryRow(a.ctx, `SELECT count(*) FROM incidents WHERE repository_id = $1`, run.RepositoryID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := a.s.DB.QueryRow(a.ctx, `SELECT count(*) FROM river_job WHERE kind = 'incident.sync'`).Scan(&syncs); err != nil {
		t.Fatal(err)
	}
	if n != 1 || syncs != 1 {
		t.Fatalf("open incident button: %d incidents, %d sync jobs", n, syncs)
	}
	// Pressing it again adds to the open incident instead of a second one.
	err = a.s.DB.InTx(a.ctx, func(tx pgx.Tx) error {
		return buttons[jobs.ActionOpenIncident](a.ctx, tx, run, "hubot")
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.s.DB.QueryRow(a.ctx, `SELECT count(*) FROM incidents`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("incidents after a second press: %d %v", n, err)
	}
}
