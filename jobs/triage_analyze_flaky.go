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
	w      *TriageAnalyzeWorker
	tx     pgx.Tx
	run    store.Run
	policy store.RepositoryPolicy
	tests  []*store.RunTest
	mass   bool
	count  bool // first analysis of the run: windows move
	now    time.Time

	events  []store.TestEvent
	flipped map[int64]bool // passed and failed on this commit
}

// apply updates the run's tests in place.
func (u *flakyUpdate) apply(ctx context.Context) error {
	u.flipped = map[int64]bool{}
	if len(u.tests) == 0 {
		return nil
	}
	ids := make([]int64, len(u.tests))
	for i, t := range u.tests {
		ids[i] = t.ID
	}
	prevSHA, err := store.PreviousCountedSHA(ctx, u.tx, u.run.RepositoryID, u.run.Branch, u.run.ID)
	if err != nil {
		return err
	}
	other, err := store.SameCommitOutcomes(ctx, u.tx, u.run.RepositoryID, u.run.SHA, u.run.ID, ids)
	if err != nil {
		return err
	}
	quarantine := map[string]bool{}
	for _, q := range u.policy.Quarantine {
		quarantine[q] = true
	}
	offWindow := u.run.Branch != u.policy.DefaultBranch
	changed := map[int64]bool{}
	var dirty []*store.Test
	for _, rt := range u.tests {
		t, o := &rt.Test, rt
		oc := other[t.ID]
		passed, failed := o.Passed || oc.Passed, o.Failed || oc.Failed
		flip := passed && failed && !u.mass
		u.flipped[t.ID] = flip
		if !u.count {
			continue
		}
		before := *t
		from := t.Flaky.State
		if from == "" {
			from = triage.TestHealthy
		}
		var reasons []string
		listed := quarantine[t.Identity()] || quarantine[triage.TestID(t.Package, t.Name)] || quarantine[t.Name]
		switch {
		case listed && t.Flaky.State != triage.TestQuarantined:
			t.Flaky, _ = t.Flaky.Quarantine(time.Time{})
			t.QuarantineOwner, t.QuarantineSource = ".sentinel.yml", store.QuarantineByConfig
			t.QuarantineReason = "listed under quarantine: in .sentinel.yml"
			reasons = append(reasons, "listed under quarantine: in .sentinel.yml")
		case !listed && t.Flaky.State == triage.TestQuarantined && t.QuarantineSource == store.QuarantineByConfig:
			// Taken off the list: the quarantine the file set ends with it.
			t.Flaky.State, t.Flaky.QuarantineUntil = triage.TestFlaky, time.Time{}
			t.QuarantineOwner, t.QuarantineSource, t.QuarantineReason = "", "", ""
			reasons = append(reasons, "no longer listed under quarantine: in .sentinel.yml")
		}
		obs := triage.Observation{SHA: u.run.SHA, PrevSHA: prevSHA, Failed: o.Failed, SameCommitFlip: flip, Excluded: u.mass, OffWindow: offWindow}
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
		if next.State != from {
			changed[t.ID] = true
			reason := ""
			for i, r := range reasons {
				if i > 0 {
					reason += "; "
				}
				reason += r
			}
			u.events = append(u.events, store.TestEvent{TestID: t.ID, RunID: u.run.ID, From: from,
				To: next.State, Reason: reason})
		}
		if !sameFlakyRow(before, *t) {
			dirty = append(dirty, t)
		}
	}
	if err := store.SaveTests(ctx, u.tx, dirty, changed); err != nil {
		return err
	}
	return store.InsertTestEvents(ctx, u.tx, u.events)
}

// sameFlakyRow reports whether an update left a test's stored state as it
// was: then its row is not written. Once a passing test's window is full,
// a passing run changes nothing, which keeps the write cost proportional to
// the tests whose state moved.
func sameFlakyRow(a, b store.Test) bool {
	if a.Flaky != b.Flaky || a.Score != b.Score || a.FailureRate != b.FailureRate || a.FlipRate != b.FlipRate ||
		a.Runs != b.Runs || a.Episodes != b.Episodes || a.QuarantineOwner != b.QuarantineOwner ||
		a.QuarantineSource != b.QuarantineSource || a.QuarantineReason != b.QuarantineReason ||
		len(a.EvidenceRuns) != len(b.EvidenceRuns) {
		return false
	}
	for i := range a.EvidenceRuns {
		if a.EvidenceRuns[i] != b.EvidenceRuns[i] {
			return false
		}
	}
	return true
}
