package jobs

import (
	"fmt"
	"testing"

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
