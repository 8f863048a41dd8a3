package triage

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var reSourceLoc = regexp.MustCompile(`([\w./\\-]+\.(?:py|js|jsx|ts|tsx|mjs|cjs|java|kt|scala|groovy|go|rb|rs|cs|cpp|cc|c|h|php|swift|ex|exs)):(\d+)`)

// ParseJUnit reads JUnit XML as written by Maven Surefire, Gradle, pytest
// --junitxml, jest-junit, gotestsum, mocha and similar tools: a testsuites
// or testsuite root, suites nested to any depth, testcases with failure,
// error and skipped children (error wins over failure, failure over
// skipped) or a status attribute. Bad UTF-8 and characters XML forbids are
// replaced rather than rejected. Empty input, non-XML, XML that is not JUnit
// and truncated documents are errors.
func ParseJUnit(r io.Reader) (*Results, error) { return ParseJUnitMax(r, 0) }

// ParseJUnitMax is ParseJUnit keeping at most maxTests test cases (CapTests;
// 0: all), with memory bounded by the cap rather than by the file: the
// document is streamed, and the cases kept are cut back to the cap whenever
// they reach twice it.
func ParseJUnitMax(r io.Reader, maxTests int) (*Results, error) {
	br := bufio.NewReaderSize(r, 64*1024)
	if err := sniffXML(br); err != nil {
		return nil, err
	}
	sc := newXMLScanner(&xmlSanitizer{r: br, entity: -1})
	p := &junitParser{res: &Results{Format: "junit"}, attempts: map[string]int{}, max: maxTests}
	for {
		tok, err := sc.next()
		if err != nil {
			return nil, fmt.Errorf("junit: %w", err)
		}
		switch tok {
		case tokStart:
			err = p.startElement(string(sc.local()), sc)
		case tokEnd:
			p.endElement(string(sc.local()))
		case tokText:
			p.charData(sc.text)
		}
		if err != nil {
			return nil, err
		}
		if tok == tokEOF {
			break
		}
	}
	return p.finish()
}

// finish checks that a whole JUnit document was read.
func (p *junitParser) finish() (*Results, error) {
	if !p.rootSeen {
		return nil, errors.New("junit: no root element")
	}
	if p.depth != 0 {
		return nil, errors.New("junit: document is truncated")
	}
	p.cap(p.max)
	return p.res, nil
}

// sniffXML rejects empty and obviously non-XML input with a clear error.
func sniffXML(br *bufio.Reader) error {
	for {
		b, err := br.Peek(1)
		if err == io.EOF {
			return errors.New("junit: empty input")
		}
		if err != nil {
			return fmt.Errorf("junit: %w", err)
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			br.ReadByte()
			continue
		case 0xEF: // UTF-8 byte order mark
			if bom, _ := br.Peek(3); string(bom) == "\xEF\xBB\xBF" {
				br.Discard(3)
				continue
			}
		case '<':
			return nil
		}
		head, _ := br.Peek(40)
		return fmt.Errorf("junit: not XML (starts with %q)", oneLine(string(head), 40))
	}
}

type junitParser struct {
	res      *Results
	rootSeen bool
	depth    int
	suites   []int // stack of indexes into res.Suites
	tc       *TestCase
	inText   string // "failure", "error", "skipped", "system-out", "system-err" or ""
	text     strings.Builder
	textAttr string // message attribute of the result element
	result   Outcome
	attempts map[string]int
	max      int // test cases to keep; 0: all
}

// cap cuts the cases kept back to n.
func (p *junitParser) cap(n int) {
	var dropped int
	p.res.Tests, dropped = CapTests(p.res.Tests, n)
	p.res.Dropped += dropped
}

// xmlAttrs gives a start tag's attribute values by local name ("" when
// absent).
type xmlAttrs interface{ attr(name string) string }

func attrInt(a xmlAttrs, name string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(a.attr(name)))
	return n
}

func (p *junitParser) startElement(name string, a xmlAttrs) error {
	p.depth++
	if !p.rootSeen {
		p.rootSeen = true
		if name != "testsuites" && name != "testsuite" {
			return fmt.Errorf("junit: not JUnit XML: root element is <%s>, want <testsuites> or <testsuite>", name)
		}
	}
	switch name {
	case "testsuite":
		p.res.Suites = append(p.res.Suites, Suite{Name: a.attr("name"), Tests: attrInt(a, "tests"),
			Failures: attrInt(a, "failures"), Errors: attrInt(a, "errors"),
			Skipped: attrInt(a, "skipped") + attrInt(a, "disabled")})
		p.suites = append(p.suites, len(p.res.Suites)-1)
	case "testcase":
		p.startCase(a)
	case "failure", "error", "skipped", "system-out", "system-err":
		if p.tc != nil {
			p.startResult(name, a)
		}
	}
	return nil
}

func (p *junitParser) endElement(name string) {
	p.depth--
	switch name {
	case "testsuite":
		if len(p.suites) > 0 {
			p.suites = p.suites[:len(p.suites)-1]
		}
	case "testcase":
		p.endCase()
	case "failure", "error", "skipped", "system-out", "system-err":
		p.endResult(name)
	}
}

func (p *junitParser) charData(t []byte) {
	if p.inText != "" && p.text.Len() < MaxTestOutput {
		room := MaxTestOutput - p.text.Len()
		if len(t) > room {
			t = t[:room]
		}
		p.text.Write(t)
	}
}

func (p *junitParser) startCase(a xmlAttrs) {
	class := a.attr("classname")
	if class == "" {
		class = a.attr("class")
	}
	tc := &TestCase{Package: class, Name: a.attr("name"), Outcome: OutcomePass, File: a.attr("file"), Line: attrInt(a, "line")}
	if secs, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(a.attr("time")), ",", ""), 64); err == nil && secs > 0 {
		tc.Duration = time.Duration(secs * float64(time.Second))
	}
	switch strings.ToLower(a.attr("status")) {
	case "disabled", "skipped", "skip", "notrun", "ignored":
		tc.Outcome = OutcomeSkip
	case "failed", "failure", "fail":
		tc.Outcome = OutcomeFail
	case "errored", "error":
		tc.Outcome = OutcomeError
	}
	p.tc = tc
	if len(p.suites) > 0 {
		p.res.Suites[p.suites[len(p.suites)-1]].Cases++
	}
}

func (p *junitParser) startResult(name string, a xmlAttrs) {
	p.inText = name
	p.text.Reset()
	p.textAttr = a.attr("message")
	var o Outcome
	switch name {
	case "failure":
		o = OutcomeFail
	case "error":
		o = OutcomeError
	case "skipped":
		o = OutcomeSkip
	default:
		return
	}
	if severity(o) > severity(p.tc.Outcome) {
		p.tc.Outcome = o
	}
}

func (p *junitParser) endResult(name string) {
	if p.tc == nil || p.inText != name {
		return
	}
	body := strings.TrimSpace(p.text.String())
	p.inText = ""
	p.text.Reset()
	if name == "system-out" || name == "system-err" {
		if len(p.tc.Output)+len(body) < MaxTestOutput && body != "" {
			p.tc.Output += body + "\n"
		}
		return
	}
	msg := pickMessage(p.textAttr, body)
	// The most severe result names the message (error over failure over skip).
	if p.tc.Message == "" || outcomeOf(name) == p.tc.Outcome {
		p.tc.Message = oneLine(msg, 1000)
		if body != "" {
			p.tc.Output = body + "\n"
		}
	}
	if p.tc.File == "" || p.tc.Line == 0 {
		if m := reSourceLoc.FindStringSubmatch(msg + "\n" + body); m != nil {
			if p.tc.File == "" {
				p.tc.File = m[1]
			}
			if p.tc.Line == 0 && (p.tc.File == m[1] || strings.HasSuffix(p.tc.File, baseName(m[1]))) {
				p.tc.Line = atoi(m[2])
			}
		}
	}
}

func outcomeOf(elem string) Outcome {
	switch elem {
	case "failure":
		return OutcomeFail
	case "error":
		return OutcomeError
	case "skipped":
		return OutcomeSkip
	}
	return ""
}

func (p *junitParser) endCase() {
	if p.tc == nil {
		return
	}
	tc := *p.tc
	p.tc = nil
	tc.Attempt = 1
	// Past a cap, cases not seen before are first attempts and are not
	// remembered: the map of ids would otherwise grow with the file.
	if id := tc.ID(); id != "" && (p.max <= 0 || len(p.attempts) < 4*p.max || p.attempts[id] > 0) {
		p.attempts[id]++
		tc.Attempt = p.attempts[id]
	}
	if tc.Outcome == OutcomePass {
		tc.Output = ""
	}
	p.res.Tests = append(p.res.Tests, tc)
	if p.max > 0 && len(p.res.Tests) >= 2*p.max {
		p.cap(p.max)
	}
}

// pickMessage prefers the message attribute unless it is a bare word
// ("Failed", as gotestsum writes), then the first line of the body that
// reads like an assertion, then its first line that is not test-runner
// chatter.
func pickMessage(attrMsg, body string) string {
	msg := strings.TrimSpace(attrMsg)
	switch strings.ToLower(msg) {
	case "", "failed", "failure", "error", "errored", "skipped", "skip":
	default:
		return msg
	}
	first := ""
	for _, l := range strings.Split(body, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") {
			continue
		}
		if reGoTestLoc.MatchString(" "+l) || reSourceLoc.MatchString(l) && strings.Contains(l, ": ") {
			return l
		}
		if first == "" {
			first = l
		}
	}
	if first == "" {
		return msg
	}
	return first
}
