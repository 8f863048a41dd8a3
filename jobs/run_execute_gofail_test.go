package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// wantAnnotation is one annotation the check run must carry: at a
// repository-relative path and line, its message holding the raw text.
type wantAnnotation struct {
	Path string
	Line int
	Has  []string
}

// goFailCase is a repository whose run fails in one of the ways Go fails.
type goFailCase struct {
	name     string
	files    map[string]string
	state    store.RunState
	category triage.Category // of the first failure, or the run's without failures
	anns     []wantAnnotation
	stopped  int      // packages a panic or a timeout ended
	summary  []string // raw text the summary must hold
}

// TestRunExecuteGoFailures runs Go repositories that fail as real ones do
// through the runner in Docker, the triage worker and the check-run
// rendering the report worker sends, and checks each annotation: the
// repository-relative path, the line, and the raw message.
func TestRunExecuteGoFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("runs seven pipelines in Docker")
	}
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, true)
	cases := []goFailCase{
		{
			name: "panic",
			files: map[string]string{
				"go.mod": goMod,
				"cache/cache.go": `package cache

type Cache struct{ m map[string]int }

func (c *Cache) Put(k string, v int) {
	c.m[k] = v
}
`,
				"cache/cache_test.go": `package cache

import "testing"

func TestPut(t *testing.T) {
	var c Cache
	c.Put("a", 1)
}

func TestNeverRuns(t *testing.T) {}
`,
			},
			state:    store.RunFailed,
			category: triage.CategoryTest,
			anns:     []wantAnnotation{{"cache/cache.go", 6, []string{"panic: assignment to entry in nil map"}}},
			stopped:  1,
		},
		{
			// The same panic in a step that runs plain go test: triage
			// reads the log as results.
			name: "panic-text",
			files: map[string]string{
				"go.mod": goMod,
				".sentinel.yml": `image: golang:1.26
steps:
  - name: test
    run: go test ./...
`,
				"cache/cache.go": `package cache

type Cache struct{ m map[string]int }

func (c *Cache) Put(k string, v int) {
	c.m[k] = v
}
`,
				"cache/cache_test.go": `package cache

import "testing"

func TestPut(t *testing.T) {
	var c Cache
	c.Put("a", 1)
}

func TestNeverRuns(t *testing.T) {}
`,
			},
			state:    store.RunFailed,
			category: triage.CategoryTest,
			anns:     []wantAnnotation{{"cache/cache.go", 6, []string{"panic: assignment to entry in nil map"}}},
			stopped:  1,
		},
		{
			name: "compile",
			files: map[string]string{
				"go.mod": goMod,
				"a/a.go": `package a

func One() int { return "one" }

func Two() int { return missing }
`,
				"b/b.go": `package b

func Three() { return 3 }
`,
			},
			state:    store.RunFailed,
			category: triage.CategoryCompile,
			anns: []wantAnnotation{
				{"a/a.go", 3, []string{`cannot use "one" (untyped string constant) as int value in return statement`}},
				{"a/a.go", 5, []string{"undefined: missing"}},
				{"b/b.go", 3, []string{"too many return values\n\thave (number)\n\twant ()"}},
			},
		},
		{
			name: "nested-module",
			files: map[string]string{
				"go.mod":             goMod,
				"calc/calc.go":       "package calc\n\nfunc Add(a, b int) int { return a + b }\n",
				"tools/go.mod":       "module example.com/demo/tools\n\ngo 1.26\n",
				"tools/lint/lint.go": "package lint\n\nfunc Rules() []string { return []string{\"a\", \"b\"} }\n",
				"tools/lint/lint_test.go": `package lint

import "testing"

func TestRules(t *testing.T) {
	if n := len(Rules()); n != 3 {
		t.Errorf("want 3 rules, got %d", n)
	}
}
`,
			},
			state:    store.RunFailed,
			category: triage.CategoryTest,
			anns:     []wantAnnotation{{"tools/lint/lint_test.go", 7, []string{"want 3 rules, got 2"}}},
		},
		{
			name: "vet",
			files: map[string]string{
				"go.mod": goMod,
				"label/label.go": `package label

import "fmt"

func Label(n int) string {
	return fmt.Sprintf("%s items", n)
}
`,
				"label/label_test.go": "package label\n\nimport \"testing\"\n\nfunc TestLabel(t *testing.T) { _ = Label(2) }\n",
			},
			state:    store.RunFailed,
			category: triage.CategoryLint,
			anns:     []wantAnnotation{{"label/label.go", 6, []string{"fmt.Sprintf format %s has arg n of wrong type int"}}},
		},
		{
			// What testify's assert.Equal prints, written with the standard
			// library: the message starts on the line after the location.
			name: "testify-style",
			files: map[string]string{
				"go.mod": goMod,
				"ids/ids_test.go": `package ids

import "testing"

func TestParse(t *testing.T) {
	got, want := "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "6ba7b811-9dad-11d1-80b4-00c04fd430c8"
	if got != want {
		t.Errorf("\n\tError Trace:\t/workspace/ids/ids_test.go:8\n\tError:      \tNot equal: \n\t            \texpected: %q\n\t            \tactual  : %q\n\tTest:       \tTestParse", want, got)
	}
}
`,
			},
			state:    store.RunFailed,
			category: triage.CategoryTest,
			anns: []wantAnnotation{{"ids/ids_test.go", 8, []string{"Error:      \tNot equal:",
				`expected: "6ba7b811-9dad-11d1-80b4-00c04fd430c8"`, `actual  : "6ba7b810-9dad-11d1-80b4-00c04fd430c8"`}}},
			summary: []string{"6ba7b811-9dad-11d1-80b4-00c04fd430c8"},
		},
		{
			// GOPATH-style: Go files and no go.mod. Nothing can run; the
			// run fails before any step saying what to add.
			name:     "gopath",
			files:    map[string]string{"main.go": "package main\n\nfunc main() {}\n", "util/util.go": "package util\n"},
			state:    store.RunFailed,
			category: triage.CategoryConfiguration,
			summary:  []string{"no go.mod: add one (go mod init MODULE-PATH, then go mod tidy)"},
		},
	}
	ids := make([]int64, len(cases))
	for i, tc := range cases {
		cloneURL, sha := h.repo(tc.files)
		ids[i], _ = h.enqueue(cloneURL, sha)
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkGoFailure(t, h, ids[i], tc, nil)
		})
	}
}

// TestRunExecuteGoRace runs a data race under go test -race with the shell
// runtime: the race detector needs cgo and a C compiler, which the host
// has and the test image does not.
func TestRunExecuteGoRace(t *testing.T) {
	if testing.Short() {
		t.Skip("builds with -race")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Fatalf("go test -race needs a C compiler: %v", err)
	}
	cache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, runner.NewShell(), false)
	// The race detector maps terabytes of shadow memory: no data limit.
	h.cfg.DefaultLimits = runner.Limits{}
	h.client = newTestClient(t, h.db, h.cfg, true)
	tc := goFailCase{
		name: "race",
		files: map[string]string{
			"go.mod": goMod,
			".sentinel.yml": fmt.Sprintf(`image: golang:1.26
env:
  GOCACHE: %s
  CGO_ENABLED: "1"
steps:
  - name: test
    run: go test -race -json ./...
    results: go-test-json
`, strings.TrimSpace(string(cache))),
			"counter/counter.go": `package counter

type Counter struct{ n int }

func (c *Counter) Inc() { c.n++ }
`,
			"counter/counter_test.go": `package counter

import (
	"sync"
	"testing"
)

func TestInc(t *testing.T) {
	var c Counter
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); c.Inc() }()
	}
	wg.Wait()
}
`,
		},
		state:    store.RunFailed,
		category: triage.CategoryTest,
		anns:     []wantAnnotation{{"counter/counter.go", 5, []string{"WARNING: DATA RACE"}}},
	}
	cloneURL, sha := h.repo(tc.files)
	runID, _ := h.enqueue(cloneURL, sha)
	checkGoFailure(t, h, runID, tc, []string{h.cfg.WorkDir})
}

// checkGoFailure waits for the run, analyses it as the triage worker does,
// renders its check run as the report worker does (roots as wired in
// cmd/sentinel) and compares the annotations path by path.
func checkGoFailure(t *testing.T, h *harness, runID int64, tc goFailCase, roots []string) {
	t.Helper()
	run := h.waitRun(runID, 8*time.Minute)
	steps := h.steps(runID)
	if t.Failed() || run.State != tc.state {
		for _, s := range steps {
			t.Logf("step %s %s:\n%s", s.Name, s.State, h.stepLog(s.ID))
		}
		t.Fatalf("run %s (%s), want %s", run.State, run.Error, tc.state)
	}
	ctx := context.Background()
	rc, err := NewClient(h.db, nil, ClientConfig{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&TriageAnalyzeWorker{DB: h.db, Log: slog.New(slog.DiscardHandler)}).Analyze(ctx, rc, runID); err != nil {
		t.Fatal(err)
	}
	run, err = store.GetRun(ctx, h.db, runID)
	if err != nil {
		t.Fatal(err)
	}
	report, err := LoadCheckReport(ctx, h.db, run, "http://sentinel.test", roots)
	if err != nil {
		t.Fatal(err)
	}
	out := RenderCheck(report)
	logAll := func() {
		t.Logf("title: %s\nsummary:\n%s", out.Title, out.Summary)
		for _, a := range out.Annotations {
			t.Logf("annotation %s:%d %q\n%s", a.GetPath(), a.GetStartLine(), a.GetTitle(), a.GetMessage())
		}
		for _, s := range steps {
			t.Logf("step %s %s:\n%s", s.Name, s.State, h.stepLog(s.ID))
		}
	}
	defer func() {
		if t.Failed() {
			logAll()
		}
	}()

	category := run.Category
	if len(report.Failures) > 0 {
		category = report.Failures[0].Category
	}
	if category != tc.category {
		t.Errorf("category %q, want %q", category, tc.category)
	}
	var got, want []string
	for _, a := range out.Annotations {
		got = append(got, fmt.Sprintf("%s:%d", a.GetPath(), a.GetStartLine()))
	}
	for _, w := range tc.anns {
		want = append(want, fmt.Sprintf("%s:%d", w.Path, w.Line))
		a := findAnnotation(out.Annotations, w.Path, w.Line)
		if a == nil {
			continue
		}
		for _, s := range w.Has {
			if !strings.Contains(a.GetMessage(), s) {
				t.Errorf("annotation %s:%d does not hold the raw %q", w.Path, w.Line, s)
			}
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("annotations at %v, want %v", got, want)
	}
	for _, s := range tc.summary {
		if !strings.Contains(out.Summary, s) {
			t.Errorf("summary does not hold %q", s)
		}
	}
	// People read the raw text: no normalised placeholder reaches them.
	for _, text := range append([]string{out.Title, out.Summary, out.Text}, annotationTexts(out.Annotations)...) {
		if p := normalisedPlaceholder(text); p != "" {
			t.Errorf("normalised %s shown to people in %q", p, triage.Clip(text, 200))
		}
	}
	stopped := 0
	for _, s := range report.Steps { // as triage left them
		stopped += s.StoppedPackages
	}
	if stopped != tc.stopped {
		t.Errorf("steps record %d packages stopped, want %d", stopped, tc.stopped)
	}
	if tc.stopped > 0 && !strings.Contains(out.Summary, fmt.Sprintf("%d package", tc.stopped)) {
		t.Errorf("summary does not say that %d package(s) stopped", tc.stopped)
	}
}

func findAnnotation(anns []*github.CheckRunAnnotation, path string, line int) *github.CheckRunAnnotation {
	for _, a := range anns {
		if a.GetPath() == path && a.GetStartLine() == line {
			return a
		}
	}
	return nil
}

func annotationTexts(anns []*github.CheckRunAnnotation) []string {
	var out []string
	for _, a := range anns {
		out = append(out, a.GetTitle(), a.GetMessage())
	}
	return out
}

// normalisedPlaceholder names the first placeholder of triage's normalised
// text in s, "" if none.
func normalisedPlaceholder(s string) string {
	for _, p := range []string{"<uuid>", "<hex>", "<n>", "<id>", "<ip>", "<host>", "<tmp>", "<time>", "<date>", "<dur>", "<blob>"} {
		if strings.Contains(s, p) {
			return p
		}
	}
	return ""
}
