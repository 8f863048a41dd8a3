package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/app/githubapp"
	"github.com/sentinel-ci/sentinel/app/githubapp/githubtest"
	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
	"github.com/sentinel-ci/sentinel/triage"
)

// probeSuite is a JUnit-reporting script test of three tests: TestSometimes
// fails every third time it runs (its count kept in the file $COUNTER, so
// the first run fails), TestAlways always fails, TestFine never does. Set,
// SENTINEL_RETRY_TESTS selects the tests to run, as a retry's does.
const probeSuite = `#!/bin/sh
selected() { [ -z "$SENTINEL_RETRY_TESTS" ] || printf '%s\n' "$SENTINEL_RETRY_TESTS" | grep -qx "$1"; }
out='<testsuite name="probe">'
status=0
if selected TestSometimes; then
  n=$(cat "$COUNTER" 2>/dev/null || echo 0)
  echo $((n + 1)) > "$COUNTER"
  if [ $((n % 3)) -eq 0 ]; then
    out="$out<testcase classname=\"probe\" name=\"TestSometimes\"><failure message=\"run $n fails\">run $n fails</failure></testcase>"
    status=1
  else
    out="$out<testcase classname=\"probe\" name=\"TestSometimes\"/>"
  fi
fi
if selected TestAlways; then
  out="$out<testcase classname=\"probe\" name=\"TestAlways\"><failure message=\"always\">always</failure></testcase>"
  status=1
fi
if selected TestFine; then
  out="$out<testcase classname=\"probe\" name=\"TestFine\"/>"
fi
echo "$out</testsuite>" > report.xml
exit $status
`

// A push whose run fails two tests, on the default branch: each is re-run
// alone ten times at the commit by the shell executor. TestSometimes (1
// run in 3) is confirmed flaky after its first failure, TestAlways broken;
// the verdicts land in the tests' states and events, on the test page, in
// the completed check run's summary on the fake GitHub (updated after it
// completed), and in one signed notification each.
func TestEndToEndConfirmFlakyAndBroken(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a repository through the whole pipeline")
	}
	fake := githubtest.New(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	gh, err := githubapp.NewClient(githubapp.Config{AppID: 1, PrivateKey: keyPEM, APIURL: fake.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var notices []jobs.NotifyEvent
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev jobs.NotifyEvent
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || r.Header.Get(jobs.HeaderNotifySignature) == "" {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		mu.Lock()
		notices = append(notices, ev)
		mu.Unlock()
	}))
	defer hook.Close()
	cfg, err := load(map[string]string{"DATABASE_URL": storetest.URL(t), "SENTINEL_ADDR": "127.0.0.1:0",
		"SENTINEL_DATA_DIR": t.TempDir(), "SENTINEL_SHUTDOWN_GRACE": "5s", "SENTINEL_EXECUTOR": "shell",
		"SENTINEL_NOTIFY_URL": hook.URL, "SENTINEL_NOTIFY_SECRET": "e2e-notify"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.WebhookSecret = "e2e-secret"
	m := NewMain(cfg, newLogger(testWriter{t}, "warn"))
	m.GitHub = gh
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := prepareDemoRuntime(ctx, m, newProgress(io.Discard)); err != nil {
		t.Fatal(err)
	}
	removeCacheVolumesAtEnd(t, m)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx, "serve") }()
	defer func() { stop(); <-done }()
	<-m.Listening

	gitRoot, samples := t.TempDir(), t.TempDir()
	gitURL, stopGit, err := serveGit(gitRoot)
	if err != nil {
		t.Fatal(err)
	}
	defer stopGit()
	counter := filepath.Join(t.TempDir(), "sometimes-count")
	pipeline := fmt.Sprintf(`image: busybox
env: { COUNTER: %q }
steps:
  - name: test
    run: sh suite.sh
    results: junit:report.xml
`, counter)
	if err := os.MkdirAll(filepath.Join(samples, "probe"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{".sentinel.yml": pipeline, "suite.sh": probeSuite} {
		if err := os.WriteFile(filepath.Join(samples, "probe", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := &demo{m: m, p: newProgress(io.Discard), gitRoot: gitRoot, gitURL: gitURL, samples: samples,
		workDir: filepath.Join(t.TempDir(), "src"), webhook: "http://" + m.Addr + "/webhooks/github"}
	repo, err := d.prepareRepo(ctx, "probe")
	if err != nil {
		t.Fatal(err)
	}
	sha, err := d.commit(ctx, repo, "a suite with a flaky and a broken test")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.deliver(ctx, "probe", 4343, sha, 1); err != nil {
		t.Fatal(err)
	}
	run, err := d.waitForRun(ctx, sha)
	if err != nil {
		t.Fatal(err)
	}
	if run.State != store.RunFailed || run.Category == triage.CategoryConfiguration {
		t.Fatalf("run %d: %s (%s), want failed", run.ID, run.State, run.Error)
	}
	var probes []store.TestProbe
	for {
		if probes, err = store.RunProbes(ctx, m.DB, run.ID); err != nil {
			t.Fatal(err)
		}
		if len(probes) == 0 {
			// The analysis that concluded the run records them in its transaction.
			t.Fatal("the run concluded without probes of its failed tests")
		}
		finished := len(probes) == 2
		for _, p := range probes {
			finished = finished && p.Finished()
		}
		if finished {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("probes not finished: %+v", probes)
		case <-time.After(300 * time.Millisecond):
		}
	}
	want := map[string]struct {
		state   triage.TestState
		message string
	}{
		"TestSometimes": {triage.TestFlaky, "failed 3 of 10 re-runs: flaky, about 1 in 3"},
		"TestAlways":    {triage.TestBroken, "failed 10 of 10 re-runs: broken"},
	}
	ids := map[string]int64{}
	for _, p := range probes {
		w := want[p.Name]
		ids[p.Name] = p.TestID
		if p.State != store.ProbeDone || p.Verdict != w.state || p.Message != w.message || p.Runs != 10 || p.Seconds <= 0 {
			t.Errorf("probe of %s: %+v, want verdict %s %q", p.Name, p, w.state, w.message)
		}
		test, err := store.GetTest(ctx, m.DB, p.TestID)
		if err != nil {
			t.Fatal(err)
		}
		if test.State() != w.state {
			t.Errorf("%s is %s after its first failure, want %s", p.Name, test.State(), w.state)
		}
		if w.state == triage.TestBroken && test.Flaky.FirstBadSHA != sha {
			t.Errorf("%s broken at %q, want %s", p.Name, test.Flaky.FirstBadSHA, sha)
		}
	}

	// The completed check run, updated with both verdicts.
	deadline := time.Now().Add(time.Minute)
	for {
		var summary string
		completed := 0
		for _, c := range fake.CheckRuns() {
			if c.HeadSHA == sha {
				summary = c.Summary
				for _, h := range c.History {
					if strings.HasPrefix(h, "completed") {
						completed++
					}
				}
			}
		}
		if strings.Contains(summary, "### Confirmation re-runs") &&
			strings.Contains(summary, "failed 3 of 10 re-runs: flaky, about 1 in 3") &&
			strings.Contains(summary, "failed 10 of 10 re-runs: broken") {
			if completed == 0 {
				t.Errorf("the check run never completed: %v", summary)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the check run's summary lacks the verdicts:\n%s", summary)
		}
		time.Sleep(300 * time.Millisecond)
	}

	// The test page.
	resp, err := http.Get(fmt.Sprintf("http://%s/tests/%d", m.Addr, ids["TestSometimes"]))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, s := range []string{"Confirmation re-runs", "failed 3 of 10 re-runs: flaky, about 1 in 3", "used in the last 24 hours",
		"confirmed by re-runs at " + triage.ShortSHA(sha)} {
		if !strings.Contains(string(page), s) {
			t.Errorf("the test page lacks %q:\n%s", s, page)
		}
	}

	// One notification per verdict.
	for {
		mu.Lock()
		got := map[string]int{}
		for _, n := range notices {
			if n.Test != nil && strings.Contains(n.Reason, "confirmed by re-runs") {
				got[n.Event+" "+n.Test.Name]++
			}
		}
		mu.Unlock()
		if got[jobs.NotifyTestFlaky+" probe::TestSometimes"] == 1 && got[jobs.NotifyTestBroken+" probe::TestAlways"] == 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("notifications: %v", got)
		case <-time.After(300 * time.Millisecond):
		}
	}
}
