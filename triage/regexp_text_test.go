package triage

import (
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
)

// TestRegexpTextOfBuiltinRules: for every alternative of every built-in
// rule, the pattern regexpText writes matches the same lines of the test
// logs as the one the standard library's String writes: every line the
// rule matches, a sample of the others, each also upper- and lower-cased.
func TestRegexpTextOfBuiltinRules(t *testing.T) {
	t.Parallel()
	logs, err := filepath.Glob("testdata/labelled/*.log")
	if err != nil || len(logs) < 20 {
		t.Fatalf("%d labelled logs (%v), want the test corpus", len(logs), err)
	}
	var lines []string
	for _, name := range logs {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(string(data), "\n")...)
	}
	patterns := []string{`(?i)a[bc]+?|\Bd{2,5}$|(?m)^x.$|(?s).\z|[^\s"]*|(?P<n>é|ß)\b|\x00|a{3,}`}
	for _, r := range BuiltinRules() {
		patterns = append(patterns, r.Pattern)
	}
	for _, p := range patterns {
		full := regexp.MustCompile(p)
		var sample []string
		for i, l := range lines {
			if i%40 == 0 || full.MatchString(l) {
				sample = append(sample, l, strings.ToUpper(l), strings.ToLower(l))
			}
		}
		re, err := syntax.Parse(p, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		re = re.Simplify()
		alts := []*syntax.Regexp{re}
		if re.Op == syntax.OpAlternate {
			alts = re.Sub
		}
		for _, alt := range alts {
			mine, err := regexp.Compile(regexpText(alt))
			if err != nil {
				t.Errorf("%s: regexpText wrote %q: %v", p, regexpText(alt), err)
				continue
			}
			std := regexp.MustCompile(alt.String())
			for _, l := range sample {
				if mine.MatchString(l) != std.MatchString(l) {
					t.Errorf("%s: on %q, %q matches %v, %q %v", p, l, regexpText(alt), mine.MatchString(l), alt.String(), std.MatchString(l))
					break
				}
			}
		}
	}
}

// FuzzRegexpText: a pattern written back by regexpText matches exactly the
// strings the original matches.
func FuzzRegexpText(f *testing.F) {
	f.Add(`(?i)no space left|\bENOSPC\b`, "write: No Space Left on device")
	f.Add(`^\s*(\S+: line \d+:\s+\d+\s+)?Killed(\s+.*)?$`, "sh: line 1:  42 Killed  make")
	f.Add(`a{2,}?[^"]+\z|(?m)^x$`, "y\nx\n")
	f.Add(`(?i)ǅ[k-m]|[^\x00-\x{10FFFF}]`, "ǆK")
	f.Fuzz(func(t *testing.T, pattern, input string) {
		re, err := syntax.Parse(pattern, syntax.Perl)
		if err != nil {
			return
		}
		want, err := regexp.Compile(pattern)
		if err != nil {
			return
		}
		text := regexpText(re.Simplify())
		got, err := regexp.Compile(text)
		if err != nil {
			t.Fatalf("%q written as %q: %v", pattern, text, err)
		}
		if got.MatchString(input) != want.MatchString(input) {
			t.Errorf("%q written as %q: on %q matches %v, the original %v", pattern, text, input, got.MatchString(input), want.MatchString(input))
		}
	})
}
