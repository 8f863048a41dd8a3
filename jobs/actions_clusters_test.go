package jobs

import (
	"fmt"
	"testing"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// twoCauses is a suite in which T01 and T02 fail with different messages.
func twoCauses() []triage.TestCase {
	cases := suite(4, nil)
	cases[1].Outcome, cases[1].Message = triage.OutcomeFail, "expected 3, got 4"
	cases[2].Outcome, cases[2].Message = triage.OutcomeFail, "connection reset by peer"
	return cases
}

func (s *scenario) clusterOfTest(runID int64, name string) int64 {
	s.t.Helper()
	return int64(s.count(`SELECT f.cluster_id FROM failures f JOIN tests t ON t.id = f.test_id WHERE f.run_id = $1 AND t.name = $2`, runID, name))
}

// Merging two clusters with open incidents keeps the older incident and
// resolves the other as its duplicate; later occurrences of the merged
// cluster's fingerprint count in the kept one. Splitting a failure back
// out gives it a pinned cluster of its own that later occurrences find.
func TestActionsMergeAndSplitClusters(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	a := s.actions()
	var run int64
	for i := range 3 {
		run, _ = s.run(fmt.Sprintf("m%d", i), "main", 1, twoCauses())
	}
	c1, c2 := s.clusterOfTest(run, "T01"), s.clusterOfTest(run, "T02")
	i1 := int64(s.count(`SELECT id FROM incidents WHERE cluster_id = $1`, c1))
	i2 := int64(s.count(`SELECT id FROM incidents WHERE cluster_id = $1`, c2))
	older, newer := min(i1, i2), max(i1, i2)

	wantErr(t, "merge into itself", a.MergeClusters(s.ctx, c1, c1, "dashboard:ann"), store.ErrInvalidTransition)
	wantErr(t, "merge a missing cluster", a.MergeClusters(s.ctx, c1, 999999, "dashboard:ann"), store.ErrNotFound)
	if err := a.MergeClusters(s.ctx, c2, c1, "dashboard:ann"); err != nil {
		t.Fatal(err)
	}
	if n := s.count(`SELECT count(*) FROM clusters WHERE id = $1`, c1); n != 0 {
		t.Errorf("merged cluster still there")
	}
	if got := s.str(`SELECT status FROM incidents WHERE id = $1`, newer); got != "resolved" {
		t.Errorf("newer incident %s, want resolved", got)
	}
	if got := s.count(`SELECT duplicate_of FROM incidents WHERE id = $1`, newer); int64(got) != older {
		t.Errorf("newer incident duplicate of %d, want %d", got, older)
	}
	if got := s.str(`SELECT status FROM incidents WHERE id = $1`, older); got != "open" {
		t.Errorf("older incident %s, want open", got)
	}
	if n := s.count(`SELECT count(*) FROM incidents WHERE id = $1 AND cluster_id = $2`, older, c2); n != 1 || s.count(`SELECT count(*) FROM incidents WHERE id = $1 AND cluster_id IS NULL`, newer) != 1 {
		t.Errorf("older incident not on the kept cluster")
	}
	if n := s.count(`SELECT count(*) FROM river_job WHERE kind = 'incident.sync' AND args->>'incident_id' = $1`, fmt.Sprint(newer)); n == 0 {
		t.Errorf("no sync queued for the duplicate incident")
	}
	if n := s.count(`SELECT count(*) FROM audit_log WHERE action = 'cluster.merge' AND actor = 'dashboard:ann' AND subject_id = $1`, c2); n != 1 {
		t.Errorf("merge not audited")
	}
	run, _ = s.run("m3", "main", 1, twoCauses())
	if a, b := s.clusterOfTest(run, "T01"), s.clusterOfTest(run, "T02"); a != c2 || b != c2 {
		t.Fatalf("after the merge T01 in %d, T02 in %d; want both in %d", a, b, c2)
	}

	// Split T01's failures back out.
	t01 := int64(s.count(`SELECT f.id FROM failures f JOIN tests t ON t.id = f.test_id WHERE f.run_id = $1 AND t.name = 'T01'`, run))
	t02 := int64(s.count(`SELECT f.id FROM failures f JOIN tests t ON t.id = f.test_id WHERE f.run_id = $1 AND t.name = 'T02'`, run))
	if _, err := a.SplitCluster(s.ctx, c2, t02, "dashboard:ann"); err == nil {
		t.Errorf("splitting the failure the cluster is keyed by succeeded")
	}
	split, err := a.SplitCluster(s.ctx, c2, t01, "dashboard:ann")
	if err != nil {
		t.Fatal(err)
	}
	if n := s.count(`SELECT count(*) FROM failures f JOIN tests t ON t.id = f.test_id WHERE t.name = 'T01' AND f.cluster_id = $1`, split); n != 4 {
		t.Errorf("%d T01 failures in the split cluster, want 4", n)
	}
	if n := s.count(`SELECT occurrences FROM clusters WHERE id = $1`, split); n != 4 {
		t.Errorf("split cluster occurrences %d, want 4", n)
	}
	run, _ = s.run("m4", "main", 1, twoCauses())
	if got := s.clusterOfTest(run, "T01"); got != split {
		t.Errorf("T01 after the split in %d, want %d", got, split)
	}
	if got := s.clusterOfTest(run, "T02"); got != c2 {
		t.Errorf("T02 after the split in %d, want %d", got, c2)
	}
	if n := s.count(`SELECT count(*) FROM audit_log WHERE action = 'cluster.split' AND subject_id = $1`, c2); n != 1 {
		t.Errorf("split not audited")
	}
}

// A muted cluster opens no incident however often it recurs; unmuted, it
// does again. Renaming changes the title people see, not the fingerprint.
func TestActionsMuteAndRenameCluster(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	a := s.actions()
	run, _ := s.run("u0", "main", 1, failing("expected 3, got 4"))
	c := s.clusterOf(run)
	if err := a.MuteCluster(s.ctx, c, true, "api:token"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "mute twice", a.MuteCluster(s.ctx, c, true, "api:token"), store.ErrInvalidTransition)
	for i := 1; i < 5; i++ {
		s.run(fmt.Sprintf("u%d", i), "main", 1, failing("expected 3, got 4"))
	}
	if n := s.count(`SELECT count(*) FROM incidents`); n != 0 {
		t.Fatalf("%d incidents for a muted cluster", n)
	}
	if err := a.MuteCluster(s.ctx, c, false, "api:token"); err != nil {
		t.Fatal(err)
	}
	s.run("u5", "main", 1, failing("expected 3, got 4"))
	if n := s.count(`SELECT count(*) FROM incidents WHERE cluster_id = $1`, c); n != 1 {
		t.Errorf("%d incidents after unmuting, want 1", n)
	}
	fp := s.str(`SELECT fingerprint FROM clusters WHERE id = $1`, c)
	if err := a.RenameCluster(s.ctx, c, "  Pricing test off by one  ", "api:token"); err != nil {
		t.Fatal(err)
	}
	got, err := store.GetClusterDetail(s.ctx, s.db, c, s.w.now())
	if err != nil {
		t.Fatal(err)
	}
	if got.Headline() != "Pricing test off by one" || got.Fingerprint != fp || got.Muted {
		t.Errorf("after rename: headline %q fingerprint changed %v muted %v", got.Headline(), got.Fingerprint != fp, got.Muted)
	}
	wantErr(t, "rename missing", a.RenameCluster(s.ctx, 999999, "x", "api:token"), store.ErrNotFound)
	for _, action := range []string{"cluster.mute", "cluster.unmute", "cluster.rename"} {
		if n := s.count(`SELECT count(*) FROM audit_log WHERE action = $1 AND subject_id = $2`, action, c); n != 1 {
			t.Errorf("%s audited %d times", action, n)
		}
	}
}
