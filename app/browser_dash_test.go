package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowserTestsAndLogs drives the pages of one test, the flaky list,
// the readable Go log with its folded retry and the audit log in headless
// Chromium, at a phone's width and a wide screen's, asserting what a
// person sees (what is open, what is folded, what fits) and keeping
// screenshots.
func TestBrowserTestsAndLogs(t *testing.T) {
	bin := chromium(t)
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	x := seedDashExtras(t, ds.DB, s)
	shots := artifactsDir(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	var problems []string
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" || m.Type == "warning" {
				problems = append(problems, m.String())
			}
		}
	}()
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(c, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		v, err := chromedp.Run(c, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return v
	}
	width := func(w int64) {
		t.Helper()
		if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: w, Height: 900, DeviceScaleFactor: 1, Mobile: w < 600}); err != nil {
			t.Fatal(err)
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
	// The page's main content fits the viewport: nothing but the marked
	// scroll boxes (tables, logs) is wider than the screen.
	fits := func(page string) {
		t.Helper()
		if over := eval(`(() => { const w = document.documentElement.clientWidth;
			const bad = [...document.querySelectorAll("main *")].filter(e => !e.closest(".scroll, .log, pre") && e.getBoundingClientRect().right > w + 1);
			return bad.slice(0, 3).map(e => e.tagName + "." + e.className).join(", "); })()`); over != "" {
			t.Errorf("%s: wider than the screen: %s", page, over)
		}
	}

	for _, w := range []int64{1440, 375} {
		width(w)
		// The test page: the strip, the rate in words, one control.
		run("test page", chromedp.Navigate(fmt.Sprintf("%s/tests/%d", ds.url, x.Costly)), chromedp.WaitVisible("main h1"))
		if got := eval(`document.querySelectorAll(".outcomes a.o-flip").length + " " + document.getElementById("rate").textContent`); got != "8 failed every run (8 of 8); too few runs to be sure" {
			t.Errorf("test page strip and rate: %q", got)
		}
		if got := eval(`document.querySelectorAll("main form").length + " " + document.querySelector(".outcomes a").getBoundingClientRect().height`); !strings.HasPrefix(got, "1 ") {
			t.Errorf("test page: forms and strip: %q, want one quarantine control", got)
		}
		fits("test page")
		shot(fmt.Sprintf("test-%d", w))

		// The flaky page: the tests needing a look, by impact, and the dialog.
		run("flaky page", chromedp.Navigate(ds.url+"/flaky"), chromedp.WaitVisible("main h1"))
		if got := eval(`[...document.querySelectorAll("table.flaky tbody tr td:first-child code")].map(e => e.textContent.split(".").pop()).join(",")`); got != "TestFlushRace,TestRetryDial,TestWrite,TestSlowServer" {
			t.Errorf("flaky page default list: %q", got)
		}
		if got := eval(`document.querySelector(".legend").textContent`); !strings.Contains(got, "◐ failed, then passed on retry") {
			t.Errorf("flaky page legend: %q", got)
		}
		run("quarantine dialog", chromedp.Click(fmt.Sprintf(`#test-%d a.button`, x.Costly)), chromedp.WaitVisible(`dialog[open] input[name="owner"]`))
		if got := eval(`document.querySelectorAll("dialog[open]").length + " " + document.querySelectorAll("input[name=owner]").length + " " + document.querySelector("dialog h2").textContent`); got != "1 1 Quarantine example.com/app/store.TestFlushRace" {
			t.Errorf("quarantine dialog: %q", got)
		}
		fits("flaky page")
		shot(fmt.Sprintf("flaky-%d", w))

		// The clusters list: a category select, a drawn trend per row.
		run("clusters page", chromedp.Navigate(ds.url+"/clusters"), chromedp.WaitVisible("main h1"))
		if got := eval(`document.querySelectorAll("select[name=category] option").length + " " + [...document.querySelectorAll("table.clusters tbody tr")].map(r => { const b = r.querySelector("svg.spark").getBoundingClientRect(); return b.width > 50 && b.height > 10; }).join(",")`); got != "12 true" {
			t.Errorf("clusters page: category options and drawn sparklines: %q, want 12 options and one drawn trend", got)
		}
		fits("clusters page")
		shot(fmt.Sprintf("clusters-%d", w))

		// The run page: the Go log as go test prints it, the retry folded.
		run("run page", chromedp.Navigate(fmt.Sprintf("%s/runs/%d", ds.url, x.GoRun)), chromedp.WaitVisible("main h1"),
			chromedp.Click(fmt.Sprintf(`#step-%d > summary`, x.GoStep)))
		if got := eval(fmt.Sprintf(`(() => { const r = document.getElementById("step-%d"); return r.open + " " + r.querySelector("summary").textContent.replace(/\s+/g, " ").trim(); })()`, x.FirstAttempt)); got != "false Attempt 1: ✖ failed · exit 1 · 2m00s" {
			t.Errorf("folded retry: %q", got)
		}
		run("open the retry", chromedp.Click(fmt.Sprintf(`#step-%d > summary`, x.FirstAttempt)))
		if got := eval(fmt.Sprintf(`[...document.querySelectorAll("#step-%d .gotest details")].map(d => (d.querySelector("summary").getBoundingClientRect().left < 0 ? "off-screen " : "") + (d.open ? "open " : "folded ") + d.querySelector("summary").textContent).join(" | ")`, x.FirstAttempt)); got != "folded --- PASS: TestOpen (0.01s) | open --- FAIL: TestWrite (0.02s) | folded --- SKIP: TestSlow (0.00s)" {
			t.Errorf("Go log folds: %q", got)
		}
		if got := eval(fmt.Sprintf(`document.querySelector("#step-%d .gotest details[open] pre").innerText`, x.FirstAttempt)); !strings.Contains(got, "store_test.go:31: write <empty>: got 0 bytes, want 4") || strings.Contains(got, `"Action"`) {
			t.Errorf("failing test output: %q", got)
		}
		if got := eval(fmt.Sprintf(`document.querySelector("#step-%d .meta a").textContent`, x.FirstAttempt)); got != "raw JSON" {
			t.Errorf("raw JSON link: %q", got)
		}
		fits("run page")
		shot(fmt.Sprintf("run-golog-%d", w))

		// The audit log.
		run("audit page", chromedp.Navigate(ds.url+"/audit?actor=dashboard"), chromedp.WaitVisible("main h1"))
		if got := eval(`[...document.querySelectorAll("table.audit tbody tr td:nth-child(3)")].map(e => e.textContent).join(",")`); got != "incident.resolved,run.rerun" {
			t.Errorf("audit page filtered by actor: %q", got)
		}
		fits("audit page")
		shot(fmt.Sprintf("audit-%d", w))

		// The overview and an incident hold at this width too.
		run("overview", chromedp.Navigate(ds.url+"/"), chromedp.WaitVisible("main h1"))
		if got := eval(`document.getElementById("failing-h").parentElement.textContent`); !strings.Contains(got, "octo/app main: red since") {
			t.Errorf("overview failing branches: %q", got)
		}
		fits("overview")
		shot(fmt.Sprintf("overview-%d", w))
		run("incident", chromedp.Navigate(fmt.Sprintf("%s/incidents/%d", ds.url, s.Incident)), chromedp.WaitVisible("main h1"))
		fits("incident page")
		shot(fmt.Sprintf("incident-%d", w))
	}
	// Dark mode: the dialog and the readable log follow the palette.
	width(1440)
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	run("dark dialog", chromedp.Navigate(fmt.Sprintf("%s/flaky?quarantine=%d", ds.url, x.Costly)), chromedp.WaitVisible("dialog[open]"))
	if bg := eval(`getComputedStyle(document.querySelector("dialog[open]")).backgroundColor`); bg != "rgb(29, 32, 36)" {
		t.Errorf("dark dialog background %q", bg)
	}
	shot("flaky-dialog-dark")
	run("dark run page", chromedp.Navigate(fmt.Sprintf("%s/runs/%d", ds.url, x.GoRun)), chromedp.WaitVisible("main h1"))
	shot("run-golog-dark")
	cancel()
	<-done
	for _, p := range problems {
		t.Errorf("browser console: %s", p)
	}
	t.Logf("screenshots in %s", shots)
}
