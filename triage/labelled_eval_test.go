package triage

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The labelled set (testdata/labelled) holds small CI logs of many
// ecosystems, each with NAME.want.json naming the category a person would
// give the failure and the line ranges they would mark as its cause. The
// figures are printed with:
//
//	go test -count=1 -run TestLabelledLogs -v ./triage/
//
// and the test fails when they drop below the floors, so a change to the
// rules or the ranking that helps one ecosystem at another's cost shows.
const (
	labelledCategoryFloor = 0.97
	labelledEvidenceFloor = 0.93
	labelledSlack         = 2 // a predicted line within this many of a marked line counts
)

type labelledWant struct {
	Category Category   `json:"category"`
	Lines    [][2]int64 `json:"lines"`
}

type labelledScore struct {
	name          string
	want, got     Category
	f1, prec, rec float64
}

func TestLabelledLogs(t *testing.T) {
	t.Parallel()
	wants, err := filepath.Glob(filepath.Join("testdata", "labelled", "*.want.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(wants) < 60 {
		t.Fatalf("labelled set has %d logs, want at least 60", len(wants))
	}
	var scores []labelledScore
	for _, wp := range wants {
		name := strings.TrimSuffix(filepath.Base(wp), ".want.json")
		raw, err := os.ReadFile(wp)
		if err != nil {
			t.Fatal(err)
		}
		var want labelledWant
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("%s: %v", wp, err)
		}
		if !want.Category.Valid() {
			t.Fatalf("%s: category %q", wp, want.Category)
		}
		f, err := os.Open(filepath.Join("testdata", "labelled", name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		fs, err := Analyze([]StepInput{{Facts: StepFacts{Step: name, ExitCode: 1, State: "failed"}, Log: f}}, Options{})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		s := labelledScore{name: name, want: want.Category, got: "none"}
		var got []int64
		if len(fs) > 0 {
			s.got = fs[0].Category
			got = evidenceLines(fs[0])
		}
		s.prec, s.rec, s.f1 = lineF1(got, want.Lines, labelledSlack)
		scores = append(scores, s)
	}
	sort.Slice(scores, func(i, j int) bool { return scores[i].name < scores[j].name })
	var top1, f1 float64
	for _, s := range scores {
		mark := " "
		if s.got == s.want {
			top1++
		} else {
			mark = "x"
		}
		f1 += s.f1
		t.Logf("%s %-32s want %-14s got %-14s evidence P %.2f R %.2f F1 %.2f", mark, s.name, s.want, s.got, s.prec, s.rec, s.f1)
	}
	n := float64(len(scores))
	top1 /= n
	f1 /= n
	t.Logf("labelled logs: %d  category top-1: %.3f  evidence F1 (±%d lines): %.3f", len(scores), top1, labelledSlack, f1)
	if top1 < labelledCategoryFloor {
		t.Errorf("category top-1 %.3f is below the floor %.2f", top1, labelledCategoryFloor)
	}
	if f1 < labelledEvidenceFloor {
		t.Errorf("evidence F1 %.3f is below the floor %.2f", f1, labelledEvidenceFloor)
	}
}

// evidenceLines are the log lines a failure shows as evidence.
func evidenceLines(f Failure) []int64 {
	var out []int64
	for _, e := range f.Evidence {
		if e.Line > 0 {
			out = append(out, e.Line)
		}
	}
	return out
}

// lineF1 scores predicted lines against marked ranges: a predicted line is
// right when it lies within slack lines of a marked one, and a marked line
// is found when a predicted line lies within slack of it.
func lineF1(got []int64, want [][2]int64, slack int64) (prec, rec, f1 float64) {
	near := func(a, b int64) bool { return a-b <= slack && b-a <= slack }
	var marked []int64
	for _, r := range want {
		for n := r[0]; n <= r[1]; n++ {
			marked = append(marked, n)
		}
	}
	if len(got) == 0 || len(marked) == 0 {
		return 0, 0, 0
	}
	hit := 0
	for _, g := range got {
		for _, m := range marked {
			if near(g, m) {
				hit++
				break
			}
		}
	}
	found := 0
	for _, m := range marked {
		for _, g := range got {
			if near(g, m) {
				found++
				break
			}
		}
	}
	prec = float64(hit) / float64(len(got))
	rec = float64(found) / float64(len(marked))
	if prec+rec == 0 {
		return prec, rec, 0
	}
	return prec, rec, 2 * prec * rec / (prec + rec)
}
