package triage

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/go/golden")

// goGolden is what a person reads about one failure.
type goGolden struct {
	Category Category `json:"category"`
	Title    string   `json:"title"`
	Test     string   `json:"test,omitempty"`
	File     string   `json:"file,omitempty"`
	Line     int      `json:"line,omitempty"`
	Message  string   `json:"message,omitempty"`
}

type goGoldenFile struct {
	Totals   *Counts    `json:"totals,omitempty"`
	Failures []goGolden `json:"failures"`
}

// TestGoOutputs triages the outputs of real go commands run over the tiny
// modules under testdata/go (gen.sh regenerates them), each case a
// repository checked out at /workspace, and compares what people would
// read with testdata/go/golden/*.golden (-update rewrites them).
func TestGoOutputs(t *testing.T) {
	t.Parallel()
	outs, err := filepath.Glob("testdata/go/out/*")
	if err != nil || len(outs) == 0 {
		t.Fatalf("no outputs: %v", err)
	}
	for _, out := range outs {
		name := filepath.Base(out)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			caseName, _, _ := strings.Cut(name, ".")
			got := triageGoOutput(t, "go "+filepath.Ext(name)[1:], data, checkoutOf(filepath.Join("testdata/go", caseName)))
			b, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, '\n')
			golden := filepath.Join("testdata/go/golden", name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if diff := cmp.Diff(string(want), string(b)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func triageGoOutput(t *testing.T, stepName string, data []byte, paths Paths) goGoldenFile {
	t.Helper()
	step := StepInput{Facts: StepFacts{Step: stepName, State: "failed", ExitCode: 1}, Log: bytes.NewReader(data)}
	if DetectFormat(data) == FormatGoTestJSON {
		res, err := ParseGoTestJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		step.Results = res
	}
	fs, err := Analyze([]StepInput{step}, Options{Paths: paths})
	if err != nil {
		t.Fatal(err)
	}
	out := goGoldenFile{Failures: []goGolden{}}
	res := step.Results
	if res == nil {
		res, _ = ParseGoTestText(bytes.NewReader(data))
	}
	if c := res.Totals(); c.Tests > 0 || c.Stopped > 0 {
		out.Totals = &c
	}
	for _, f := range fs {
		out.Failures = append(out.Failures, goGolden{Category: f.Category, Title: f.Title, Test: f.TestID, File: f.File, Line: f.Line, Message: f.Message})
	}
	return out
}

// checkoutOf is the Paths of a case's checkout: /workspace is dir.
func checkoutOf(dir string) Paths {
	return Paths{Exists: func(rel string) bool {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
		return err == nil && fi.Mode().IsRegular()
	}}
}

// BenchmarkParseGoTestText reads a large -v log: many passing tests, a
// few failing ones with message blocks.
func BenchmarkParseGoTestText(b *testing.B) {
	var sb strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&sb, "=== RUN   TestCase%d\n    case_test.go:%d: step one\n", i, i)
		if i%500 == 0 {
			fmt.Fprintf(&sb, "    case_test.go:%d: \n        \tError:      \tNot equal:\n        \t            \texpected: 1\n        \t            \tactual  : 2\n--- FAIL: TestCase%d (0.00s)\n", i, i)
		} else {
			fmt.Fprintf(&sb, "--- PASS: TestCase%d (0.00s)\n", i)
		}
	}
	sb.WriteString("FAIL\nFAIL\texample.com/big\t1.234s\n")
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseGoTestText(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// A subtest named with slashes (t.Run("valid/small/one")) runs under the
// test that started it, in -json and plain output alike.
func TestGoSubtestParentWithSlashes(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"assert.json", "assert.vtxt"} {
		data, err := os.ReadFile(filepath.Join("testdata/go/out", name))
		if err != nil {
			t.Fatal(err)
		}
		var res *Results
		if DetectFormat(data) == FormatGoTestJSON {
			res, err = ParseGoTestJSON(bytes.NewReader(data))
		} else {
			res, err = ParseGoTestText(bytes.NewReader(data))
		}
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, tc := range res.Tests {
			if tc.Name == "TestTable/valid/small/one" {
				found = true
				if tc.Parent != "TestTable" {
					t.Errorf("%s: parent of %s = %q, want TestTable", name, tc.Name, tc.Parent)
				}
			}
		}
		if !found {
			t.Errorf("%s: no TestTable/valid/small/one", name)
		}
	}
}
