package triage

import (
	"bytes"
	"regexp"
)

// maxBlockLines bounds one evidence block: an error with its context and
// stack trace, shown collapsed where long.
const maxBlockLines = 60

// block is a run of consecutive log lines that belong to one error: its
// first line, the compiler context or stack trace that follows, and a
// header line before it ("In function", a test's name).
type block struct {
	start, end int64
	lines      []string
	category   Category
	indent     int
	prefix     []byte
	prefixAt   int // where prefix stands in the block's lines
	blanks     int // blank lines seen since end, kept if the block goes on
	open       bool
	toBlank    bool // every line up to the next blank one belongs to the block
	trace      traceKind
	traced     bool // a Python traceback ended on the block's last line
}

// traceKind is the stack trace a block is reading: its frames carry the
// block on though they are not indented, up to the line that ends it.
type traceKind uint8

const (
	traceNone   traceKind = iota
	tracePython           // "Traceback (most recent call last):" up to the exception line
	traceGo               // "panic: " or "fatal error: " and its goroutines
)

// LineRange is an inclusive range of 1-based log line numbers.
type LineRange struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// reBlockLead matches a line that introduces the error on the next line:
// gcc's function context, a numbered failure of RSpec/minitest, a pytest
// test header, a traceback's first line, a test runner's failing file.
var reBlockLead = regexp.MustCompile(`: In (?:member )?function |: In instantiation of|^In file included from |^\s+\d+\) \S|^_{3,} .+ _{3,}$|^Traceback \(most recent call last\)|^\s*(?:FAIL|FAILED:) \S`)

// reFailureHeader matches a numbered failure's header that ends with a
// colon ("  1) Failure:", "  2) Error:"): the message, test name and trace
// under it are not indented, and a blank line ends them.
var reFailureHeader = regexp.MustCompile(`^\s*\d+\) .*:$`)

// isBlockLead is reBlockLead with the cheap tests first: it runs on the
// line before every match.
func isBlockLead(line []byte) bool {
	t := line[indentOf(line):]
	if len(t) == 0 {
		return false
	}
	switch {
	case t[0] >= '0' && t[0] <= '9' && len(t) < len(line),
		t[0] == '_' || t[0] == 'T' || t[0] == 'F' || t[0] == 'I',
		bytes.Contains(line, []byte(": In ")):
		return reBlockLead.Match(line)
	}
	return false
}

func isPyTraceStart(text []byte) bool {
	return bytes.HasPrefix(text, []byte("Traceback (most recent call last):"))
}

// isChainLine is the sentence Python prints between chained tracebacks.
func isChainLine(text []byte) bool {
	return bytes.HasPrefix(text, []byte("During handling of the above exception")) ||
		bytes.HasPrefix(text, []byte("The above exception was the direct cause"))
}

// isSeparator reports a rule of dashes or equals signs (unittest's
// between a failing test's name and its traceback).
func isSeparator(text []byte) bool {
	if len(text) < 10 || text[0] != '-' && text[0] != '=' {
		return false
	}
	for _, c := range text {
		if c != text[0] {
			return false
		}
	}
	return true
}

// isGoTraceLine reports a line of a Go panic's goroutine dump that is not
// indented: a goroutine's header, a function with its arguments, "created
// by", the signal a fault reports.
func isGoTraceLine(text []byte) bool {
	switch {
	case bytes.HasPrefix(text, []byte("goroutine ")) && bytes.HasSuffix(text, []byte("]:")),
		bytes.HasPrefix(text, []byte("created by ")), bytes.HasPrefix(text, []byte("[signal ")),
		bytes.HasPrefix(text, []byte("...additional frames elided...")):
		return true
	}
	open := bytes.IndexByte(text, '(')
	return open > 0 && text[len(text)-1] == ')' && bytes.IndexByte(text[:open], ' ') < 0
}

// isCodeFrame reports a compiler's source excerpt ("58 |  code", "   |
// ^^^", "= note: ...").
func isCodeFrame(text []byte) bool {
	t := text[indentOf(text):]
	for len(t) > 0 && t[0] >= '0' && t[0] <= '9' {
		t = t[1:]
	}
	t = t[indentOf(t):]
	return bytes.HasPrefix(t, []byte("|")) || bytes.HasPrefix(t, []byte("│")) || bytes.HasPrefix(t, []byte("╵")) ||
		bytes.HasPrefix(t, []byte("╷")) || bytes.HasPrefix(t, []byte("= note")) || bytes.HasPrefix(t, []byte("= help"))
}

// blockPrefix is the tag a tool puts in front of every line of one
// message ("[ERROR]", "npm ERR!", "#7 ") and where it stands: lines with
// the same tag in the same place carry on the block. The longer tags may
// stand after a wrapper's own prefix ("[0] npm ERR!" from concurrently, a
// clock time a hosting service prints).
func blockPrefix(text []byte) ([]byte, int) {
	for _, p := range [][]byte{[]byte("[ERROR]"), []byte("npm ERR!"), []byte("npm error")} {
		if i := bytes.Index(text[:min(len(text), maxTagOffset+len(p))], p); i >= 0 {
			return p, i
		}
	}
	for _, p := range [][]byte{[]byte("E: "), []byte("e: ")} {
		if bytes.HasPrefix(text, p) {
			return p, 0
		}
	}
	if len(text) > 1 && text[0] == '#' && text[1] >= '0' && text[1] <= '9' {
		if i := bytes.IndexByte(text, ' '); i > 0 {
			return text[:i+1], 0
		}
	}
	return nil, 0
}

// maxTagOffset bounds the wrapper prefix before a tool's tag.
const maxTagOffset = 24

// startBlock opens a block at line n, which a rule of category c matched;
// the line before it joins when it introduces the error.
func (s *LogScanner) startBlock(n int64, text []byte, c Category) *block {
	b := &block{start: n, end: n, category: c, indent: indentOf(text), open: true}
	if p, at := blockPrefix(text); p != nil {
		b.prefix, b.prefixAt = append([]byte(nil), p...), at
	}
	after := int64(0)
	if s.block != nil {
		after = s.block.end
	}
	if lines := s.section.take(n, after); lines != nil {
		b.start = n - int64(len(lines))
		b.lines = lines
	} else if s.ringPos > 0 && n > 1 {
		if prev := s.ring[(s.ringPos-1)%int64(len(s.ring))]; isBlockLead(prev) {
			b.start = n - 1
			b.lines = append(b.lines, string(prev))
		}
	}
	b.lines = append(b.lines, string(truncBytes(text, maxContextLen)))
	b.toBlank = reFailureHeader.MatchString(b.lines[0])
	b.follow(text)
	s.block = b
	return b
}

// section is the lines under the last header of a test's section in
// pytest's report ("____ test_name ____"): an error in it is shown from
// the header on, with the code and frames between, as a person reads it.
type section struct {
	start int64 // the header's line number; 0: none
	lines []string
}

func (c *section) note(n int64, text []byte) {
	switch {
	case len(text) > 0 && text[0] == '_' && rePytestHeader.Match(text):
		c.start, c.lines = n, append(c.lines[:0], string(truncBytes(text, maxContextLen)))
	case c.start == 0:
	case len(c.lines) >= maxBlockLines/2 || bytes.HasPrefix(text, []byte("===")):
		c.start = 0
	default:
		c.lines = append(c.lines, string(truncBytes(text, maxContextLen)))
	}
}

// take returns the section's lines when an error block starts on line n
// under them, from the header on or from the line after the block that
// ended at line after; the section is used up.
func (c *section) take(n, after int64) []string {
	if c.start == 0 || c.start+int64(len(c.lines)) != n {
		return nil
	}
	lines := c.lines
	if skip := after - c.start + 1; skip > 0 {
		lines = lines[min(int64(len(lines)), skip):]
	}
	c.start, c.lines = 0, nil
	if len(lines) == 0 {
		return nil
	}
	return lines
}

var rePytestHeader = regexp.MustCompile(`^_{3,} .+ _{3,}$`)

// follow notes a trace a line of the block opens.
func (b *block) follow(text []byte) {
	switch {
	case isPyTraceStart(text):
		b.trace = tracePython
	case bytes.HasPrefix(text, []byte("panic: ")) || bytes.HasPrefix(text, []byte("fatal error: ")):
		b.trace = traceGo
	}
}

// extendBlock reports whether line n carries on the open block, and adds
// it if so. matched is the category of the rule the line matched ("" for
// none) with its confidence; noise lines end a block.
func (s *LogScanner) extendBlock(n int64, text []byte, matched Category, conf float64, noise bool) bool {
	b := s.block
	if b == nil || !b.open {
		return false
	}
	if len(bytes.TrimSpace(text)) == 0 {
		b.blanks++
		if b.blanks > 1 || b.toBlank {
			b.open = false
		}
		return false
	}
	// Maven's -e prints the error again as an exception with the tool's
	// own trace: that is not more of the error.
	if noise || !b.continues(text, matched, conf) || len(b.lines)+b.blanks >= maxBlockLines ||
		matched != "" && restates(string(text), b.lines[0]) {
		b.open = false
		return false
	}
	for ; b.blanks > 0; b.blanks-- {
		b.lines = append(b.lines, "")
	}
	b.lines = append(b.lines, string(truncBytes(text, maxContextLen)))
	b.end = n
	b.follow(text)
	return true
}

func (b *block) continues(text []byte, matched Category, conf float64) bool {
	ind := indentOf(text)
	last := []byte(b.lines[len(b.lines)-1])
	traced := b.traced
	b.traced = false
	switch {
	case b.toBlank, ind >= max(1, b.indent):
		return true
	case b.trace == tracePython:
		// The first line at the margin after the frames is the
		// exception: it ends the traceback.
		b.trace, b.traced = traceNone, true
		return true
	case b.trace == traceGo && isGoTraceLine(text):
		return true
	case isPyTraceStart(text) && (len(b.lines) == 1 || isSeparator(last) || isChainLine(last)):
		// unittest prints the test, a rule, then the traceback; Python
		// chains tracebacks with a sentence between them.
		return true
	case isSeparator(text) && len(b.lines) == 1:
		return true
	case traced && isChainLine(text):
		return true
	case matched == b.category && conf >= 0.65:
		return true
	case b.prefix != nil && len(text) >= b.prefixAt && bytes.HasPrefix(text[b.prefixAt:], b.prefix):
		return true
	case bytes.HasPrefix(text, []byte("Caused by:")) || isCodeFrame(text):
		return true
	}
	return false
}
