package app

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// chromium finds the browser; tests skip without one, except in CI.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium found (required in CI): apt-get install -y chromium")
	}
	t.Skip("no Chromium found: apt-get install -y chromium")
	return ""
}

// artifactsDir is where screenshots go: $SENTINEL_ARTIFACTS or a temp dir.
func artifactsDir(t *testing.T) string {
	if d := os.Getenv("SENTINEL_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestBrowser drives every page in headless Chromium over a seeded
// database: each loads without console errors and shows its data, the
// actions work end to end through their forms, the live tail follows a
// running step, and the main pages are kept as screenshots.
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	shots := artifactsDir(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" || m.Type == "warning" || m.Type == "assert" {
				mu.Lock()
				problems = append(problems, m.String())
				mu.Unlock()
			}
		}
	}()

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(c, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		s, err := chromedp.Run(c, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	poll := func(what, expr string) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if _, err := chromedp.Run(c, chromedp.Poll[bool](expr)); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	shot := func(name string) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Prove the console is watched: a probe error must arrive, then is forgotten.
	step("probe", chromedp.Navigate(ds.url+"/login"), chromedp.WaitVisible("main h1"))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`console.error("console-probe")`)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		mu.Lock()
		seen := len(problems) > 0 && strings.Contains(problems[0], "console-probe")
		if seen {
			problems = nil
		}
		mu.Unlock()
		if seen {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("console errors are not collected")
		}
		time.Sleep(20 * time.Millisecond) // polling the collector, with a deadline
	}

	pages := []struct{ name, path, want string }{
		{"overview", "/", "TestEvict failed"},
		{"runs", "/runs", "Make the cache concurrent"},
		{"run", fmt.Sprintf("/runs/%d", s.FailedRun), "The eviction test expects"},
		{"clusters", "/clusters", "want 3 entries, got 2"},
		{"cluster", fmt.Sprintf("/clusters/%d", s.Cluster), "example.com/app/cache.TestEvict"},
		{"flaky", "/flaky", "TestRetryDial"},
		{"incidents", "/incidents", "TestEvict keeps failing on main"},
		{"incident", fmt.Sprintf("/incidents/%d", s.Incident), "Commit f00dfee changed"},
		{"dead", "/dead", "GitHub answered 502 Bad Gateway"},
	}
	for _, p := range pages {
		step("load "+p.name, chromedp.Navigate(ds.url+p.path), chromedp.WaitVisible("main h1"))
		if got := text("main"); !strings.Contains(got, p.want) {
			t.Errorf("%s: page text lacks %q", p.name, p.want)
		}
		shot(p.name)
	}
	// Dark mode follows the system preference.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	step("dark run page", chromedp.Navigate(fmt.Sprintf("%s/runs/%d", ds.url, s.FailedRun)), chromedp.WaitVisible("main h1"))
	bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`))
	if err != nil || bg != "rgb(21, 23, 26)" {
		t.Errorf("dark mode background %q (%v)", bg, err)
	}
	shot("run-dark")
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatal(err)
	}

	// Keyboard: the first Tab lands on the skip link.
	step("keyboard", chromedp.Navigate(ds.url+"/runs"), chromedp.WaitVisible("main h1"), chromedp.KeyEvent("\t"))
	if cls, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.className`)); cls != "skip" {
		t.Errorf("first Tab focuses %q, want the skip link", cls)
	}

	// Actions, end to end through their forms.
	step("rerun", chromedp.Navigate(fmt.Sprintf("%s/runs/%d", ds.url, s.FailedRun)), chromedp.WaitVisible("main h1"),
		chromedp.Click(`//button[text()="Re-run"]`), chromedp.WaitVisible(".flash"))
	if got := text(".flash"); !strings.Contains(got, "Re-run of run") {
		t.Errorf("after re-run: %q", got)
	}
	step("approve", chromedp.Navigate(fmt.Sprintf("%s/runs/%d", ds.url, s.ForkRun)), chromedp.WaitVisible("main h1"),
		chromedp.Click(`//button[text()="Approve and run"]`), chromedp.WaitVisible(".flash"))
	step("quarantine", chromedp.Navigate(ds.url+"/flaky"), chromedp.WaitVisible("main h1"),
		chromedp.Click(fmt.Sprintf(`#test-%d a.button`, s.FlakyTest)), chromedp.WaitVisible(`dialog[open] input[name="owner"]`),
		chromedp.SendKeys(`dialog[open] input[name="owner"]`, "octocat"),
		chromedp.Click(`dialog[open] button.primary`), chromedp.WaitVisible(".flash"))
	if got := text(fmt.Sprintf("#test-%d", s.FlakyTest)); !strings.Contains(got, "octocat") || !strings.Contains(got, "Unquarantine") {
		t.Errorf("quarantined row: %q", got)
	}
	step("acknowledge", chromedp.Navigate(fmt.Sprintf("%s/incidents/%d", ds.url, s.Incident)), chromedp.WaitVisible("main h1"),
		chromedp.Click(`//button[contains(text(), "Acknowledge")]`), chromedp.WaitVisible(".flash"))
	if got := text(".flash"); !strings.Contains(got, "mitigating") {
		t.Errorf("after acknowledge: %q", got)
	}
	step("retry", chromedp.Navigate(ds.url+"/dead"), chromedp.WaitVisible("main h1"),
		chromedp.Click(`//button[text()="Retry"]`), chromedp.WaitVisible(".flash"))
	var states string
	ds.DB.QueryRow(ctx, `SELECT (SELECT state FROM runs WHERE id = $1) || ' ' || (SELECT status FROM incidents WHERE id = $2) || ' ' ||
		(SELECT state::text FROM river_job WHERE id = $3)`, s.ForkRun, s.Incident, s.DeadJob).Scan(&states)
	if states != "queued mitigating available" {
		t.Errorf("after the actions: %q", states)
	}

	// Live tail: lines written while the page is open appear, and the end is announced.
	step("live page", chromedp.Navigate(fmt.Sprintf("%s/runs/%d", ds.url, s.RunningRun)), chromedp.WaitVisible("main h1"))
	poll("live tail starts", fmt.Sprintf(`document.getElementById("live-%d").textContent.includes("live")`, s.RunningStep))
	if err := store.AppendLogChunk(ctx, ds.DB, s.RunningRun, store.LogChunk{StepID: s.RunningStep, Seq: 2, FirstLine: 2, Data: []byte(" and done\nPASS\n")}); err != nil {
		t.Fatal(err)
	}
	step("live lines", chromedp.WaitVisible(fmt.Sprintf("#s%d-L3", s.RunningStep)))
	if got := text(fmt.Sprintf("#s%d-L2", s.RunningStep)); !strings.Contains(got, "still going and done") {
		t.Errorf("live line 2: %q", got)
	}
	code := 0
	if err := store.FinishStep(ctx, ds.DB, s.RunningStep, store.StepEnd{State: triage.StepSucceeded, ExitCode: &code}); err != nil {
		t.Fatal(err)
	}
	poll("live end", fmt.Sprintf(`document.getElementById("live-%d").textContent.includes("Step finished")`, s.RunningStep))
	shot("run-live")

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser console: %s", p)
	}
	t.Logf("screenshots in %s", shots)
}
