package jobs

import (
	"fmt"
	"testing"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// With flaky.auto_quarantine, a test that becomes flaky on the default
// branch is quarantined at once and proposed for the quarantine file, once.
func TestAutoQuarantineProposes(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	if err := store.SetRepositoryFlakyActions(s.ctx, s.db, s.repoID, true, 0); err != nil {
		t.Fatal(err)
	}
	became := false
	for i := 0; i < 10 && !became; i++ {
		sha := fmt.Sprintf("c%02d", i)
		s.run(sha, "main", 1, suite(4, func(j int) bool { return j == 2 }))
		_, res := s.run(sha, "main", 2, suite(4, func(int) bool { return false }))
		for _, e := range res.Transitions {
			became = became || e.To == triage.TestFlaky
		}
	}
	if !became {
		t.Fatal("T02, failing and passing on each commit, never became flaky")
	}
	got := s.test("T02")
	if got.State() != triage.TestQuarantined || got.QuarantineSource != store.QuarantineByPolicy {
		t.Fatalf("T02: %s by %q, want quarantined by policy", got.State(), got.QuarantineSource)
	}
	p, err := store.ActiveProposal(s.ctx, s.db, got.ID)
	if err != nil || p.Kind != store.ProposalAdd || p.State != store.ProposalPending {
		t.Fatalf("proposal %+v %v, want a pending addition", p, err)
	}
	var jobs int
	if err := s.db.QueryRow(s.ctx, `SELECT count(*) FROM river_job WHERE kind = 'quarantine.propose'`).Scan(&jobs); err != nil || jobs != 1 {
		t.Fatalf("%d propose jobs (%v), want 1", jobs, err)
	}
}
