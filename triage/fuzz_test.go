package triage

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sentinel-ci/sentinel/triage/internal/normref"
)

// addSeeds adds every file matching the globs (relative to this package) to
// the fuzz corpus. Globs that together match nothing fail: the seeds are part
// of the test.
func addSeeds(f *testing.F, globs ...string) {
	matched := 0
	for _, g := range globs {
		files, _ := filepath.Glob(g)
		matched += len(files)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err == nil && len(b) <= 64<<10 { // large seeds slow the mutator down
				f.Add(b)
			}
		}
	}
	if matched == 0 {
		f.Fatalf("no fuzz seeds match %v", globs)
	}
}

const fixtureRoot = "testdata/fixtures/test-output/"

func FuzzParseGoTestJSON(f *testing.F) {
	addSeeds(f, fixtureRoot+"go-test-json/gotestsum/*", "testdata/go/out/*.json")
	f.Add([]byte(`{"Action":"run","Package":"p","Test":"T"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseGoTestJSON(bytes.NewReader(data))
		if err != nil {
			return
		}
		c := res.Totals()
		if c.Passed+c.Failed+c.Errored+c.Skipped+c.Incomplete != c.Tests {
			t.Fatalf("outcomes do not add up to tests: %+v", c)
		}
		for _, tc := range res.Tests {
			if len(tc.Output) > MaxTestOutput {
				t.Fatalf("output of %s is %d bytes", tc.Name, len(tc.Output))
			}
		}
		if len(data) < 4096 { // the whole engine on small inputs, to keep the fuzzer fast
			if _, err := Analyze([]StepInput{{Facts: StepFacts{ExitCode: 1}, Results: res, Log: bytes.NewReader(data)}}, Options{}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzParseJUnit(f *testing.F) {
	addSeeds(f, fixtureRoot+"junit-xml/*/*.xml", fixtureRoot+"junit-xml/*/*/*.xml", fixtureRoot+"junit-xml/*/*/*/*.xml")
	f.Add([]byte(`<testsuite><testcase name="a"><failure message="x">y</failure></testcase></testsuite>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseJUnit(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, tc := range res.Tests {
			if !utf8.ValidString(tc.Name) || !utf8.ValidString(tc.Message) {
				t.Fatalf("invalid UTF-8 in %q / %q", tc.Name, tc.Message)
			}
		}
		_ = res.Totals()
		if len(data) < 4096 {
			if _, err := Analyze([]StepInput{{Facts: StepFacts{ExitCode: 1}, Results: res}}, Options{}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzAnalyzeLog(f *testing.F) {
	addSeeds(f, "testdata/logs/*.log", fixtureRoot+"go-test-json/gotestsum/*.out")
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := AnalyzeLog(bytes.NewReader(data), LogOptions{MaxMatches: 8})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Matches) > 8 {
			t.Fatalf("%d matches kept, limit 8", len(rep.Matches))
		}
		fs, err := Analyze([]StepInput{{Facts: StepFacts{ExitCode: 1}, Log: bytes.NewReader(data)}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, fl := range fs {
			if !fl.Category.Valid() || len(fl.Fingerprint) != 64 {
				t.Fatalf("bad failure %+v", fl)
			}
		}
	})
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"2024-01-02T03:04:05Z x", "map[b:1 a:2]", "0xc000123 /tmp/x/y", "\x1b[31mred\r\n", "[::1]:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := Normalize(s)
		if want := normref.Normalize(s); once != want {
			t.Fatalf("Normalize(%q) = %q, the reference normaliser gives %q", s, once, want)
		}
		if twice := Normalize(once); twice != once {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, once, twice)
		}
		if len(once) > MaxNormalizedLen || !utf8.ValidString(once) {
			t.Fatalf("bad output %q", once)
		}
	})
}

func FuzzDetectFormat(f *testing.F) {
	addSeeds(f, "testdata/logs/*.log", fixtureRoot+"junit-xml/*/*.xml")
	f.Fuzz(func(t *testing.T, data []byte) {
		switch DetectFormat(data) {
		case FormatGoTestJSON, FormatJUnit, FormatLog:
		default:
			t.Fatal("unknown format")
		}
	})
}

// The fast event decoder must agree with encoding/json whenever it
// accepts a line.
func FuzzDecodeEvent(f *testing.F) {
	addSeeds(f, fixtureRoot+"go-test-json/gotestsum/*.out")
	f.Add([]byte(`{"Action":"output","Test":"T","Output":"a\u00e9\ud83d\ude00\n\t\"x\"","Elapsed":1.5e0,"Extra":[{"a":"}"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, line := range bytes.Split(data, []byte("\n")) {
			var fast, slow goEvent
			if !decodeEvent(line, &fast) {
				continue
			}
			if err := json.Unmarshal(line, &slow); err != nil {
				t.Fatalf("fast path accepted %q, encoding/json rejects it: %v", line, err)
			}
			if fast != slow {
				t.Fatalf("fast path %+v, encoding/json %+v for %q", fast, slow, line)
			}
		}
	})
}

func FuzzParseGoTestText(f *testing.F) {
	addSeeds(f, "testdata/go/out/*.txt", "testdata/go/out/*.vtxt", "testdata/go/out/*.build", "testdata/go/out/*.vet", "testdata/go/out/*.moddownload")
	f.Add([]byte("=== RUN   TestA/b/c\n    a_test.go:1: \n        x\n--- FAIL: TestA (0.00s)\n    --- FAIL: TestA/b/c (0.00s)\nFAIL\tp\t0.1s\n"))
	f.Add([]byte("# p\nb/b.go:3:23: too many return values\n\thave (number)\n\twant ()\nFAIL\tp [build failed]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseGoTestText(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		c := res.Totals()
		if c.Passed+c.Failed+c.Errored+c.Skipped+c.Incomplete != c.Tests {
			t.Fatalf("outcomes do not add up to tests: %+v", c)
		}
		for _, tc := range res.Tests {
			if len(tc.Output) > MaxTestOutput || len(tc.Message) > maxMessageBytes+len(ellipsis)+1 {
				t.Fatalf("%s: output %d bytes, message %d bytes", tc.Name, len(tc.Output), len(tc.Message))
			}
		}
		// Fed in two writes, as a TeeReader may, the log reads the same.
		if len(data) > 0 {
			cut := len(data) / 3
			p := newGoTextParser()
			p.Write(data[:cut])
			p.Write(data[cut:])
			if len(data) > 0 && data[len(data)-1] != '\n' {
				p.Write([]byte("\n"))
			}
			if got := p.finish(); len(got.Tests) != len(res.Tests) || len(got.Problems) != len(res.Problems) {
				t.Fatalf("split at %d: %d tests, %d problems; whole: %d tests, %d problems", cut, len(got.Tests), len(got.Problems), len(res.Tests), len(res.Problems))
			}
		}
		if len(data) < 4096 {
			fs, err := Analyze([]StepInput{{Facts: StepFacts{ExitCode: 1}, Log: bytes.NewReader(data)}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, fl := range fs {
				// Absolute paths below unknown roots stay as printed, for the
				// report to place; nothing may climb out of the repository.
				if strings.HasPrefix(fl.File, "../") || strings.Contains(fl.File, "/pkg/mod/") {
					t.Fatalf("file %q is outside the repository", fl.File)
				}
			}
		}
	})
}
