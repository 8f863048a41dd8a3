package main

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// verdict is what Sentinel concluded about one scenario in this demo, and
// where to see it.
type verdict struct {
	concluded string // "3 runs: 3 failed (test); incident 2 open"
	link      string // the incident, the flaky tests or the last run
	ok        bool   // the conclusion matches the scenario's expectation
}

// judge compares this demo's runs of a scenario (never earlier demos'
// runs: the repositories persist in the data directory) with what the
// scenario expects.
func (d *demo) judge(ctx context.Context, r scenarioResult) verdict {
	var v verdict
	if len(r.runs) == 0 {
		v.concluded = "no run finished"
		if r.err != nil {
			v.concluded += ": " + triage.FirstLine(r.err.Error())
		}
		return v
	}
	last := r.runs[len(r.runs)-1]
	v.link = fmt.Sprintf("%s/runs/%d", d.dashboard, last.ID)
	v.ok = r.err == nil

	// Count runs by state and category, in the order states first appear.
	var keys []string
	counts := map[string]int{}
	for i, run := range r.runs {
		k := string(run.State) + parenthesised(r.cats[i])
		if counts[k] == 0 {
			keys = append(keys, k)
		}
		counts[k]++
		if r.sc.want.state != "" && run.State != r.sc.want.state {
			v.ok = false
		}
		if r.sc.want.category != "" && run.State != store.RunSucceeded && !slices.Contains(r.cats[i], string(r.sc.want.category)) {
			v.ok = false
		}
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", counts[k], k)
	}
	v.concluded = fmt.Sprintf("%d run%s: %s", len(r.runs), plural(len(r.runs)), strings.Join(parts, ", "))

	if inc, err := store.ListIncidents(ctx, d.m.DB, store.IncidentFilter{RepositoryID: last.RepositoryID, Status: store.IncidentsActive, Limit: 1}); err == nil && len(inc) > 0 {
		v.concluded += fmt.Sprintf("; incident %d %s", inc[0].ID, inc[0].Status)
		v.link = fmt.Sprintf("%s/incidents/%d", d.dashboard, inc[0].ID)
	} else if r.sc.want.incident {
		v.concluded += "; no incident"
		v.ok = false
	}
	if flaky := d.flakyTests(ctx, last.RepositoryID); len(flaky) > 0 {
		v.concluded += "; flaky: " + strings.Join(flaky, ", ")
		v.link = d.dashboard + "/flaky?repo=" + url.QueryEscape(last.Repository)
	} else if r.sc.want.flaky {
		v.concluded += "; no flaky test detected"
		v.ok = false
	}
	return v
}

func (d *demo) flakyTests(ctx context.Context, repoID int64) []string {
	tests, _ := store.ListFlakyTests(ctx, d.m.DB, store.FlakyFilter{RepositoryID: repoID})
	var names []string
	for _, t := range tests {
		if s := t.State(); s == triage.TestFlaky || s == triage.TestQuarantined {
			names = append(names, t.Name)
		}
	}
	return names
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// summary prints, per scenario, what was expected, what Sentinel concluded
// and where to look, then this demo's totals.
func (d *demo) summary(ctx context.Context, results []scenarioResult, took time.Duration) {
	d.say("\nSummary of this demo (%s)", took.Round(time.Second))
	runs, matched := 0, 0
	states := map[store.RunState]int{}
	for _, r := range results {
		v := d.judge(ctx, r)
		mark := "✖"
		if v.ok {
			mark = "✔"
			matched++
		}
		d.say("\n%s %s", mark, r.sc.name)
		d.say("    expected:  %s", r.sc.expect)
		d.say("    concluded: %s", v.concluded)
		if v.link != "" {
			d.say("    see:       %s", v.link)
		}
		runs += len(r.runs)
		for _, run := range r.runs {
			states[run.State]++
		}
	}
	var parts []string
	for _, s := range store.RunStates {
		if states[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", states[s], s))
		}
	}
	d.say("\n%d of %d scenarios concluded as expected · %d runs in this demo (%s) · GitHub calls are recorded on each run's page",
		matched, len(results), runs, strings.Join(parts, ", "))
}
