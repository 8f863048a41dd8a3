package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/store/storetest"
)

// TestLoadTestShort runs the whole load test for two seconds at a low rate,
// so that it cannot rot: the real binary serves, every delivery offered is
// acknowledged and stored, the runs of the no-op pipeline succeed or are
// superseded, and the backlog drains. Performance is make loadtest's to
// judge, not this test's.
func TestLoadTestShort(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "sentinel")
	if out, err := exec.Command("go", "build", "-o", bin, "../sentinel").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	opts := options{rate: 20, duration: 2 * time.Second, repos: 3, branches: 2, drain: 20 * time.Second,
		anchorFor: 200 * time.Millisecond, window: time.Second, bin: bin, databaseURL: storetest.URL(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var progress strings.Builder
	res, err := loadTest(ctx, opts, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	var report strings.Builder
	res.print(&report)
	t.Log("\n" + report.String())

	if got := res.offered.acknowledged(); got != opts.deliveries() {
		t.Errorf("%d of %d deliveries acknowledged: %s", got, opts.deliveries(), res.answers())
	}
	if res.stored != res.offered.acknowledged() || res.lost != 0 {
		t.Errorf("%d deliveries stored, %d acknowledged", res.stored, res.offered.acknowledged())
	}
	if !res.drained() {
		t.Errorf("%d jobs left after the drain", res.backlogLeft)
	}
	// Each push but the last of each lane is superseded; a run that got to
	// execute ran the no-op step.
	runs := 0
	for _, n := range res.runs {
		runs += n
	}
	if runs != opts.deliveries() || res.runs["succeeded"] == 0 || res.firstFailure != "" {
		t.Errorf("runs %v (of %d pushes), first failure %q", res.runs, opts.deliveries(), res.firstFailure)
	}
	if res.bareBefore <= 0 || res.bareAfter <= 0 || res.achieved() <= 0 {
		t.Errorf("rates: bare %.0f/%.0f, achieved %.1f", res.bareBefore, res.bareAfter, res.achieved())
	}
	// serve logs a warning (recorded GitHub mode) but no error; the server
	// given is the test's, whose log the load test cannot read.
	if res.serveProblems == nil || res.serveProblems.count("errors") != 0 || res.postgresProblems != nil {
		t.Errorf("logs: serve %v, PostgreSQL %v", res.serveProblems, res.postgresProblems)
	}
	if !res.cpu.ok || res.cpu.serve <= 0 || res.cpu.children < 0 || res.cpu.children > res.cpu.serve || res.cpu.generator < 0 || res.storedDuringLoad == 0 {
		t.Errorf("CPU %+v for %d deliveries", res.cpu, res.storedDuringLoad)
	}
	for _, want := range []string{"achieved", "p99", "by due time", "stored", "backlog after", "CPU per stored", "bare INSERT"} {
		if !strings.Contains(report.String(), want) {
			t.Errorf("the report does not say %q", want)
		}
	}
}

// TestTimeline checks that the windows split the deliveries by due time, so
// that a stall shows in the window it hit and no other.
func TestTimeline(t *testing.T) {
	ms := time.Millisecond
	var samples []dueLatency
	for i := range 200 {
		lat := 10 * ms
		if i >= 150 && i < 160 { // a stall in the fourth window (3.75-4 s)
			lat = 2 * time.Second
		}
		samples = append(samples, dueLatency{due: time.Duration(i) * 25 * ms, latency: lat})
	}
	got := timeline(samples, time.Second)
	if len(got) != 5 {
		t.Fatalf("%d windows, want 5: %+v", len(got), got)
	}
	for i, w := range got {
		wantMax := 10 * ms
		if i == 3 {
			wantMax = 2 * time.Second
		}
		if w.n != 40 || w.max != wantMax || w.p50 != 10*ms || w.from != time.Duration(i)*time.Second {
			t.Errorf("window %d: %+v, want 40 deliveries, p50 10ms, max %s", i, w, wantMax)
		}
	}
	if timeline(nil, time.Second) != nil {
		t.Errorf("windows without deliveries")
	}
}
