package jobs

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/triage"
)

// failing is a suite of 4 tests in which T01 fails with msg.
func failing(msg string) []triage.TestCase {
	cases := suite(4, nil)
	cases[1].Outcome, cases[1].Message = triage.OutcomeFail, msg
	return cases
}

func (s *scenario) clusterOf(runID int64) int64 {
	s.t.Helper()
	return int64(s.count(`SELECT cluster_id FROM failures WHERE run_id = $1`, runID))
}

// Occurrences of one cause whose variable part is a word no rule masks
// meet in one cluster once the template has seen enough values; the
// clusters of the first occurrences join the oldest, which keeps its id,
// and the run count reaches the incident threshold as one cause.
func TestAnalyzeTemplatesJoinMessagesThatVary(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	var runs []int64
	for i, user := range []string{"alice", "bob", "carol", "dave"} {
		id, _ := s.run(fmt.Sprintf("v%d", i), "main", 1, failing("lookup of user "+user+" failed: no such row in accounts"))
		runs = append(runs, id)
	}
	first := s.clusterOf(runs[0])
	for _, r := range runs {
		if got := s.clusterOf(r); got != first {
			t.Errorf("run %d failure in cluster %d, want %d (the first)", r, got, first)
		}
	}
	if n := s.count(`SELECT count(*) FROM clusters WHERE repository_id = $1`, s.repoID); n != 1 {
		t.Errorf("%d clusters, want 1", n)
	}
	if n := s.count(`SELECT occurrences FROM clusters WHERE id = $1`, first); n != 4 {
		t.Errorf("occurrences %d, want 4", n)
	}
	if n := s.count(`SELECT count(*) FROM cluster_aliases WHERE cluster_id = $1`, first); n < 1 {
		t.Errorf("no alias left for the widened fingerprints")
	}
	if n := s.count(`SELECT count(*) FROM audit_log WHERE action = 'cluster.merge' AND actor = 'worker'`); n != 1 {
		t.Errorf("%d automatic merges audited, want 1", n)
	}
	if n := s.count(`SELECT count(*) FROM incidents WHERE cluster_id = $1`, first); n != 1 {
		t.Errorf("%d incidents of the cluster, want 1", n)
	}
	if n := s.count(`SELECT count(*) FROM repository_templates WHERE repository_id = $1 AND templates > 0`, s.repoID); n != 1 {
		t.Errorf("templates not stored")
	}
	// Every failure recorded what its fingerprint was computed from.
	if n := s.count(`SELECT count(*) FROM failures WHERE normalized_message IS NULL OR identity IS NULL`); n != 0 {
		t.Errorf("%d failures without their normalised message", n)
	}
}

// Near-misses stay apart on the server too: the same test failing on a
// different undefined symbol, or with a different error code, is another
// cause however many values are seen.
func TestAnalyzeTemplatesKeepNearMissesApart(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	msgs := []string{"undefined: pricing.Discount", "undefined: pricing.Rebate", "undefined: pricing.Coupon",
		"undefined: pricing.Voucher", "getaddrinfo ENOTFOUND registry.local", "getaddrinfo ETIMEDOUT registry.local",
		"getaddrinfo ECONNRESET registry.local"}
	clusters := map[int64]string{}
	for round := range 2 {
		for i, msg := range msgs {
			id, _ := s.run(fmt.Sprintf("r%d-%d", round, i), "main", 1, failing(msg))
			c := s.clusterOf(id)
			if prev, ok := clusters[c]; ok && prev != msg {
				t.Errorf("%q joined %q in cluster %d", msg, prev, c)
			}
			clusters[c] = msg
		}
	}
	if len(clusters) != len(msgs) {
		t.Errorf("%d clusters for %d causes", len(clusters), len(msgs))
	}
}

// A second analysis of a run teaches the templates nothing and gives the
// same clusters.
func TestAnalyzeTemplatesIdempotent(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	var last int64
	for i, user := range []string{"alice", "bob", "carol"} {
		last, _ = s.run(fmt.Sprintf("v%d", i), "main", 1, failing("lookup of user "+user+" failed: no such row in accounts"))
	}
	before := s.str(`SELECT encode(miner, 'hex') FROM repository_templates WHERE repository_id = $1`, s.repoID)
	cluster := s.clusterOf(last)
	if _, err := s.w.Analyze(s.ctx, s.rc, last); err != nil {
		t.Fatal(err)
	}
	if after := s.str(`SELECT encode(miner, 'hex') FROM repository_templates WHERE repository_id = $1`, s.repoID); after != before {
		t.Errorf("re-analysis changed the stored templates")
	}
	if got := s.clusterOf(last); got != cluster {
		t.Errorf("re-analysis moved the failure from cluster %d to %d", cluster, got)
	}
}

// The periodic re-fingerprinting moves stored failures to templates that
// widened without an analysis re-keying them (here: a miner that learned
// elsewhere, as after a restore or an older Sentinel), keeps the oldest
// cluster, and changes nothing on a second pass.
func TestRefingerprintWorkerJoinsStoredFailures(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	a, _ := s.run("v0", "main", 1, failing("lookup of user alice failed: no such row in accounts"))
	b, _ := s.run("v1", "main", 1, failing("lookup of user bob failed: no such row in accounts"))
	if s.clusterOf(a) == s.clusterOf(b) {
		t.Fatal("two values already joined: nothing to re-fingerprint")
	}
	err := s.db.InTx(s.ctx, func(tx pgx.Tx) error {
		m, err := loadTemplates(s.ctx, tx, s.repoID)
		if err != nil {
			return err
		}
		before := m.Changes()
		m.Add(triage.CategoryTest, triage.Normalize("lookup of user carol failed: no such row in accounts"))
		if m.Widenings() == 0 {
			t.Fatal("the third value did not widen the template")
		}
		return saveTemplates(s.ctx, tx, s.repoID, m, before)
	})
	if err != nil {
		t.Fatal(err)
	}
	w := &ClusterRefingerprintWorker{DB: s.db}
	n, err := w.Refingerprint(s.ctx, s.rc)
	if err != nil || n == 0 {
		t.Fatalf("refingerprint: %d messages, %v", n, err)
	}
	if got, want := s.clusterOf(b), s.clusterOf(a); got != want {
		t.Errorf("after re-fingerprinting: clusters %d and %d, want one", want, got)
	}
	if n := s.count(`SELECT count(*) FROM clusters WHERE repository_id = $1`, s.repoID); n != 1 {
		t.Errorf("%d clusters, want 1", n)
	}
	if n, err := w.Refingerprint(s.ctx, s.rc); err != nil || n != 0 {
		t.Errorf("second pass: %d messages moved, %v", n, err)
	}
	c, _ := s.run("v2", "main", 1, failing("lookup of user dave failed: no such row in accounts"))
	if s.clusterOf(c) != s.clusterOf(a) {
		t.Errorf("a later occurrence went to cluster %d, not %d", s.clusterOf(c), s.clusterOf(a))
	}
}
