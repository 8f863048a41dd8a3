package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// TestDemoSummaryJudgesThisDemosRuns checks the summary against each
// scenario's expectation, from the runs this demo made: a run in the wrong
// state or category, or a missing incident or flaky test, is marked ✖.
func TestDemoSummaryJudgesThisDemosRuns(t *testing.T) {
	db := storetest.NewDB(t)
	d := &demo{m: &Main{DB: db}, p: newProgress(io.Discard), dashboard: "http://127.0.0.1:8080"}
	byName := map[string]scenario{}
	for _, sc := range scenarios {
		byName[sc.name] = sc
	}
	run := func(id int64, state store.RunState) store.Run {
		return store.Run{ID: id, RepositoryID: 999, Repository: "demo/x", State: state}
	}
	for _, tc := range []struct {
		name      string
		res       scenarioResult
		ok        bool
		concluded string
		link      string
	}{
		{"as expected", scenarioResult{sc: byName["success"], runs: []store.Run{run(1, store.RunSucceeded), run(2, store.RunSucceeded)}, cats: [][]string{nil, nil}},
			true, "2 runs: 2 succeeded", "http://127.0.0.1:8080/runs/2"},
		{"wrong category", scenarioResult{sc: byName["dns"], runs: []store.Run{run(3, store.RunFailed), run(4, store.RunFailed)}, cats: [][]string{{"network"}, {"dependency"}}},
			false, "2 runs: 1 failed (network), 1 failed (dependency)", "http://127.0.0.1:8080/runs/4"},
		{"wrong state", scenarioResult{sc: byName["timeout"], runs: []store.Run{run(5, store.RunFailed)}, cats: [][]string{{"timeout"}}},
			false, "1 run: 1 failed (timeout); no incident", "http://127.0.0.1:8080/runs/5"},
		{"no incident", scenarioResult{sc: byName["testfail"], runs: []store.Run{run(6, store.RunFailed)}, cats: [][]string{{"test"}}},
			false, "1 run: 1 failed (test); no incident", "http://127.0.0.1:8080/runs/6"},
		{"no flaky test", scenarioResult{sc: byName["flaky"], runs: []store.Run{run(7, store.RunSucceeded)}, cats: [][]string{nil}},
			false, "1 run: 1 succeeded; no flaky test detected", "http://127.0.0.1:8080/runs/7"},
		{"no run", scenarioResult{sc: byName["oom"]}, false, "no run finished", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := d.judge(context.Background(), tc.res)
			if v.ok != tc.ok || v.concluded != tc.concluded || v.link != tc.link {
				t.Errorf("judge = %+v, want ok %v, %q, %q", v, tc.ok, tc.concluded, tc.link)
			}
		})
	}

	var out strings.Builder
	d.p = newProgress(&out)
	d.summary(context.Background(), []scenarioResult{
		{sc: byName["success"], runs: []store.Run{run(1, store.RunSucceeded)}, cats: [][]string{nil}},
		{sc: byName["oom"], runs: []store.Run{run(2, store.RunFailed)}, cats: [][]string{{"oom"}}},
		{sc: byName["compile"], runs: []store.Run{run(3, store.RunFailed)}, cats: [][]string{{"test"}}},
	}, 0)
	for _, want := range []string{
		"✔ success\n    expected:  succeeded\n    concluded: 1 run: 1 succeeded\n    see:       http://127.0.0.1:8080/runs/1\n",
		"✖ compile\n    expected:  failed: compile error\n    concluded: 1 run: 1 failed (test)\n",
		"2 of 3 scenarios concluded as expected · 3 runs in this demo (1 succeeded, 2 failed)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

// TestDemoStatusSaysWhereEachRunIs: the progress line names, per scenario
// still playing, the run it waits for and where that run is.
func TestDemoStatusSaysWhereEachRunIs(t *testing.T) {
	ctx := context.Background()
	db := storetest.NewDB(t)
	d := &demo{m: &Main{DB: db}, p: newProgress(io.Discard)}
	repoID, err := store.UpsertRepository(ctx, db, store.Repository{FullName: "demo/success", DefaultBranch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	sha := strings.Repeat("ab", 20)
	ids, _, err := store.InsertRuns(ctx, db, []store.NewRun{{RepositoryID: repoID, SHA: sha, Ref: "refs/heads/main", Branch: "main", Trigger: store.TriggerPush, Attempt: 1}})
	if err != nil {
		t.Fatal(err)
	}
	d.setPlaying("success", "run 1/2", sha, false)
	d.setPlaying("oom", "run 3/3", strings.Repeat("cd", 20), false) // no run yet
	d.setPlaying("dns", "", "", true)                               // finished, one run concluded
	if got, want := d.status(3), "1 of 3 scenarios finished, 1 runs concluded; waiting for oom run 3/3, success run 1/2 (queued)"; got != want {
		t.Errorf("status = %q, want %q", got, want)
	}
	if _, err := store.TransitionRun(ctx, db, ids[0], []store.RunState{store.RunQueued}, store.RunRunning, "", ""); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"vet", "build", "test"} {
		id, _, err := store.InsertStep(ctx, db, store.NewStep{RunID: ids[0], Position: i, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if name == "build" {
			if err := store.StartStep(ctx, db, id, "img", "go build ./..."); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := d.status(3); !strings.HasSuffix(got, "success run 1/2 (step 2 of 3: build)") {
		t.Errorf("status = %q", got)
	}
}
