package triage

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBaselinePairs analyses each failing log of testdata/pairs with the
// baseline of its passing run, as the triage worker does with the last
// green run of a step: lines both runs print (with other timestamps) must
// not decide the failure, and the evidence must land on the lines marked.
func TestBaselinePairs(t *testing.T) {
	t.Parallel()
	wants, err := filepath.Glob(filepath.Join("testdata", "pairs", "*.want.json"))
	if err != nil || len(wants) == 0 {
		t.Fatalf("no pairs: %v", err)
	}
	var sum float64
	for _, wp := range wants {
		name := strings.TrimSuffix(filepath.Base(wp), ".want.json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(wp)
			if err != nil {
				t.Fatal(err)
			}
			var want labelledWant
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			pass, err := os.Open(filepath.Join("testdata", "pairs", name+".pass.log"))
			if err != nil {
				t.Fatal(err)
			}
			defer pass.Close()
			base, err := BuildBaseline(pass, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			fail, err := os.Open(filepath.Join("testdata", "pairs", name+".fail.log"))
			if err != nil {
				t.Fatal(err)
			}
			defer fail.Close()
			fs, err := Analyze([]StepInput{{Facts: StepFacts{Step: name, ExitCode: 1, State: "failed"}, Log: fail, Baseline: base}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) == 0 {
				t.Fatal("no failure")
			}
			if fs[0].Category != want.Category {
				t.Errorf("category = %s (%s), want %s", fs[0].Category, fs[0].Title, want.Category)
			}
			_, _, f1 := lineF1(evidenceLines(fs[0]), want.Lines, labelledSlack)
			t.Logf("evidence F1 %.2f", f1)
			sum += f1
		})
	}
	if avg := sum / float64(len(wants)); avg < 0.6 {
		t.Errorf("evidence F1 averaged over pairs = %.2f, want ≥ 0.6", avg)
	}
}
