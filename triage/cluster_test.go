package triage

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestClusterSummaryAdd(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 5, 2, 10, 0, 0, 0, time.UTC)
	f := Failure{Fingerprint: "fp", Category: CategoryTest, Title: "TestA failed: got 3 want 4", NormalizedMessage: "got <n> want <n>", TestID: "p::TestA"}
	s := NewCluster(f, t0)
	s = s.Add(Failure{Fingerprint: "fp", TestID: "p::TestB"}, t0.Add(time.Hour))
	s = s.Add(Failure{Fingerprint: "fp", TestID: "p::TestA"}, t0.Add(-time.Hour))
	s = s.Add(Failure{Fingerprint: "other"}, t0.Add(48*time.Hour))
	want := ClusterSummary{Fingerprint: "fp", Category: CategoryTest, Title: "TestA failed: got 3 want 4", Count: 3,
		FirstSeen: t0.Add(-time.Hour), LastSeen: t0.Add(time.Hour), Tests: []string{"p::TestA", "p::TestB"}}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}
