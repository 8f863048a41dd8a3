package triage

import (
	"container/heap"
	"regexp"
	"strings"
)

// matchHeap keeps the best matches: a min-heap whose root is the weakest
// kept match (lowest score, then latest line: earlier errors are usually
// the cause of later ones).
type matchHeap struct{ items []*Match }

func (h *matchHeap) Len() int { return len(h.items) }
func (h *matchHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	return a.Line > b.Line
}
func (h *matchHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *matchHeap) Push(x any)    { h.items = append(h.items, x.(*Match)) }
func (h *matchHeap) Pop() any {
	last := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return last
}

// wants reports whether a new match with score would be kept.
func (h *matchHeap) wants(score float64, limit int) bool {
	return len(h.items) < limit || score > h.items[0].Score
}

func (h *matchHeap) add(m *Match, limit int) {
	if len(h.items) < limit {
		heap.Push(h, m)
		return
	}
	h.items[0] = m
	heap.Fix(h, 0)
}

// frameCollector gathers the first stack frames printed after a match.
type frameCollector struct {
	m     *Match
	lines int
	prev  string // Go prints the function on the line before its file:line
}

const (
	maxFrames     = 3
	frameLookhead = 60
)

func feedFrames(fcs []*frameCollector, text []byte) []*frameCollector {
	kept := fcs[:0]
	for _, fc := range fcs {
		fc.lines++
		if f, ok := parseFrame(string(text), fc.prev); ok {
			fc.m.Frames = append(fc.m.Frames, f)
		}
		fc.prev = string(truncBytes(text, maxContextLen))
		if fc.lines < frameLookhead && len(fc.m.Frames) < maxFrames {
			kept = append(kept, fc)
		}
	}
	return kept
}

var (
	reGoFrameFile = regexp.MustCompile(`^\t\S+\.(go|s):\d+`)
	rePyFrame     = regexp.MustCompile(`^\s*File "([^"]+)", line \d+, in (\S+)`)
	reJavaFrame   = regexp.MustCompile(`^\s+at ([\w$.<>/]+)\(`)
	reJSFrame     = regexp.MustCompile(`^\s+at (?:(\S+) \()?(?:file://)?([^()\s]+?)(?::\d+)+\)?$`)
	reArgs        = regexp.MustCompile(`\(.*\)$`)
)

// parseFrame recognises one frame of a Go, Python, JVM or JavaScript stack
// trace and returns it in a machine-independent form (function and file
// base name, no paths, arguments or line numbers). Frames of the runtime
// and test harness are skipped: they are the same for every failure.
func parseFrame(line, prev string) (string, bool) {
	switch {
	case strings.HasPrefix(line, "\t") && reGoFrameFile.MatchString(line):
		fn := reArgs.ReplaceAllString(strings.TrimSpace(prev), "")
		if fn == "" || strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "testing.") ||
			strings.HasPrefix(fn, "panic") || strings.HasPrefix(fn, "created by") || fn == "main.main" {
			return "", false
		}
		return Normalize(fn), true
	case strings.Contains(line, `File "`):
		if m := rePyFrame.FindStringSubmatch(line); m != nil {
			if strings.Contains(m[1], "site-packages") || strings.Contains(m[1], "/lib/python") {
				return "", false
			}
			return Normalize(baseName(m[1]) + " " + m[2]), true
		}
	case strings.Contains(line, "at "):
		if m := reJavaFrame.FindStringSubmatch(line); m != nil && isJVMFrame(line) {
			if strings.HasPrefix(m[1], "java.") || strings.HasPrefix(m[1], "jdk.") ||
				strings.HasPrefix(m[1], "sun.") || strings.HasPrefix(m[1], "org.junit.") {
				return "", false
			}
			return Normalize(m[1]), true
		}
		if m := reJSFrame.FindStringSubmatch(line); m != nil {
			if strings.Contains(m[2], "node_modules") || strings.HasPrefix(m[2], "node:") {
				return "", false
			}
			return Normalize(strings.TrimSpace(m[1] + " " + baseName(m[2]))), true
		}
	}
	return "", false
}

func isJVMFrame(line string) bool {
	for _, ext := range []string{".java:", ".kt:", ".scala:", ".groovy:", "(Native Method)", "(Unknown Source)"} {
		if strings.Contains(line, ext) {
			return true
		}
	}
	return false
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// oneLine returns the first line of s, trimmed and cut to n bytes.
func oneLine(s string, n int) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = strings.TrimSpace(cutRunes(s, n-3)) + "..."
	}
	return s
}
