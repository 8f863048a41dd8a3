package triage

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBuiltinMatchersGolden runs the built-in matchers over real or
// realistic output of each tool (testdata/matchers/SOURCES.md) and compares
// the diagnostics with the reviewed golden file beside each log.
func TestBuiltinMatchersGolden(t *testing.T) {
	logs, err := filepath.Glob("testdata/matchers/*.log")
	if err != nil || len(logs) < 12 {
		t.Fatalf("matcher fixtures missing: %v %v", logs, err)
	}
	for _, name := range logs {
		t.Run(strings.TrimSuffix(filepath.Base(name), ".log"), func(t *testing.T) {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := AnalyzeLog(bytes.NewReader(data), LogOptions{Matchers: DefaultMatchers()})
			if err != nil {
				t.Fatal(err)
			}
			got := rep.Diagnostics
			if got == nil {
				got = []Diagnostic{}
			}
			golden := strings.TrimSuffix(name, ".log") + ".golden.json"
			if *update {
				b, _ := json.MarshalIndent(got, "", "  ")
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			raw, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("golden file missing: %v", err)
			}
			var want []Diagnostic
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if want == nil {
				want = []Diagnostic{}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("diagnostics differ (-want +got):\n%s", d)
			}
		})
	}
}
