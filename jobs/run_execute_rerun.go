package jobs

import (
	"context"
	"fmt"
	"strings"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// carried is what a "Re-run failed" attempt does with one step, from what
// the step did in the attempt it re-runs.
type carried struct {
	skip string // the step passed there: skipped, with this reason
	plan *retry // the step had failing tests: run with them selected
	// neither: the step failed without test results or never ran; it runs whole
}

// passedInPrefix starts the reason of a step skipped because it passed in
// an earlier attempt; a later "Re-run failed" carries the reason over.
const passedInPrefix = "passed in attempt "

// failedOnlyPlan reads the run a "Re-run failed" attempt re-runs (0: none,
// the run is whole) and decides for each step of p, by position and name,
// what it does. A pipeline that changed in between (the same commit, but
// ecosystem detection or a step renamed) runs whole where the steps differ.
func (ex *execution) failedOnlyPlan(ctx context.Context, p *runner.Pipeline) ([]carried, error) {
	db := ex.w.DB
	of, err := store.RunFailedOnlyOf(ctx, db, ex.run.ID)
	if err != nil || of == 0 {
		return nil, err
	}
	prev, err := store.GetRun(ctx, db, of)
	if err != nil {
		return nil, err
	}
	steps, err := store.ListSteps(ctx, db, of)
	if err != nil {
		return nil, err
	}
	unpassed, err := store.UnpassedTestResults(ctx, db, of)
	if err != nil {
		return nil, err
	}
	last := map[int]store.Step{} // position → its last attempt (ListSteps orders by attempt)
	for _, s := range steps {
		last[s.Position] = s
	}
	failing := map[int64][]triage.TestCase{} // step attempt → its tests that did not pass
	for _, r := range unpassed {
		failing[r.StepID] = append(failing[r.StepID], triage.TestCase{Package: r.Package, Name: r.Name, Outcome: triage.Outcome(r.Outcome)})
	}
	out := make([]carried, len(p.Steps))
	for i, s := range p.Steps {
		was, ok := last[i]
		if !ok || was.Name != s.Name {
			continue
		}
		switch {
		case was.State == triage.StepSucceeded:
			out[i].skip = fmt.Sprintf("%s%d", passedInPrefix, prev.Attempt)
		case was.State == triage.StepSkipped && strings.HasPrefix(was.Error, passedInPrefix):
			out[i].skip = was.Error
		case len(failing[was.ID]) > 0 && s.Results != "":
			plan, ok := retryPlan(s, ex.env(p, s), &triage.Results{Tests: failing[was.ID]})
			if ok {
				plan.note = fmt.Sprintf("sentinel: re-running only what failed in attempt %d\n%s", prev.Attempt, plan.note)
				out[i].plan = &plan
			}
		}
	}
	return out, nil
}
