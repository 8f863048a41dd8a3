package triage

import "testing"

// TestTracesAreOneBlock: a stack trace is shown whole, from its first line
// to the line that ends it, and no further; and what crashed a test
// program is a test failure.
func TestTracesAreOneBlock(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		lines    []string
		category Category
		want     LineRange // the deciding block
	}{
		{"unittest error with its traceback", []string{"test_load (t.T.test_load) ... ERROR", "",
			"======================================================================",
			"ERROR: test_load (t.T.test_load)", "----------------------------------------------------------------------",
			"Traceback (most recent call last):", `  File "/w/t.py", line 6, in test_load`, `    load({"Port": 80})`,
			`  File "/w/c.py", line 2, in load`, `    return cfg["port"]`, "KeyError: 'port'", "",
			"----------------------------------------------------------------------", "Ran 2 tests in 0.02s", "", "FAILED (errors=1)"},
			CategoryTest, LineRange{4, 11}},
		{"chained tracebacks", []string{"+ python release.py", "Traceback (most recent call last):", `  File "r.py", line 9, in v`,
			`    return m["version"]`, "KeyError: 'version'", "", "The above exception was the direct cause of the following exception:", "",
			"Traceback (most recent call last):", `  File "r.py", line 11, in v`, `    raise RuntimeError("no version") from e`,
			"RuntimeError: no version", "Error: Process completed with exit code 1."},
			CategoryUnknown, LineRange{2, 12}},
		{"go panic and its goroutines", []string{"=== RUN   TestPut", "--- FAIL: TestPut (0.00s)", "panic: assignment to entry in nil map",
			"", "goroutine 7 [running]:", "testing.tRunner.func1.2({0x55a7a0, 0x6cae30})", "\t/usr/local/go/src/testing/testing.go:1974 +0x232",
			"example.com/c.(*Cache).Put(...)", "\t/w/cache.go:5", "created by testing.(*T).Run in goroutine 1",
			"\t/usr/local/go/src/testing/testing.go:2101 +0x4c5", "FAIL\texample.com/c\t0.068s", "make: *** [test] Error 1"},
			CategoryTest, LineRange{2, 11}},
		{"C assert", []string{"./test_ring", "test_ring: ring.c:13: main: Assertion `count <= CAP' failed.",
			"make: *** [Makefile:4: check] Aborted"}, CategoryTest, LineRange{2, 2}},
		{"uncaught JVM exception", []string{"cash 750", `Exception in thread "main" java.util.NoSuchElementException: no account bank`,
			"\tat Ledger.balance(Ledger.java:13)", "\tat Ledger.main(Ledger.java:23)", "ERROR: Job failed: exit code 1"},
			CategoryTest, LineRange{2, 4}},
		{"maven -e trace left out", []string{"[INFO] BUILD FAILURE",
			"[ERROR] Plugin org.apache.maven.plugins:maven-resources-plugin:2.6 or one of its dependencies could not be resolved: Cannot access central in offline mode -> [Help 1]",
			"org.apache.maven.plugin.PluginResolutionException: Plugin org.apache.maven.plugins:maven-resources-plugin:2.6 or one of its dependencies could not be resolved: Cannot access central in offline mode",
			"    at org.apache.maven.plugin.internal.DefaultPluginDependenciesResolver.resolve (DefaultPluginDependenciesResolver.java:144)",
			"    at org.apache.maven.cli.MavenCli.main (MavenCli.java:196)"},
			CategoryDependency, LineRange{2, 2}},
	} {
		f := analyzeText(t, tc.lines...)
		if f.Category != tc.category || len(f.EvidenceRanges) == 0 || f.EvidenceRanges[0] != tc.want {
			t.Errorf("%s: %s, ranges %v; want %s, first range %v", tc.name, f.Category, f.EvidenceRanges, tc.category, tc.want)
		}
		for _, e := range f.Evidence {
			if e.Line > 0 && (e.Line < tc.want.Start || e.Line > tc.want.End) {
				t.Errorf("%s: evidence line %d %q outside %v", tc.name, e.Line, e.Text, tc.want)
			}
		}
	}
}
