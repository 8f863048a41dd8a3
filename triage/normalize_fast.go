package triage

import "strings"

// Hand-written forms of the two patterns that cost most per log line
// (reTime, reHexRun): the same matches, found in one pass without the
// regexp engine's backtracking. normalize_fast_test.go checks them
// against the patterns.

// replaceClockTimes replaces what reTime matches,
// \b\d{1,2}:\d{2}:\d{2}([.,]\d+)?(Z|\s?[AP]M\b)?, with phTime.
func replaceClockTimes(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) || i > 0 && isWordByte(s[i-1]) {
			continue
		}
		end := clockTimeEnd(s, i)
		if end < 0 {
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:i])
		b.WriteString(phTime)
		last = end
		i = end - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// clockTimeEnd returns the end of a clock time starting at s[i], or -1.
func clockTimeEnd(s string, i int) int {
	j := i + 1
	if j < len(s) && isDigit(s[j]) {
		j++
	}
	for range 2 { // ":dd:dd"
		if j+2 >= len(s) || s[j] != ':' || !isDigit(s[j+1]) || !isDigit(s[j+2]) {
			return -1
		}
		j += 3
	}
	if j+1 < len(s) && (s[j] == '.' || s[j] == ',') && isDigit(s[j+1]) {
		j += 2
		for j < len(s) && isDigit(s[j]) {
			j++
		}
	}
	if j < len(s) && s[j] == 'Z' {
		return j + 1
	}
	p := j
	if p < len(s) && (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\f' || s[p] == '\r') {
		p++
	}
	if p+1 < len(s) && (s[p] == 'A' || s[p] == 'P') && s[p+1] == 'M' && (p+2 == len(s) || !isWordByte(s[p+2])) {
		return p + 2
	}
	return j
}

// replaceHexRuns replaces what reHexRun matches, \b[0-9a-fA-F]{7,}\b,
// through hexOrKeep.
func replaceHexRuns(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !isHexByte(s[i]) || i > 0 && isWordByte(s[i-1]) {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && isHexByte(s[j]) {
			j++
		}
		// Inside a run no position is a word boundary: the run matches
		// whole or not at all.
		if j-i < 7 || j < len(s) && isWordByte(s[j]) {
			i = j
			continue
		}
		if r := hexOrKeep(s[i:j]); r != s[i:j] {
			if b.Len() == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[last:i])
			b.WriteString(r)
			last = j
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isHexByte(c byte) bool { return byteClass[c]&clHex != 0 }
