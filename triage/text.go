package triage

import (
	"strings"
	"unicode/utf8"
)

// The small text helpers every layer uses to show failures, runs and
// commits. They live here, at the bottom of the import graph, so that the
// dashboard, the check-run report, the GitHub issues and the database all
// cut text the same way.

// ellipsis marks a cut.
const ellipsis = "…"

// FirstLine is the first line of s, leading and trailing blank space of s
// left out (an error message that starts with a newline still says
// something).
func FirstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// shortSHALen keeps an abbreviated commit unambiguous in large repositories
// (the Linux kernel's convention); the abbreviations are stored in reasons
// and timelines, so they must stay valid as a repository grows.
const shortSHALen = 12

// ShortSHA abbreviates a commit hash for people.
func ShortSHA(sha string) string {
	if len(sha) > shortSHALen {
		return sha[:shortSHALen]
	}
	return sha
}

// Clip shortens s to at most n characters (runes), marking the cut with an
// ellipsis that counts as one of the n.
func Clip(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			break
		}
		count++
	}
	return s[:i] + ellipsis
}

// ClipBytes shortens s to at most n bytes without splitting a character,
// marking the cut with an ellipsis that counts toward the n bytes (when n
// leaves no room for it, the cut is unmarked).
func ClipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	mark := ellipsis
	if n < len(mark) {
		mark = ""
	}
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut-- // back to the first byte of the character the cut would split
	}
	return s[:cut] + mark
}
