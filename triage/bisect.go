package triage

import "fmt"

// Bisection finds the commit that broke a test when more than one commit
// lies between the last run where it passed and the first where it failed:
// the test is run alone at midpoints of the range, as `git bisect` does,
// halving the commits left each time. A commit where the test cannot be run
// (the step does not build, the test is absent) is skipped, as `git bisect
// skip` does: a commit beside it is tried instead, and when only skipped
// commits are left the answer is the narrowest range, "between A and B".

// MaxBisectRuns bounds the runs of one bisection: 8 halvings narrow 256
// commits to one, and a wider range is better answered "between A and B"
// than by minutes more of re-runs.
const MaxBisectRuns = 8

// BisectOutcome is what one run of the test at one commit said.
type BisectOutcome string

const (
	BisectGood BisectOutcome = "good" // the test passed
	BisectBad  BisectOutcome = "bad"  // the test failed
	BisectSkip BisectOutcome = "skip" // the test could not be run there
)

// Bisection is the state of one search. Good is the last commit where the
// test passed; Commits the range after it, oldest first, up to and
// including the first commit where it was seen failing (bad by definition);
// Outcomes what the runs so far said, by commit.
type Bisection struct {
	Good     string
	Commits  []string
	Outcomes map[string]BisectOutcome
}

// bounds are the indexes of the last commit known good (-1: Good) and the
// first known bad, with good before bad. Outcomes that contradict the
// earliest bad commit (good after it) are ignored, as git bisect would
// never have tested them.
func (b Bisection) bounds() (lo, hi int) {
	lo, hi = -1, len(b.Commits)-1
	for i, c := range b.Commits[:max(hi, 0)] {
		if b.Outcomes[c] == BisectBad {
			hi = i
			break
		}
	}
	for i := hi - 1; i >= 0; i-- {
		if b.Outcomes[b.Commits[i]] == BisectGood {
			lo = i
			break
		}
	}
	return lo, hi
}

// Runs is how many commits were tested (skipped ones included: each cost
// a run).
func (b Bisection) Runs() int {
	n := 0
	for _, c := range b.Commits {
		if _, ok := b.Outcomes[c]; ok {
			n++
		}
	}
	return n
}

// Next is the commit to test next: the untested commit nearest the
// midpoint of the range left, skipped ones passed over. ok is false when
// the search is over: one commit left, every commit between tested or
// skipped, or MaxBisectRuns spent.
func (b Bisection) Next() (sha string, ok bool) {
	if len(b.Commits) == 0 || b.Runs() >= MaxBisectRuns {
		return "", false
	}
	lo, hi := b.bounds()
	mid := lo + (hi-lo)/2
	best := -1
	for i := lo + 1; i < hi; i++ {
		if _, tested := b.Outcomes[b.Commits[i]]; tested {
			continue
		}
		if best < 0 || abs(i-mid) < abs(best-mid) {
			best = i
		}
	}
	if best < 0 {
		return "", false
	}
	return b.Commits[best], true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// BisectVerdict is where a bisection ended. Found: FirstBad is the commit
// that broke the test and LastGood its parent on the range. Otherwise the
// breakage is one of Candidates, the commits after LastGood up to and
// including FirstBad (the earliest known bad).
type BisectVerdict struct {
	Found      bool
	FirstBad   string
	LastGood   string
	Candidates []string
}

// Verdict is what the runs so far prove.
func (b Bisection) Verdict() BisectVerdict {
	if len(b.Commits) == 0 {
		return BisectVerdict{LastGood: b.Good}
	}
	lo, hi := b.bounds()
	v := BisectVerdict{Found: hi-lo == 1, FirstBad: b.Commits[hi], LastGood: b.Good,
		Candidates: append([]string(nil), b.Commits[lo+1:hi+1]...)}
	if lo >= 0 {
		v.LastGood = b.Commits[lo]
	}
	return v
}

// Text says the verdict for people: "first bad commit abc1234" or
// "between abc1234 and def5678 (3 commits, 2 could not be tested)".
func (v BisectVerdict) Text(skipped int) string {
	if v.Found {
		return "first bad commit " + ShortSHA(v.FirstBad)
	}
	s := fmt.Sprintf("between %s and %s (%d commits", ShortSHA(v.LastGood), ShortSHA(v.FirstBad), len(v.Candidates))
	if skipped > 0 {
		s += fmt.Sprintf(", %d could not be tested", skipped)
	}
	return s + ")"
}

// Skipped counts the commits among the candidates that could not be tested.
func (b Bisection) Skipped() int {
	n := 0
	for _, c := range b.Verdict().Candidates {
		if b.Outcomes[c] == BisectSkip {
			n++
		}
	}
	return n
}
