package triage

import (
	"fmt"
	"slices"
	"testing"
)

// commits names n commits c1..cn, oldest first.
func commits(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("c%d", i+1)
	}
	return out
}

// bisect runs a whole search against an oracle and returns the verdict and
// the commits tested, in order.
func bisect(t *testing.T, n int, oracle func(i int) BisectOutcome) (BisectVerdict, []string) {
	t.Helper()
	b := Bisection{Good: "c0", Commits: commits(n), Outcomes: map[string]BisectOutcome{}}
	var tested []string
	for {
		sha, ok := b.Next()
		if !ok {
			break
		}
		if _, again := b.Outcomes[sha]; again {
			t.Fatalf("%s tested twice", sha)
		}
		tested = append(tested, sha)
		b.Outcomes[sha] = oracle(slices.Index(b.Commits, sha) + 1)
		if len(tested) > MaxBisectRuns {
			t.Fatalf("more than %d runs: %v", MaxBisectRuns, tested)
		}
	}
	return b.Verdict(), tested
}

func breaksAt(k int) func(int) BisectOutcome {
	return func(i int) BisectOutcome {
		if i >= k {
			return BisectBad
		}
		return BisectGood
	}
}

func TestBisectFindsEveryFirstBadCommit(t *testing.T) {
	for n := 1; n <= 40; n++ {
		for k := 1; k <= n; k++ {
			v, tested := bisect(t, n, breaksAt(k))
			want := fmt.Sprintf("c%d", k)
			if !v.Found || v.FirstBad != want || len(v.Candidates) != 1 {
				t.Fatalf("%d commits broken at %s: %+v after %v", n, want, v, tested)
			}
			if k > 1 && v.LastGood != fmt.Sprintf("c%d", k-1) || k == 1 && v.LastGood != "c0" {
				t.Errorf("%d commits broken at %s: last good %s", n, want, v.LastGood)
			}
			// log2 of the range, rounded up: the halvings needed.
			limit := 0
			for 1<<limit < n {
				limit++
			}
			if len(tested) > limit {
				t.Errorf("%d commits broken at %s: %d runs %v, want at most %d", n, want, len(tested), tested, limit)
			}
		}
	}
}

func TestBisectFivePushBrokenAtThird(t *testing.T) {
	v, tested := bisect(t, 5, breaksAt(3))
	if !v.Found || v.FirstBad != "c3" || v.LastGood != "c2" || v.Text(0) != "first bad commit c3" {
		t.Fatalf("verdict %+v (%s)", v, v.Text(0))
	}
	if !slices.Equal(tested, []string{"c2", "c3"}) {
		t.Errorf("tested %v, want the midpoints c2 then c3", tested)
	}
}

func TestBisectSkipsCommitsThatCannotRun(t *testing.T) {
	// c4, the first midpoint, does not build: the search tries a commit
	// beside it and still finds c6.
	v, tested := bisect(t, 8, func(i int) BisectOutcome {
		if i == 4 {
			return BisectSkip
		}
		return breaksAt(6)(i)
	})
	if !v.Found || v.FirstBad != "c6" || tested[0] != "c4" || tested[1] == "c4" {
		t.Fatalf("verdict %+v after %v", v, tested)
	}
	// The breakage among skipped commits: only a range can be named.
	b := Bisection{Good: "c0", Commits: commits(6), Outcomes: map[string]BisectOutcome{}}
	for {
		sha, ok := b.Next()
		if !ok {
			break
		}
		i := slices.Index(b.Commits, sha) + 1
		switch {
		case i == 3 || i == 4:
			b.Outcomes[sha] = BisectSkip
		default:
			b.Outcomes[sha] = breaksAt(4)(i)
		}
	}
	v = b.Verdict()
	if v.Found || v.LastGood != "c2" || v.FirstBad != "c5" || !slices.Equal(v.Candidates, []string{"c3", "c4", "c5"}) {
		t.Fatalf("verdict %+v, want between c2 and c5", v)
	}
	if got := v.Text(b.Skipped()); got != "between c2 and c5 (3 commits, 2 could not be tested)" {
		t.Errorf("text %q", got)
	}
}

func TestBisectStopsAfterMaxRuns(t *testing.T) {
	// Every commit skipped: the cap ends the search, the range stays whole.
	v, tested := bisect(t, 100, func(int) BisectOutcome { return BisectSkip })
	if len(tested) != MaxBisectRuns {
		t.Fatalf("%d runs, want %d", len(tested), MaxBisectRuns)
	}
	if v.Found || v.LastGood != "c0" || v.FirstBad != "c100" || len(v.Candidates) != 100 {
		t.Errorf("verdict %+v", v)
	}
	// 1000 commits need 10 halvings: after 8 the range is narrowed to 4.
	v, tested = bisect(t, 1000, breaksAt(700))
	if len(tested) != MaxBisectRuns || v.Found || len(v.Candidates) > 4 || !slices.Contains(v.Candidates, "c700") {
		t.Errorf("1000 commits: %d runs, verdict %+v", len(tested), v)
	}
}

func TestBisectOneCommitNeedsNoRun(t *testing.T) {
	v, tested := bisect(t, 1, breaksAt(1))
	if len(tested) != 0 || !v.Found || v.FirstBad != "c1" || v.LastGood != "c0" {
		t.Errorf("verdict %+v after %v", v, tested)
	}
}
