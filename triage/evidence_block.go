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
}

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
	if s.ringPos > 0 && n > 1 {
		if prev := s.ring[(s.ringPos-1)%int64(len(s.ring))]; isBlockLead(prev) {
			b.start = n - 1
			b.lines = append(b.lines, string(prev))
		}
	}
	b.lines = append(b.lines, string(truncBytes(text, maxContextLen)))
	b.toBlank = reFailureHeader.MatchString(b.lines[0])
	s.block = b
	return b
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
	if noise || !b.continues(text, matched, conf) || len(b.lines)+b.blanks >= maxBlockLines {
		b.open = false
		return false
	}
	for ; b.blanks > 0; b.blanks-- {
		b.lines = append(b.lines, "")
	}
	b.lines = append(b.lines, string(truncBytes(text, maxContextLen)))
	b.end = n
	return true
}

func (b *block) continues(text []byte, matched Category, conf float64) bool {
	ind := indentOf(text)
	switch {
	case b.toBlank, ind >= max(1, b.indent):
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
