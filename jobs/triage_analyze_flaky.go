package jobs

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// flakyUpdate applies one run's test outcomes to the tests' rolling state.
// Its cost follows the tests of the run: their rows are loaded by id,
// updated in memory in O(1) each, and written back in one statement.
type flakyUpdate struct {
	w        *TriageAnalyzeWorker
	tx       pgx.Tx
	run      store.Run
	policy   store.RepositoryPolicy
	outcomes []store.RunTestOutcome
	mass     bool
	count    bool // first analysis of the run: windows move
	now      time.Time

	events  []store.TestEvent
	flipped map[int64]bool // passed and failed on this commit
}

// apply returns the run's tests, after the update, by id.
func (u *flakyUpdate) apply(ctx context.Context) (map[int64]*store.Test, error) {
	u.flipped = map[int64]bool{}
	if len(u.outcomes) == 0 {
		return map[int64]*store.Test{}, nil
	}
	ids := make([]int64, len(u.outcomes))
	for i, o := range u.outcomes {
		ids[i] = o.TestID
	}
	tests, err := store.LockTests(ctx, u.tx, ids)
	if err != nil {
		return nil, err
	}
	other, err := store.SameCommitOutcomes(ctx, u.tx, u.run.RepositoryID, u.run.SHA, u.run.ID, ids)
	if err != nil {
		return nil, err
	}
	quarantine := map[string]bool{}
	for _, q := range u.policy.Quarantine {
		quarantine[q] = true
	}
	offWindow := u.run.Branch != u.policy.DefaultBranch
	changed := map[int64]bool{}
	var dirty []*store.Test
	for _, o := range u.outcomes {
		t := tests[o.TestID]
		if t == nil {
			continue
		}
		oc := other[o.TestID]
		passed, failed := o.Passed || oc.Passed, o.Failed || oc.Failed
		flip := passed && failed && !u.mass
		u.flipped[o.TestID] = flip
		if !u.count {
			continue
		}
		from := t.Flaky.State
		if from == "" {
			from = triage.TestHealthy
		}
		var reasons []string
		if quarantine[t.Identity()] || quarantine[triage.TestID(t.Package, t.Name)] || quarantine[t.Name] {
			if t.Flaky.State != triage.TestQuarantined {
				t.Flaky, _ = t.Flaky.Quarantine(time.Time{})
				t.QuarantineOwner, t.QuarantineSource = ".sentinel.yml", "config"
				t.QuarantineReason = "listed under quarantine: in .sentinel.yml"
				reasons = append(reasons, "listed under quarantine: in .sentinel.yml")
			}
		}
		obs := triage.Observation{SHA: u.run.SHA, Failed: o.Failed, SameCommitFlip: flip, Excluded: u.mass, OffWindow: offWindow}
		next, score, tr := t.Flaky.Observe(obs, u.w.Flaky, u.now)
		if tr != nil {
			reasons = append(reasons, tr.Reason)
		}
		t.Flaky = next
		if !u.mass && !offWindow {
			t.Score, t.FailureRate, t.FlipRate = score.Probability, score.FailureRate, score.FlipRate
			t.Runs, t.Episodes = score.Runs, score.Episodes
		}
		if o.Failed && !u.mass {
			t.EvidenceRuns = store.PushEvidenceRun(t.EvidenceRuns, u.run.ID)
		}
		t.LastRunID = u.run.ID
		if next.State != from {
			changed[t.ID] = true
			reason := ""
			for i, r := range reasons {
				if i > 0 {
					reason += "; "
				}
				reason += r
			}
			u.events = append(u.events, store.TestEvent{TestID: t.ID, RunID: u.run.ID, From: string(from),
				To: string(next.State), Reason: reason})
		}
		dirty = append(dirty, t)
	}
	if err := store.SaveTests(ctx, u.tx, dirty, changed); err != nil {
		return nil, err
	}
	if err := store.InsertTestEvents(ctx, u.tx, u.events); err != nil {
		return nil, err
	}
	return tests, nil
}
