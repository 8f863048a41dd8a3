package triage

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"testing"
)

// guardLines are lines that sit on the edges the guard must get right:
// case folding (the Kelvin sign and the long s fold to k and s), invalid
// UTF-8, word boundaries at either end, repeats of "." over multi-byte
// characters, and locations with one number where two are wanted.
var guardLines = []string{
	"", "x", "foo_test.go:12: boom", "    foo_test.go:12: boom", "./a/b.go:3:4: undefined: X",
	"a.go:3:4: printf: bad", "a.go:3:4: x (SA1000)", "a.go:3:4: x (SA1000) ", "ERROR: x (y)",
	"\u212aILLED", "killed", "ſegmentation fault", "Segmentation fault", "\xff\xfeerror\xff",
	"é.go:1:2: é", "errors", "error", "xerror", "error-x", "FAIL", "FAIL\tpkg\t0.1s", "ok  \tpkg\t0.1s",
	"npm WARN x", "##[error]Process completed with exit code 1.", "x.py:1:2: E501 line too long",
	"ééé", "\xc3", "a\nb", "\t\t", "Exception in thread \"main\" java.lang.Error: x",
}

// TestGuardAgreesWithRegexp: a guard's no must be the expression's no,
// and its sure yes the expression's yes, for every variant of the built-in
// rules and matchers on every line of the test logs and the edge lines.
func TestGuardAgreesWithRegexp(t *testing.T) {
	var vs []variant
	vs = append(vs, DefaultRules().pre.variants...)
	vs = append(vs, DefaultMatchers().variants...)
	// A few shapes no built-in rule has.
	for _, p := range []string{`\Bx\b`, `(?i)ask`, `a.{2}b`, `^(?:\w+\.)*E(?:rror|xception)$`, `x\d{2,3}y?$`, `(?s)a.*b`} {
		more, ok := variantsOf(p)
		if !ok {
			t.Fatalf("variantsOf(%q) failed", p)
		}
		vs = append(vs, more...)
	}
	lines := append([]string(nil), guardLines...)
	for _, pattern := range []string{"testdata/labelled/*.log", "testdata/logs/*.log", "testdata/pairs/*.log", "testdata/matchers/*.log"} {
		paths, _ := filepath.Glob(pattern)
		if len(paths) == 0 {
			t.Fatalf("no files for %s", pattern)
		}
		for _, p := range paths {
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				lines = append(lines, string(stripTimestamp(sc.Bytes())))
			}
			f.Close()
		}
	}
	guarded, exact := 0, 0
	for _, v := range vs {
		if v.guard == nil {
			continue
		}
		guarded++
		if v.guard.exact {
			exact++
		}
		for _, l := range lines {
			want := v.re.MatchString(l)
			ok, sure := v.guard.match([]byte(l))
			if !ok && want || sure && ok != want {
				t.Errorf("guard of %s on %q = %v (sure %v), regexp says %v", v.re, l, ok, sure, want)
			}
		}
	}
	if guarded < len(vs)/2 || exact == 0 {
		t.Errorf("%d of %d variants guarded, %d exactly: the guard reads too little", guarded, len(vs), exact)
	}
}

// TestGuardFoldCase: (?i) letters other than k and s fold only within
// ASCII, so the guard reads them; k and s it leaves to the regexp.
func TestGuardFoldCase(t *testing.T) {
	for _, c := range []struct {
		pattern string
		exact   bool
	}{{`^(?i)error`, true}, {`^(?i)killed`, false}, {`^(?i)missing`, false}, {`foo\d+`, true}} {
		re, err := syntax.Parse(c.pattern, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		g := newGuard(re.Simplify())
		if g == nil || g.exact != c.exact {
			t.Errorf("newGuard(%q) = %+v, want exact %v", c.pattern, g, c.exact)
			continue
		}
		rx := regexp.MustCompile(c.pattern)
		for _, l := range guardLines {
			if ok, sure := g.match([]byte(l)); !ok && rx.MatchString(l) || sure && ok != rx.MatchString(l) {
				t.Errorf("guard of %q on %q = %v, %v", c.pattern, l, ok, sure)
			}
		}
	}
}
