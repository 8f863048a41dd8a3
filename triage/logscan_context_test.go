package triage

import (
	"fmt"
	"strings"
	"testing"
)

// analyzeText analyses one failed step's log given as lines.
func analyzeText(t *testing.T, lines ...string) Failure {
	t.Helper()
	fs, err := Analyze([]StepInput{{Facts: StepFacts{Step: "s", ExitCode: 1, State: "failed"},
		Log: strings.NewReader(strings.Join(lines, "\n") + "\n")}}, Options{})
	if err != nil || len(fs) == 0 {
		t.Fatalf("Analyze = %v, %v", fs, err)
	}
	return fs[0]
}

func TestLogContextDecidesTheCause(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		lines    []string
		category Category
		notLines []int64 // never evidence
	}{
		{"go env dump", []string{"GOFLAGS='-mod=readonly'", "GOTOOLCHAIN='auto'", "GONOSUMDB=''",
			"internal/db/pool.go:19:15: undefined: pgx.Connect"}, CategoryCompile, []int64{1, 2, 3}},
		{"printenv and export", []string{"export ERROR_REPORTING=strict", "NPM_CONFIG_LOGLEVEL=error", "CONNECT_TIMEOUT=30",
			"E   AssertionError: assert 1 == 2"}, CategoryTest, []int64{1, 2, 3}},
		{"set -x trace", []string{"+ echo 'Permission denied: retry'", "++ test -f /no/such/file", "$ ./configure --enable-werror",
			"src/a.c:3:1: error: unknown type name 'size'"}, CategoryCompile, []int64{1, 2, 3}},
		{"actions run and env block", []string{"Run npm test", "  npm test", "  env:", "    FAIL_FAST: false", "    ENOSPC_GUARD: 1",
			"FAIL tests/math.test.js", "  ● sum › adds", "    expect(received).toBe(expected)"}, CategoryTest, []int64{1, 2, 3, 4, 5}},
		{"raw actions group", []string{"##[group]Run make test", "env:", "  ERROR_LOG: /tmp/err", "##[endgroup]",
			"src/a.c:3:1: error: unknown type name 'size'"}, CategoryCompile, []int64{1, 2, 3, 4}},
		{"warning with its trace", []string{"2024-03-01 WARN [main] cache - dial tcp 10.0.0.1:6379: i/o timeout, using memory",
			"java.net.SocketTimeoutException: connect timed out", "\tat java.base/sun.nio.ch.Net.connect0(Native Method)",
			"[INFO] Running com.acme.CacheTest", "org.opentest4j.AssertionFailedError: expected: <2> but was: <3>"}, CategoryTest, nil},
		{"recovered lookups", []string{"psql: error: Temporary failure in name resolution", "psql: error: Temporary failure in name resolution",
			"db:5432 - accepting connections", "error: could not compile `app` (lib) due to 2 previous errors"}, CategoryCompile, nil},
		{"retries that never recovered", []string{"WARNING: Retrying (Retry(total=1)) after connection broken by 'NewConnectionError(Temporary failure in name resolution)': /simple/flask/",
			"ERROR: Could not find a version that satisfies the requirement flask==3.0.0 (from versions: none)"}, CategoryNetwork, nil},
		{"summary below the failure", []string{"  ● Cart › shows the total", "", "    expect(received).toBe(expected)", "",
			"Test Suites: 1 failed, 1 total", "Tests:       1 failed, 3 passed, 4 total"}, CategoryTest, nil},
		{"error inside names and flags", []string{"Installing liberror-utils with --error-for-skips and on-failure hooks",
			"usermod: user 'ci' does not exist", "cannot open shared object file: No such file or directory"}, CategoryConfiguration, []int64{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := analyzeText(t, tc.lines...)
			if f.Category != tc.category {
				t.Errorf("category = %s (%s, rule %s), want %s", f.Category, f.Title, f.Rule, tc.category)
			}
			for _, e := range f.Evidence {
				for _, n := range tc.notLines {
					if e.Line == n {
						t.Errorf("line %d is evidence: %q", n, e.Text)
					}
				}
			}
		})
	}
}

func TestSummaryLineDoesNotDecide(t *testing.T) {
	t.Parallel()
	f := analyzeText(t, "> Task :test", "", "UserTest > findsByEmail() FAILED", "    java.lang.AssertionError: expected:<1> but was:<0>",
		"        at com.example.UserTest.findsByEmail(UserTest.java:33)", "", "12 tests completed, 1 failed", "", "> Task :test FAILED")
	if f.Rule == "test.summary" || f.Evidence[0].Line != 3 {
		t.Errorf("decided by %s, evidence from line %d; want the failing test at line 3", f.Rule, f.Evidence[0].Line)
	}
}

func TestEvidenceIsTheWholeBlock(t *testing.T) {
	t.Parallel()
	lines := []string{"[ 25%] Building C object parse.c.o",
		"src/parse.c: In function 'parse_header':",
		"src/parse.c:142:17: error: 'hdr_len' undeclared (first use in this function)",
		"  142 |     if (len > hdr_len)",
		"      |               ^~~~~~~",
		"make[2]: *** [build.make:90: parse.c.o] Error 1"}
	f := analyzeText(t, lines...)
	if f.Category != CategoryCompile || len(f.EvidenceRanges) == 0 {
		t.Fatalf("failure = %+v", f)
	}
	if got, want := f.EvidenceRanges[0], (LineRange{Start: 2, End: 5}); got != want {
		t.Errorf("first range = %+v, want %+v", got, want)
	}
	var got []int64
	for _, e := range f.Evidence {
		got = append(got, e.Line)
	}
	if fmt.Sprint(got) != "[2 3 4 5]" {
		t.Errorf("evidence lines = %v, want [2 3 4 5]", got)
	}
	if f.Evidence[1].Rule == "" || f.Evidence[0].Text != lines[1] {
		t.Errorf("evidence = %+v", f.Evidence)
	}
}

// A block never grows past maxBlockLines, however long the trace.
func TestEvidenceBlockIsBounded(t *testing.T) {
	t.Parallel()
	lines := []string{"Exception in thread \"main\" java.lang.IllegalStateException: boom"}
	for i := 0; i < 500; i++ {
		lines = append(lines, "\tat com.acme.Deep.call(Deep.java:1)")
	}
	f := analyzeText(t, lines...)
	if n := len(f.Evidence); n == 0 || n > maxBlockLines {
		t.Errorf("%d evidence lines, want 1..%d", n, maxBlockLines)
	}
	if r := f.EvidenceRanges[0]; r.End-r.Start+1 > maxBlockLines {
		t.Errorf("range %+v longer than %d", r, maxBlockLines)
	}
}
