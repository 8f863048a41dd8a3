package triage

import (
	"bytes"
	"io"
	"regexp"
	"strings"
)

// A plain go test log (no -json: `go test ./...`, `make test`) says the
// same things as test2json, in lines: "=== RUN" and "--- FAIL:" frame each
// test's output, "ok"/"FAIL" lines name the package after its tests, "#
// pkg" heads the compiler's and vet's diagnostics. goTextParser reads them
// into Results, so that plain logs give one failure per failing test, with
// its message block and location, like -json streams do.

var (
	// "\t\tTestName (1s)" under "running tests:" of a -timeout panic.
	reGoTextRunning = regexp.MustCompile(`^\s+(\S+) \([\d.hmsµn]+\)$`)
	// A command line of the log that runs the go command ("+ go vet ./...",
	// "Run go test ./...", "$ go build").
	// A step named for go vet ("vet", "go vet", "lint: vet").
	reVetStep   = regexp.MustCompile(`(?i)(?:^|\W)vet(?:$|\W)`)
	reGoCommand = regexp.MustCompile(`(?:^|[\s;&|$+>])go (vet|build|test|install|run|mod|generate)\b`)
)

type goTextParser struct {
	res *Results
	// tests and problems of the package whose "ok"/"FAIL" line has not
	// come yet; the line names their package.
	tests    []int
	byName   map[string]int
	problems []int

	marker       int // test whose "--- FAIL:" block is being read, or -1
	markerIndent int
	chatty       int // test named by the last "=== RUN/CONT/NAME", or -1

	collecting int // problem (panic, race, timeout) collecting lines, or -1
	lastDiag   int // problem of the diagnostic on the previous line (or its detail), or -1
	runningTO  bool
	prevLine   string // the line before, read only while collecting (see passOver)

	diagKind ProblemKind // under a "# pkg" header: "" when not
	diagPkg  string
	goCmd    bool // the go command spoke ("go: ..."): its diagnostics follow
	vetCmd   bool // the log ran go vet: diagnostics are findings, not compile errors

	partial []byte // Write's unfinished line

	// forAnalysis keeps only the tests Analyze reads (see dropSettled).
	forAnalysis bool
	lastFail    map[string]int // test ID → its last failing run kept, with forAnalysis
	moved       []int          // dropSettled's scratch: a test's index after the drop
	idBuf       []byte
	drop        []bool // dropSettled's scratch: tests to forget
}

func newGoTextParser() *goTextParser {
	return &goTextParser{res: &Results{Format: "go-test-text"}, byName: map[string]int{},
		marker: -1, chatty: -1, collecting: -1, lastDiag: -1}
}

// ParseGoTestText reads the plain output of go test, go build and go vet.
// Results hold the tests it names and the package problems it shows; a
// log with neither gives empty Results.
func ParseGoTestText(r io.Reader) (*Results, error) {
	p := newGoTextParser()
	lr := newLineReader(r, maxEventLine)
	for {
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		p.line(string(line))
	}
	return p.finish(), nil
}

// Write feeds log bytes, so the parser can read a log another reader is
// reading (io.TeeReader).
func (p *goTextParser) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(p.partial) < maxEventLine {
				p.partial = append(p.partial, b[:min(len(b), maxEventLine-len(p.partial))]...)
			}
			break
		}
		if len(p.partial) > 0 {
			p.partial = append(p.partial, b[:min(i, max(0, maxEventLine-len(p.partial)))]...)
			p.feed(p.partial)
			p.partial = p.partial[:0]
		} else {
			p.feed(b[:i])
		}
		b = b[i+1:]
	}
	return n, nil
}

// feed reads one line Write was given. Most lines of a log are none of go
// test's business: they are passed over on the bytes, without making a
// string of each.
func (p *goTextParser) feed(b []byte) {
	b = bytes.TrimRight(b, "\r")
	if !p.passOver(cutTimestamp(b)) {
		p.line(string(b))
	}
}

// passOver does for line l (without its timestamp) what line would, and
// reports true, when l can only end the test block being read: a line at
// the margin that starts none of the forms line reads and names neither
// the go command nor a Go file, or an indented line no test, marker or
// diagnostic is reading, read while no report is being collected.
// It does not keep l as prevLine: a report is only ever collected from the
// line after the one that starts it, which line reads.
func (p *goTextParser) passOver(l []byte) bool {
	if p.collecting >= 0 || len(l) == 0 {
		return false
	}
	if l[0] == ' ' || l[0] == '\t' {
		// An indented line is the output of the test being reported
		// or a diagnostic's detail, or a subtest's marker: with none
		// of those, line would drop it.
		return p.chatty < 0 && p.marker < 0 && p.lastDiag < 0 && !bytes.HasPrefix(bytes.TrimLeft(l, " "), []byte("--- "))
	}
	if strings.IndexByte("-=pfW#goF?", l[0]) >= 0 ||
		bytes.Contains(l, []byte("go ")) || bytes.Contains(l, []byte(".go:")) {
		return false
	}
	p.lastDiag, p.marker = -1, -1
	return true
}

func (p *goTextParser) line(l string) {
	l = cutTimestamp(l)
	prev := p.prevLine
	p.prevLine = l
	if p.collecting >= 0 && p.collect(l, prev) {
		return
	}
	if l == "" {
		p.lastDiag = -1
		return
	}
	if l[0] == '\t' && p.lastDiag >= 0 {
		p.res.Problems[p.lastDiag].addDetail(l)
		return
	}
	p.lastDiag = -1
	if l[0] == ' ' || l[0] == '\t' {
		p.indented(l)
		return
	}
	switch {
	case strings.HasPrefix(l, "--- "):
		if indent, outcome, name, ok := goTextMarker(l); ok {
			p.mark(indent, outcome, name)
			return
		}
	case strings.HasPrefix(l, "=== "):
		verb, name, _ := strings.Cut(l[4:], " ")
		name = strings.TrimLeft(name, " ")
		if name != "" && !strings.Contains(name, " ") && (verb == "RUN" || verb == "CONT" || verb == "NAME" || verb == "PAUSE") {
			p.marker = -1
			if verb == "RUN" {
				p.chatty = p.newTest(name)
			} else if i, ok := p.byName[name]; ok {
				p.chatty = i
			}
			return
		}
	case strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: "):
		p.problem(ProblemPanic, l)
		return
	case l == "WARNING: DATA RACE":
		p.problem(ProblemRace, l)
		return
	case strings.HasPrefix(l, "# "):
		p.header(l[2:])
		return
	case strings.HasPrefix(l, "go: "):
		p.goCmd = true
		if isGoCommandError(l) {
			p.addProblem(Problem{Kind: ProblemBuildFailed, Package: p.diagPkg, Message: l, Output: []string{l}})
		}
		return
	case strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "FAIL") || strings.HasPrefix(l, "? "):
		if status, pkg, rest, ok := goTextPackageEnd(l); ok {
			p.endPackage(status, pkg, rest)
			return
		}
	}
	if (p.diagKind != "" || p.goCmd || p.vetCmd) && strings.Contains(l, ".go:") {
		if m := reGoBuildLoc.FindStringSubmatch(l); m != nil {
			kind := p.diagKind
			if kind == "" && p.vetCmd {
				kind = ProblemVet
			} else if kind == "" {
				kind = ProblemBuildFailed
			}
			p.addProblem(Problem{Kind: kind, Package: p.diagPkg, File: m[1], Line: atoi(m[2]), Message: m[3], Output: []string{l}})
			p.lastDiag = len(p.res.Problems) - 1
			return
		}
	}
	if strings.Contains(l, "go ") {
		if m := reGoCommand.FindStringSubmatch(l); m != nil {
			p.vetCmd = m[1] == "vet"
			p.goCmd = true
		}
	}
	// Anything else at the margin (a fmt.Println of a test) ends a block.
	p.marker = -1
}

// goTextPackageEnd reads the line go test prints after a package's tests:
// "ok", "FAIL" or "?", white space, the package, and optionally white space
// and the rest ("0.012s", "[no test files]", "[build failed]"). White space
// is RE2's \s: tab, newline, form feed, carriage return and space.
func goTextPackageEnd(l string) (status, pkg, rest string, ok bool) {
	switch {
	case strings.HasPrefix(l, "ok"):
		status = "ok"
	case strings.HasPrefix(l, "FAIL"):
		status = "FAIL"
	case strings.HasPrefix(l, "?"):
		status = "?"
	default:
		return "", "", "", false
	}
	i := len(status)
	j := i
	for j < len(l) && isRE2Space(l[j]) {
		j++
	}
	k := j
	for k < len(l) && !isRE2Space(l[k]) {
		k++
	}
	if j == i || k == j {
		return "", "", "", false
	}
	r := k
	for r < len(l) && isRE2Space(l[r]) {
		r++
	}
	if strings.IndexByte(l[r:], '\n') >= 0 {
		return "", "", "", false // the rest is one line
	}
	return status, l[j:k], l[r:], true
}

func isRE2Space(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// indented is a line of test output: a report of the test whose block is
// open, or of the test running in -v output.
func (p *goTextParser) indented(l string) {
	if strings.HasPrefix(strings.TrimLeft(l, " "), "--- ") {
		if indent, outcome, name, ok := goTextMarker(l); ok {
			p.mark(indent, outcome, name)
			return
		}
	}
	i := p.chatty
	if p.marker >= 0 && len(l)-len(strings.TrimLeft(l, " ")) > p.markerIndent {
		i = p.marker
	}
	if i < 0 {
		return
	}
	tc := &p.res.Tests[i]
	if len(tc.Output)+len(l)+1 <= MaxTestOutput {
		tc.Output += l + "\n"
	}
}

// goTextMarker reads "    --- FAIL: TestName (0.01s)".
func goTextMarker(l string) (indent int, outcome, name string, ok bool) {
	rest := strings.TrimLeft(l, " ")
	indent = len(l) - len(rest)
	rest, ok = strings.CutPrefix(rest, "--- ")
	if !ok {
		return 0, "", "", false
	}
	outcome, name, ok = strings.Cut(rest, ": ")
	if !ok || outcome != "FAIL" && outcome != "PASS" && outcome != "SKIP" {
		return 0, "", "", false
	}
	if i := strings.LastIndex(name, " ("); i > 0 && strings.HasSuffix(name, "s)") {
		name = name[:i]
	}
	if name == "" || strings.ContainsAny(name, " \t") {
		return 0, "", "", false
	}
	return indent, outcome, name, true
}

func (p *goTextParser) mark(indent int, outcome, name string) {
	i, ok := p.byName[name]
	if !ok || p.res.Tests[i].Outcome != OutcomeIncomplete {
		i = p.newTest(name)
	}
	tc := &p.res.Tests[i]
	switch outcome {
	case "FAIL":
		tc.Outcome = OutcomeFail
	case "PASS":
		tc.Outcome = OutcomePass
	case "SKIP":
		tc.Outcome = OutcomeSkip
	}
	p.marker, p.markerIndent, p.chatty = i, indent, -1
}

func (p *goTextParser) newTest(name string) int {
	tc := TestCase{Name: name, Attempt: 1, Outcome: OutcomeIncomplete}
	tc.Parent = parentTest(name, func(n string) bool {
		i, ok := p.byName[n]
		return ok && p.res.Tests[i].Outcome == OutcomeIncomplete
	})
	if prev, ok := p.byName[name]; ok {
		tc.Attempt = p.res.Tests[prev].Attempt + 1
	}
	p.res.Tests = append(p.res.Tests, tc)
	i := len(p.res.Tests) - 1
	p.byName[name] = i
	p.tests = append(p.tests, i)
	return i
}

func (p *goTextParser) header(rest string) {
	p.goCmd = true
	p.diagKind = ProblemBuildFailed
	if p.vetCmd {
		p.diagKind = ProblemVet
	}
	if strings.HasPrefix(rest, "[") { // "# [pkg]": go test's vet
		p.diagKind = ProblemVet
		rest = strings.Trim(rest, "[]")
	}
	p.diagPkg = firstField(rest)
}

// problem starts a panic, race or timeout report, which the lines after it
// explain.
func (p *goTextParser) problem(kind ProblemKind, l string) {
	test := ""
	switch {
	case strings.HasPrefix(l, "panic: test timed out after"):
		kind = ProblemTimeout
	case p.chatty >= 0:
		test = p.res.Tests[p.chatty].Name
	case p.marker >= 0:
		test = p.res.Tests[p.marker].Name
	}
	if kind == ProblemPanic && test != "" {
		tc := &p.res.Tests[p.byName[test]]
		tc.Outcome, tc.Message, tc.File, tc.Line = OutcomeFail, l, "", 0
	}
	p.addProblem(Problem{Kind: kind, Test: test, Message: l})
	p.collecting = len(p.res.Problems) - 1
	p.marker = -1
}

func (p *goTextParser) addProblem(pr Problem) {
	p.res.Problems = append(p.res.Problems, pr)
	p.problems = append(p.problems, len(p.res.Problems)-1)
}

// collect keeps the lines of a panic, race or timeout report, and reports
// whether the line was the report's.
func (p *goTextParser) collect(l, prev string) bool {
	pr := &p.res.Problems[p.collecting]
	if pr.reportLine(l, prev) {
		p.collecting, p.runningTO = -1, false
		return pr.Kind == ProblemRace && l == "=================="
	}
	if pr.Kind == ProblemTimeout {
		if strings.TrimSpace(l) == "running tests:" {
			p.runningTO = true
		} else if m := reGoTextRunning.FindStringSubmatch(l); m != nil && p.runningTO {
			if pr.Test == "" || strings.HasPrefix(m[1], pr.Test+"/") {
				pr.Test = m[1]
			}
		} else {
			p.runningTO = false
		}
	}
	return true
}

// endPackage names the package of the tests and problems seen since the
// last package line.
func (p *goTextParser) endPackage(status, pkg, rest string) {
	for _, i := range p.tests {
		p.res.Tests[i].Package = pkg
	}
	built := false
	var race []int
	for _, i := range p.problems {
		pr := &p.res.Problems[i]
		if pr.Package == "" || pr.Package == p.diagPkg {
			pr.Package = pkg
		}
		if pr.Kind == ProblemRace && pr.Test == "" {
			race = append(race, i)
		}
		built = built || pr.Kind == ProblemBuildFailed || pr.Kind == ProblemVet || pr.Kind == ProblemSetupFailed
	}
	// A race found outside -v output belongs to the test the testing
	// package failed for it.
	for _, i := range p.tests {
		if len(race) == 0 {
			break
		}
		if tc := p.res.Tests[i]; tc.Outcome == OutcomeFail && strings.Contains(tc.Output, "race detected during execution of test") {
			p.res.Problems[race[0]].Test = tc.Name
			race = race[1:]
		}
	}
	if status == "FAIL" && !built && (strings.Contains(rest, "[build failed]") || strings.Contains(rest, "[setup failed]")) {
		kind := ProblemBuildFailed
		if strings.Contains(rest, "[setup failed]") {
			kind = ProblemSetupFailed
		}
		p.res.Problems = append(p.res.Problems, goDiagnostics(kind, pkg, nil)...)
	}
	if p.forAnalysis {
		p.dropSettled()
	}
	p.tests, p.problems = p.tests[:0], p.problems[:0]
	clear(p.byName)
	p.marker, p.chatty, p.collecting = -1, -1, -1
	p.diagKind, p.diagPkg = "", ""
}

// dropSettled forgets, when a package ends, the tests Analyze never reads,
// so that its memory does not grow with the number of tests a log runs:
// those that passed or were skipped, and failures a later run of the same
// test supersedes (only the last run of a test counts). Incomplete tests
// stay, for the hung-test search, but without their output, which nothing
// reads. Once a package has ended, no index into the tests is held.
func (p *goTextParser) dropSettled() {
	if p.lastFail == nil {
		p.lastFail = map[string]int{}
	}
	p.drop = append(p.drop[:0], make([]bool, len(p.res.Tests))...)
	dropped := false
	for _, i := range p.tests {
		tc := &p.res.Tests[i]
		failing := isFailing(tc.Outcome)
		if failing || len(p.lastFail) > 0 {
			// The ID is written to a buffer: looking a []byte up in a
			// map makes no string, and most tests are looked up only.
			p.idBuf = append(p.idBuf[:0], tc.Package...)
			if tc.Package != "" {
				p.idBuf = append(p.idBuf, "::"...)
			}
			p.idBuf = append(p.idBuf, tc.Name...)
			if j, ok := p.lastFail[string(p.idBuf)]; ok {
				p.drop[j], dropped = true, true
				delete(p.lastFail, string(p.idBuf))
			}
			if failing {
				p.lastFail[string(p.idBuf)] = i
			}
		}
		switch {
		case failing:
		case tc.Outcome == OutcomeIncomplete:
			tc.Output = ""
		default:
			p.drop[i], dropped = true, true
		}
	}
	if !dropped {
		return
	}
	// lastFail holds every failing test kept, by its index before the
	// drop: move the indices rather than make every ID again.
	p.moved = append(p.moved[:0], make([]int, len(p.res.Tests))...)
	kept := p.res.Tests[:0]
	for i, tc := range p.res.Tests {
		p.moved[i] = len(kept)
		if !p.drop[i] {
			kept = append(kept, tc)
		}
	}
	clear(p.res.Tests[len(kept):])
	p.res.Tests = kept
	for id, i := range p.lastFail {
		p.lastFail[id] = p.moved[i]
	}
}

func (p *goTextParser) finish() *Results {
	for i := range p.res.Tests {
		tc := &p.res.Tests[i]
		if tc.Outcome == OutcomeFail && !strings.HasPrefix(tc.Message, "panic") {
			tc.File, tc.Line, tc.Message = goFailureMessage(tc.Output)
		}
		if tc.Outcome == OutcomePass {
			tc.Output = ""
		}
	}
	return p.res
}

// found reports whether the log held anything of go test's.
func (r *Results) found() bool { return len(r.Tests) > 0 || len(r.Problems) > 0 }

// cutTimestamp drops the RFC 3339 time CI systems put before every line
// of a downloaded log ("2024-05-02T10:11:12.0000000Z go: downloading"), or
// the Open Build Service's build time ("[  158s] ").
func cutTimestamp[T string | []byte](l T) T {
	if n := obsPrefixLen(l); n > 0 {
		return l[n:]
	}
	if len(l) < 21 || l[4] != '-' || l[7] != '-' || l[10] != 'T' || l[0] < '0' || l[0] > '9' {
		return l
	}
	i := 19
	for i < min(len(l), 40) && l[i] != ' ' {
		i++
	}
	if i == min(len(l), 40) {
		return l
	}
	zone := l[i-1] == 'Z'
	for j := 19; j < i && !zone; j++ {
		zone = l[j] == '+' || l[j] == '-'
	}
	if !zone {
		return l
	}
	return l[i+1:]
}
