package triage

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The package-end line was read with this expression; goTextPackageEnd
// must read every line as it did.
var reGoTextPkgEndRef = regexp.MustCompile(`^(ok|FAIL|\?)\s+(\S+)(?:\s+(.*))?$`)

func TestGoTextPackageEndMatchesRegexp(t *testing.T) {
	lines := []string{
		"ok  \tgithub.com/acme/shop\t0.012s", "ok github.com/acme/shop", "FAIL\tgithub.com/acme/shop [build failed]",
		"FAIL", "FAIL ", "FAIL\t", "FAILED x", "FAIL\tpkg\t", "FAIL\tpkg \t \r", "? \tpkg\t[no test files]", "?", "? ",
		"ok", "ok  ", "okay pkg", "ok\fpkg\rrest", "ok\vpkg", "ok  pkg  0.1s (cached)  ", "ok  \xffpkg\x00 \xfe",
		"ok  pkg\n", "ok  pkg\nrest", "FAIL\tpkg\t0.1s\n", "ok \u00a0pkg", "ok  p\u00a0kg x", "",
	}
	for _, l := range lines {
		m := reGoTextPkgEndRef.FindStringSubmatch(l)
		status, pkg, rest, ok := goTextPackageEnd(l)
		if ok != (m != nil) || ok && (status != m[1] || pkg != m[2] || rest != m[3]) {
			t.Errorf("%q: got %v %q %q %q, the expression %q", l, ok, status, pkg, rest, m)
		}
	}
}

// Analyze reads a plain go test log with a parser that forgets what it
// will not read (passing tests, superseded runs, incomplete tests'
// output). Its failures must be those of the whole results.
func TestGoTextForAnalysisKeepsWhatAnalyzeReads(t *testing.T) {
	logs, err := filepath.Glob("testdata/go/out/*txt")
	if err != nil || len(logs) == 0 {
		t.Fatalf("no go test logs in testdata/go/out: %v", err)
	}
	inputs := map[string][]byte{}
	for _, p := range logs {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(p)] = raw
	}
	// Reruns, in one package and across packages: only the last run of a
	// test counts, whether it passed, failed or never ended.
	inputs["reruns"] = []byte(strings.Join([]string{
		"=== RUN   TestA", "    a_test.go:3: first", "--- FAIL: TestA (0.00s)",
		"=== RUN   TestB", "--- PASS: TestB (0.00s)",
		"=== RUN   TestC", "    c_test.go:9: boom", "--- FAIL: TestC (0.00s)",
		"=== RUN   TestD", "    d_test.go:1: gone",
		"FAIL", "FAIL\texample.com/p\t0.01s",
		"=== RUN   TestA", "--- PASS: TestA (0.00s)",
		"=== RUN   TestB", "    b_test.go:4: now broken", "--- FAIL: TestB (0.00s)",
		"=== RUN   TestC", "    c_test.go:9: boom again", "--- FAIL: TestC (0.00s)",
		"=== RUN   TestE", "=== RUN   TestE/sub", "    e_test.go:2: stuck",
		"FAIL\texample.com/p\t0.02s",
		"=== RUN   TestA", "    a_test.go:3: other package", "--- FAIL: TestA (0.00s)",
		"FAIL\texample.com/q\t0.01s",
		"=== RUN   TestZ", "    z_test.go:5: no package line after it", "--- FAIL: TestZ (0.00s)",
	}, "\n") + "\n")
	for name, raw := range inputs {
		for _, facts := range []StepFacts{{Step: "test", ExitCode: 1}, {Step: "test", ExitCode: 1, TimedOut: true}, {Step: "vet", ExitCode: 1}} {
			whole, err := ParseGoTestText(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			whole.Format = "go-test-text"
			p := newGoTextParser()
			p.vetCmd = reVetStep.MatchString(facts.Step)
			p.Write(raw)
			if p.vetCmd {
				whole = p.finish()
			}
			want, err := Analyze([]StepInput{{Facts: facts, Log: bytes.NewReader(raw), Results: whole}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := Analyze([]StepInput{{Facts: facts, Log: bytes.NewReader(raw)}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			wj, _ := json.Marshal(want)
			gj, _ := json.Marshal(got)
			if !bytes.Equal(wj, gj) {
				t.Errorf("%s %+v:\nwhole results: %s\nanalysis:      %s", name, facts, wj, gj)
			}
		}
	}
}
