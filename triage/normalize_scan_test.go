package triage

import (
	"bytes"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// TestScannersMatchPatterns checks the hand-written scanners against the
// patterns they stand for: equal results, and no guard that says no where
// its pattern would match.
func TestScannersMatchPatterns(t *testing.T) {
	t.Parallel()
	lines := corpusLines(t)
	rng := rand.New(rand.NewPCG(5, 6))
	alphabet := []string{"1", "22", "2024", "-", "/", ".", ",", ":", " ", "\t", "a", "Z", "T", "s", "ms", "µs", " sec", "Jan", "Dec ", "x", "_", "0x", "ab12cd34ef", "2024-05-02T10:11:20.5555556Z", "2024-05-02 10:11", ":00", "+05:30", "-0800", "Z", ".123", "10.0.0.1", ":8080", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "Dec  5 22:31:08", "05/Dec/2026:22:31:08 +0000", "1234", " +0000", "9", "Nov", "m", "h", "ns", "us", "30", "seconds", "sec", "mins", "hour", "milliseconds", "2024/01/31", "1/2/2024", "12.5", "[", "]", "::", "[::1]:80", "0X", "fe80", "deadbeef"}
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(20) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		lines = append(lines, b.String())
	}
	guards := []struct {
		name  string
		re    *regexp.Regexp
		guard func(string) bool
	}{
		{"hasISODate", reDateTime, hasISODate},
		{"digitShapes.date", reDate, func(s string) bool { return scanHints(s).shapes.date }},
		{"digitShapes.clock", reTime, func(s string) bool { return scanHints(s).shapes.clock }},
		{"digitShapes.clock", reSyslogTime, func(s string) bool { return scanHints(s).shapes.clock }},
		{"hasMonthName", reSyslogTime, hasMonthName},
		{"digitShapes.quad", reIPv4, func(s string) bool { return scanHints(s).shapes.quad }},
		{"digitShapes.dur", reDuration, func(s string) bool { return scanHints(s).shapes.dur }},
		{"lineHints.digit", reNumber, func(s string) bool { return scanHints(s).digit }},
		{"lineHints uuid", reUUID, func(s string) bool { return scanHints(s).uuid }},
		{"lineHints.colon", reDateTime, func(s string) bool { return scanHints(s).colon }},
		{"lineHints.zeroX", reHex0x, func(s string) bool { return scanHints(s).zeroX }},
		{"lineHints.bracket", reIPv6, func(s string) bool { return scanHints(s).bracket }},
		{"lineHints.blob", reBlobRun, func(s string) bool { return scanHints(s).blob }},
	}
	for _, l := range lines {
		for _, g := range guards {
			if g.re.MatchString(l) && !g.guard(l) {
				t.Errorf("%s(%q) = false, but the pattern matches", g.name, l)
			}
		}
		if !scanHints(l).hexID && replaceHexRuns(l) != l {
			t.Errorf("lineHints.hexID(%q) = false, but replaceHexRuns changes it", l)
		}
		var want [][2]int
		for _, m := range reNumber.FindAllStringIndex(l, -1) {
			want = append(want, [2]int{m[0], m[1]})
		}
		if got := numberSpans(l); !equalSpans(got, want) {
			t.Errorf("numberEnd's spans (%q) = %v, want %v", l, got, want)
		}
		if got, want := replaceDateTimes(l), reDateTime.ReplaceAllString(l, phTime); got != want {
			t.Errorf("replaceDateTimes(%q) = %q, want %q", l, got, want)
		}
		for _, r := range []struct {
			name string
			f    func(string) string
			re   *regexp.Regexp
			ph   string
		}{
			{"replaceUUIDs", replaceUUIDs, reUUID, phUUID},
			{"replaceIPv4s", replaceIPv4s, reIPv4, phIP},
			{"replaceSyslogTimes", replaceSyslogTimes, reSyslogTime, phTime},
			{"replaceDurations", replaceDurations, reDuration, phDur},
			{"replaceDates", replaceDates, reDate, phDate},
		} {
			if got, want := r.f(l), r.re.ReplaceAllString(l, r.ph); got != want {
				t.Errorf("%s(%q) = %q, want %q", r.name, l, got, want)
			}
		}
		if got, want := string(bytes.TrimSpace(appendCollapsed(nil, []byte(l)))), strings.TrimSpace(reSpaceRun.ReplaceAllString(l, " ")); got != want {
			t.Errorf("collapseSpace(%q) = %q, want %q", l, got, want)
		}
	}
}

// reBlobRun is what maskBlobs needs before it looks further.
var reBlobRun = regexp.MustCompile(`[0-9A-Za-z+/]{16}`)

// numberSpans finds reNumber's matches as appendNumbersCollapsed does:
// numberEnd at each digit that starts a word, the word skipped when there
// is no number.
func numberSpans(s string) [][2]int {
	var out [][2]int
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		if !isDigit(b[i]) || i > 0 && isWordByte(b[i-1]) {
			continue
		}
		if end := numberEnd(b, i); end >= 0 {
			out = append(out, [2]int{i, end})
			i = end - 1
		}
	}
	return out
}

func equalSpans(a, b [][2]int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// printableASCII's eight-byte test must agree with a byte loop for every
// byte at every place in a word, and across the word's end.
func TestPrintableASCII(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := c >= 0x20 && c < 0x7f || c == '\t'
		for at := 0; at < 19; at++ {
			b := []byte(strings.Repeat("a~ ", 7))
			b[at] = byte(c)
			if got := printableASCII(string(b)); got != want {
				t.Fatalf("printableASCII(%q) = %v", b, got)
			}
		}
	}
}
