package triage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	maxEventLine    = 1 << 20 // longer go test -json lines are cut (and then not JSON)
	maxNonJSON      = 200
	maxProblemLines = 30
	maxPkgLines     = 40
)

// goEvent is one test2json event. Time is not decoded: nothing here needs it.
type goEvent struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string
	FailedBuild string
}

// "./dir/foo.go:12:3: undefined: x" from the compiler or go vet.
var reGoBuildLoc = regexp.MustCompile(`^(?:\./)?([\w./-]+\.go):(\d+)(?::\d+)?: (.*)`)

type goPkg struct {
	started, ended bool
	active         map[string]int // test name -> index in Results.Tests of its unfinished run
	lines          []string       // last package-level output lines
	failedTests    int
	problems       int // problems recorded for this package
	collecting     int // index of a Problem still collecting lines, or -1
	frameCol       *frameCollector
	prevLine       string
}

type goParser struct {
	res      *Results
	pkgs     map[string]*goPkg
	order    []string
	build    map[string][]string // ImportPath -> build output
	reported map[string]bool     // build outputs a package's fail event named (FailedBuild)
	attempts map[string]int
	events   int
}

// ParseGoTestJSON reads a go test -json (test2json) stream. Every test run
// gets exactly one final outcome; a test that started and never ended is
// OutcomeIncomplete. Package-level problems (build and setup failures,
// panics, timeouts, races) are reported in Results.Problems; lines that are
// not JSON are kept (bounded) in Results.NonJSON. An error is returned for
// unreadable input or a stream with no test2json event at all.
func ParseGoTestJSON(r io.Reader) (*Results, error) {
	p := &goParser{
		res:      &Results{Format: "go-test-json"},
		pkgs:     map[string]*goPkg{},
		build:    map[string][]string{},
		reported: map[string]bool{},
		attempts: map[string]int{},
	}
	lr := newLineReader(r, maxEventLine)
	for {
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("go test -json: line %d: %w", lr.n+1, err)
		}
		var ev goEvent
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' || lr.truncated || !parseEvent(line, &ev) || ev.Action == "" {
			p.nonJSON(lr.n, string(line))
			continue
		}
		p.events++
		p.event(&ev)
	}
	if p.events == 0 {
		if p.res.NonJSONCount == 0 {
			return nil, errors.New("go test -json: empty input")
		}
		return nil, fmt.Errorf("go test -json: no test2json events in %d lines (first: %q)", p.res.NonJSONCount, oneLine(p.res.NonJSON[0].Text, 80))
	}
	p.finish()
	return p.res, nil
}

// parseEvent decodes one event: the fast path, or encoding/json when the
// fast path does not understand the line.
func parseEvent(line []byte, ev *goEvent) bool {
	if decodeEvent(line, ev) {
		return true
	}
	*ev = goEvent{}
	return json.Unmarshal(line, ev) == nil
}

func (p *goParser) nonJSON(n int64, text string) {
	p.res.NonJSONCount++
	if len(p.res.NonJSON) < maxNonJSON {
		p.res.NonJSON = append(p.res.NonJSON, NumberedLine{Line: n, Text: oneLine(text, maxContextLen)})
	}
}

func (p *goParser) pkg(name string) *goPkg {
	g := p.pkgs[name]
	if g == nil {
		g = &goPkg{active: map[string]int{}, collecting: -1}
		p.pkgs[name] = g
		p.order = append(p.order, name)
	}
	return g
}

func (p *goParser) event(ev *goEvent) {
	switch ev.Action {
	case "build-output":
		if b := p.build[ev.ImportPath]; len(b) < maxProblemLines {
			p.build[ev.ImportPath] = append(b, strings.TrimRight(ev.Output, "\n"))
		}
		return
	case "build-fail":
		return
	}
	g := p.pkg(ev.Package)
	switch ev.Action {
	case "start":
		g.started = true
	case "run":
		p.run(g, ev)
	case "output":
		p.output(g, ev)
	case "pass", "fail", "skip":
		if ev.Test != "" {
			p.end(g, ev)
		} else {
			p.endPackage(g, ev)
		}
	}
}

func (p *goParser) run(g *goPkg, ev *goEvent) {
	if i, ok := g.active[ev.Test]; ok { // a second run without an end for the first
		p.res.Tests[i].Outcome = OutcomeIncomplete
	}
	id := TestID(ev.Package, ev.Test)
	p.attempts[id]++
	tc := TestCase{Package: ev.Package, Name: ev.Test, Attempt: p.attempts[id], Outcome: OutcomeIncomplete,
		Parent: parentTest(ev.Test, func(n string) bool { _, ok := g.active[n]; return ok })}
	g.active[ev.Test] = len(p.res.Tests)
	p.res.Tests = append(p.res.Tests, tc)
}

func (p *goParser) output(g *goPkg, ev *goEvent) {
	text := strings.TrimRight(ev.Output, "\n")
	i, inTest := g.active[ev.Test]
	if ev.Test != "" && inTest {
		tc := &p.res.Tests[i]
		if len(tc.Output)+len(ev.Output) <= MaxTestOutput {
			tc.Output += ev.Output
		}
	} else if len(g.lines) < maxPkgLines {
		g.lines = append(g.lines, text)
	} else {
		copy(g.lines, g.lines[1:])
		g.lines[len(g.lines)-1] = text
	}
	p.detect(g, ev, text)
}

// detect finds package-level problems in output lines and keeps
// collecting the lines and frames that follow them.
func (p *goParser) detect(g *goPkg, ev *goEvent, text string) {
	if g.collecting >= 0 {
		if p.res.Problems[g.collecting].reportLine(text, g.prevLine) {
			g.collecting = -1
		}
	}
	g.prevLine = text
	trimmed := strings.TrimSpace(text)
	var kind ProblemKind
	switch {
	case strings.HasPrefix(trimmed, "panic: test timed out after"):
		kind = ProblemTimeout
	case strings.HasPrefix(text, "panic: ") || strings.HasPrefix(text, "fatal error: "):
		kind = ProblemPanic
	case trimmed == "WARNING: DATA RACE":
		kind = ProblemRace
	default:
		return
	}
	test := ev.Test
	if test == "" && len(g.active) == 1 {
		for name := range g.active {
			test = name
		}
	}
	if kind == ProblemPanic && test != "" {
		if i, ok := g.active[test]; ok && !strings.HasPrefix(p.res.Tests[i].Message, "panic") {
			p.res.Tests[i].Message = trimmed
		}
	}
	p.res.Problems = append(p.res.Problems, Problem{Kind: kind, Package: ev.Package, Test: test, Message: trimmed})
	g.problems++
	g.collecting = len(p.res.Problems) - 1
	g.frameCol = &frameCollector{}
}

func (p *goParser) end(g *goPkg, ev *goEvent) {
	i, ok := g.active[ev.Test]
	if !ok { // an end without a run event: record the test anyway
		p.run(g, ev)
		i = g.active[ev.Test]
	}
	delete(g.active, ev.Test)
	tc := &p.res.Tests[i]
	tc.Duration = time.Duration(ev.Elapsed * float64(time.Second))
	switch ev.Action {
	case "pass":
		tc.Outcome = OutcomePass
		tc.Output, tc.Message, tc.File, tc.Line = "", "", "", 0
	case "skip":
		tc.Outcome = OutcomeSkip
		tc.Output = ""
	case "fail":
		tc.Outcome = OutcomeFail
		g.failedTests++
		if !strings.HasPrefix(tc.Message, "panic") {
			tc.File, tc.Line, tc.Message = goFailureMessage(tc.Output)
		}
	}
}

func (p *goParser) endPackage(g *goPkg, ev *goEvent) {
	g.ended = true
	g.collecting = -1
	p.closeActive(g)
	if ev.Action != "fail" {
		return
	}
	text := strings.Join(g.lines, "\n")
	switch {
	case ev.FailedBuild != "" || strings.Contains(text, "[build failed]") || strings.Contains(text, "[setup failed]"):
		kind := ProblemBuildFailed
		if strings.Contains(text, "[setup failed]") {
			kind = ProblemSetupFailed
		}
		p.res.Problems = append(p.res.Problems, goDiagnostics(kind, ev.Package, p.build[ev.FailedBuild])...)
		// FailedBuild may name what failed to build rather than the
		// package (a module that could not be downloaded).
		p.reported[ev.FailedBuild] = true
	case g.failedTests == 0 && g.problems == 0:
		msg := "package failed without a failing test"
		for _, l := range g.lines {
			if t := strings.TrimSpace(l); t != "" && t != "FAIL" && !strings.HasPrefix(t, "FAIL\t") && !strings.HasPrefix(t, "ok ") {
				msg = t
				break
			}
		}
		p.res.Problems = append(p.res.Problems, Problem{Kind: ProblemFailed, Package: ev.Package, Message: oneLine(msg, 300), Output: lastN(g.lines, 10)})
	}
}

// closeActive ends the runs of a package that never got an end event. A
// run that panicked failed; the others are incomplete.
func (p *goParser) closeActive(g *goPkg) {
	for name, i := range g.active {
		tc := &p.res.Tests[i]
		if strings.HasPrefix(tc.Message, "panic: ") && !strings.HasPrefix(tc.Message, "panic: test timed out") {
			tc.Outcome = OutcomeFail
		} else {
			tc.Outcome = OutcomeIncomplete
		}
		delete(g.active, name)
	}
}

func (p *goParser) finish() {
	for _, name := range p.order {
		g := p.pkgs[name]
		if len(g.active) > 0 || g.started && !g.ended {
			p.closeActive(g)
			p.res.Problems = append(p.res.Problems, Problem{Kind: ProblemNoEnd, Package: name,
				Message: "package started but no final pass/fail event was seen (output cut short?)", Output: lastN(g.lines, 10)})
		}
	}
	// Build failures reported without a package fail event (older Go).
	ips := make([]string, 0, len(p.build))
	for ip := range p.build {
		ips = append(ips, ip)
	}
	sort.Strings(ips)
	for _, ip := range ips {
		out := p.build[ip]
		found := p.reported[ip]
		for _, pr := range p.res.Problems {
			if pr.Kind == ProblemBuildFailed || pr.Kind == ProblemSetupFailed || pr.Kind == ProblemVet {
				if strings.HasPrefix(ip, pr.Package) {
					found = true
				}
			}
		}
		if !found && len(out) > 1 {
			p.res.Problems = append(p.res.Problems, goDiagnostics(ProblemBuildFailed, firstField(ip), out)...)
		}
	}
}

// firstField is the import path without a " [pkg.test]" suffix.
func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return s
}

func lastN(l []string, n int) []string {
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return append([]string(nil), l...)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// parentTest is the test a subtest runs under: the longest running test
// whose name, followed by "/", starts the subtest's name. A subtest's own
// name may hold slashes (t.Run("valid/bool", ...)), so the last slash
// alone does not tell.
func parentTest(name string, running func(string) bool) string {
	for i := strings.LastIndexByte(name, '/'); i > 0; i = strings.LastIndexByte(name[:i], '/') {
		if running(name[:i]) {
			return name[:i]
		}
	}
	if i := strings.LastIndexByte(name, '/'); i > 0 {
		return name[:i]
	}
	return ""
}

// goDiagnostics makes one problem per diagnostic the go command printed
// for a package ("file.go:12:3: undefined: x", or "go: ..." when a module
// could not be had); the lines under a "# [pkg]" header are go vet's.
// With no diagnostic line, the package's output is one problem.
func goDiagnostics(kind ProblemKind, pkg string, out []string) []Problem {
	var prs []Problem
	k := kind
	detail := false // the last line was a diagnostic or its detail
	for _, l := range out {
		if detail && strings.HasPrefix(l, "\t") {
			prs[len(prs)-1].addDetail(l)
			continue
		}
		detail = false
		if strings.HasPrefix(l, "# ") {
			k = kind
			if strings.HasPrefix(l, "# [") {
				k = ProblemVet
			}
			continue
		}
		if m := reGoBuildLoc.FindStringSubmatch(l); m != nil {
			prs = append(prs, Problem{Kind: k, Package: pkg, File: m[1], Line: atoi(m[2]), Message: m[3], Output: out})
			detail = true
		} else if isGoCommandError(l) {
			prs = append(prs, Problem{Kind: k, Package: pkg, Message: l, Output: out})
		}
	}
	if len(prs) > 0 {
		return prs
	}
	msg := "build failed"
	if kind == ProblemSetupFailed {
		msg = "setup failed"
	}
	return []Problem{{Kind: kind, Package: pkg, Output: out, Message: msg}}
}

// maxDiagDetail bounds the detail lines kept under one diagnostic.
const maxDiagDetail = 20

// addDetail keeps a line the compiler indented under the diagnostic.
func (p *Problem) addDetail(l string) {
	if len(p.Detail) < maxDiagDetail {
		p.Detail = append(p.Detail, l)
	}
}

// isGoCommandError reports a "go: ..." line that is an error rather than
// progress ("go: downloading ...").
func isGoCommandError(l string) bool {
	rest, ok := strings.CutPrefix(l, "go: ")
	if !ok {
		return false
	}
	for _, p := range []string{"downloading ", "finding ", "extracting ", "added ", "upgraded ", "found ", "to add module requirements", "warning: "} {
		if strings.HasPrefix(rest, p) {
			return false
		}
	}
	return true
}
