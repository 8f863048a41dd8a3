package triage

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// StepFacts are what the runner knows about a step. They decide the
// category before any log rule: an OOM-killed container is out of memory
// whatever its log says.
type StepFacts struct {
	Step       string    `json:"step"`
	ExitCode   int       `json:"exit_code"`
	OOMKilled  bool      `json:"oom_killed,omitempty"`
	TimedOut   bool      `json:"timed_out,omitempty"`   // the step's or run's deadline was exceeded
	State      StepState `json:"state,omitempty"`       // succeeded, failed, errored (runner/infra error), cancelled; "" unknown
	InfraError string    `json:"infra_error,omitempty"` // the runner's own error (image pull, container create), if any
}

// StepInput is one step to analyse. Log, Results and Baseline are optional.
type StepInput struct {
	Facts    StepFacts
	Log      io.Reader // the step's log, read once, line by line
	Results  *Results  // parsed test results of the step, if it produced any
	Baseline Baseline  // line hashes of the last successful log of this step
}

// Options tunes Analyze. The zero value is ready to use.
type Options struct {
	Rules           *RuleSet // nil: built-in rules
	ContextLines    int      // context lines around evidence; default 3
	MaxEvidence     int      // evidence lines per failure; default 8
	MaxTestFailures int      // failing tests reported per step; default 100
	Paths           Paths    // places the files tools print in the repository
	// Matchers turn log lines into located diagnostics (nil: the
	// built-in ones, DefaultMatchers).
	Matchers *MatcherSet
}

// Evidence is one log line that explains a failure, with its 1-based line
// number in the step log (0 when it comes from a result file rather than
// the log) and a few lines of context.
type Evidence struct {
	Line   int64    `json:"line"`
	Text   string   `json:"text"`
	Before []string `json:"before,omitempty"`
	After  []string `json:"after,omitempty"`
	Rule   string   `json:"rule,omitempty"`
	// Diagnostic is the located problem a matcher read on this line, if any.
	Diagnostic *Diagnostic `json:"diagnostic,omitempty"`
}

// Failure is one explained failure of a step.
type Failure struct {
	Step              string     `json:"step,omitempty"`
	Category          Category   `json:"category"`
	Title             string     `json:"title"`              // one line
	Confidence        float64    `json:"confidence"`         // 0..1
	Fingerprint       string     `json:"fingerprint"`        // hex SHA-256, see Fingerprint
	NormalizedMessage string     `json:"normalized_message"` // for the fingerprint and grouping only
	Message           string     `json:"message,omitempty"`  // what people read: the raw failure message, bounded
	TestID            string     `json:"test_id,omitempty"`
	File              string     `json:"file,omitempty"`
	Line              int        `json:"line,omitempty"`
	Evidence          []Evidence `json:"evidence"`
	// EvidenceRanges are the blocks of log lines the evidence covers, the
	// one with the deciding line first; Evidence has one entry per line.
	EvidenceRanges []LineRange `json:"evidence_ranges,omitempty"`
	Hint           string      `json:"hint,omitempty"` // the likely root cause
	Remediation    string      `json:"remediation"`
	Rule           string      `json:"rule,omitempty"`   // the rule that decided, if any
	Source         string      `json:"source"`           // "runner", "log", "test" or "results"
	Frames         []string    `json:"frames,omitempty"` // normalised top stack frames, if any
	// Diagnostics are the located problems the matchers found in the
	// step's log (compiler errors, lint findings...), on the step's first
	// failure only.
	Diagnostics []Diagnostic `json:"diagnostics,omitempty"`
	// DiagnosticsDropped counts the diagnostics of the step's log beyond
	// those kept (the scan keeps at most 100), so that pages can say so.
	// Not in the CLI's JSON, whose contract stays as it was.
	DiagnosticsDropped int `json:"-"`
	// Identity is what beside the message went into the fingerprint (the
	// test id, the package, the top frames), kept so that a fingerprint
	// can be computed again over a learned template of the message.
	Identity string `json:"-"`
}

func (o Options) withDefaults() Options {
	if o.Rules == nil {
		o.Rules = DefaultRules()
	}
	if o.Matchers == nil {
		o.Matchers = DefaultMatchers()
	}
	if o.ContextLines <= 0 {
		o.ContextLines = 3
	}
	if o.MaxEvidence <= 0 {
		o.MaxEvidence = 8
	}
	if o.MaxTestFailures <= 0 {
		o.MaxTestFailures = 100
	}
	return o
}

// Analyze explains the failures of a run's steps: runner facts first, then
// test results and package problems, then the log rules. A step that
// succeeded with no failing test yields nothing. The error is only ever a
// read error from a step's Log.
func Analyze(steps []StepInput, opts Options) ([]Failure, error) {
	opts = opts.withDefaults()
	var out []Failure
	for _, st := range steps {
		fs, err := analyzeStep(st, opts)
		if err != nil {
			return out, fmt.Errorf("step %q: %w", st.Facts.Step, err)
		}
		out = append(out, fs...)
	}
	return out, nil
}

func analyzeStep(st StepInput, opts Options) ([]Failure, error) {
	rep := &LogReport{}
	if st.Log != nil {
		// A plain go test log is results too: read it as such on the way.
		var gt *goTextParser
		log := st.Log
		if st.Results == nil {
			gt = newGoTextParser()
			gt.vetCmd = reVetStep.MatchString(st.Facts.Step)
			gt.forAnalysis = true
			log = io.TeeReader(log, gt)
		}
		var err error
		rep, err = AnalyzeLog(log, LogOptions{Rules: opts.Rules, Baseline: st.Baseline, ContextLines: opts.ContextLines,
			Matchers: opts.Matchers, Paths: opts.Paths})
		if err != nil {
			return nil, err
		}
		if gt != nil {
			if r := gt.finish(); r.found() {
				st.Results = r
			}
		}
	}
	a := stepAnalysis{st: st, opts: opts, rep: rep}
	if f, ok := a.fromFacts(); ok {
		return []Failure{f}, nil
	}
	out := a.fromResults()
	covered := map[Category]bool{}
	for _, f := range out {
		covered[f.Category] = true
		if f.Source == "results" {
			// go printed it as a build failure: the log's "build failed"
			// lines are this failure's, whatever its category.
			covered[CategoryCompile] = true
		}
	}
	best, ok := bestMatch(rep.Matches)
	switch {
	case ok && !covered[best.Category] && (len(out) == 0 || best.Category != CategoryUnknown && best.Category != CategoryTest && best.Score >= 0.6):
		out = append(out, a.fromLog(best))
	case !ok && len(out) == 0 && a.failed():
		out = append(out, a.unexplained())
	}
	if st.Facts.State == StepSucceeded && st.Facts.ExitCode == 0 && !hasTestFailure(out) {
		return nil, nil
	}
	for i := range out {
		out[i].Step = st.Facts.Step
	}
	attachDiagnostics(out, rep.Diagnostics, rep.DiagnosticsDropped)
	return out, nil
}

func hasTestFailure(fs []Failure) bool {
	for _, f := range fs {
		if f.Source == "test" || f.Source == "results" {
			return true
		}
	}
	return false
}

type stepAnalysis struct {
	st   StepInput
	opts Options
	rep  *LogReport
}

func (a *stepAnalysis) failed() bool {
	f := a.st.Facts
	return f.State == StepFailed || f.State == StepErrored || f.ExitCode != 0
}

// bestMatch picks the line that decides the category: highest score, then
// category order, then the earliest line. When that line is a transient
// error (network, time-out, infrastructure), a later error of another kind
// almost as strong wins: the step went on after the first, so the last one
// standing ended it. A later dependency failure does not: a package that
// could not be fetched is the network error's consequence; nor does one
// right after the transient error's block, which it likely caused.
func bestMatch(ms []Match) (Match, bool) {
	bi := -1
	for i, m := range ms {
		if bi < 0 || m.Score > ms[bi].Score ||
			m.Score == ms[bi].Score && m.Category.rank() < ms[bi].Category.rank() {
			bi = i
		}
	}
	if bi < 0 {
		return Match{}, false
	}
	best := bi
	for i := len(ms) - 1; i >= 0 && transientKind(ms[bi].Category); i-- {
		m := ms[i]
		if m.Line <= ms[bi].Range().End+laterGap || m.Category == ms[bi].Category || m.Score < laterMinScore ||
			m.Category == CategoryDependency || transientKind(m.Category) {
			continue
		}
		if m.Score >= ms[bi].Score-laterMargin && m.Range() != ms[bi].Range() {
			best = i
			break
		}
	}
	return ms[best], true
}

const (
	laterMargin   = 0.2 // how much weaker a later error may be and still decide
	laterMinScore = 0.7 // summaries (summaryScore) never do
	summaryScore  = 0.6 // the confidence of the rules for summary lines
	laterGap      = 5   // lines after a transient error's block that it may have caused
)

// summaryRuleIDs are the built-in rules that only restate a failure: a
// build tool's or test runner's summary printed below it, and the generic
// rule of each category ("2 tests failed", "timed out").
var summaryRuleIDs = func() map[string]bool {
	ids := make(map[string]bool)
	for _, r := range summaryRules {
		if r.Confidence <= summaryScore {
			ids[r.ID] = true
		}
	}
	for _, r := range BuiltinRules() {
		if strings.HasSuffix(r.ID, ".generic") {
			ids[r.ID] = true
		}
	}
	return ids
}()

func (a *stepAnalysis) fromFacts() (Failure, bool) {
	f := a.st.Facts
	var c Category
	var title, hint, rem string
	conf := 0.95
	switch {
	case f.OOMKilled:
		c, title, hint, rem = CategoryOOM, "Step killed: out of memory (OOMKilled)", "The container exceeded its memory limit and the kernel killed it.", remOOM
	case f.TimedOut:
		c, title, hint, rem = CategoryTimeout, "Step exceeded its time limit", "The step ran past its timeout and was stopped.", remTimeout
	case f.InfraError != "":
		c, title, hint, rem = CategoryInfrastructure, "Runner error: "+oneLine(f.InfraError, 150), "The runner could not run the step.", remInfra
		conf = 0.9
		if m, ok := classifyLines(a.opts.Rules, strings.Split(f.InfraError, "\n")); ok && m.Category != CategoryUnknown && m.Category != CategoryTest && m.Category != CategoryLint {
			r := ruleByID(a.opts.Rules, m.RuleID)
			c, title, hint, rem = m.Category, m.Title, r.Hint, r.Remediation
		}
	case f.State == StepErrored:
		c, title, hint, rem = CategoryInfrastructure, "Runner error", "The runner failed while running the step.", remInfra
		conf = 0.8
	case f.ExitCode == 137:
		c, title, hint, rem = CategoryOOM, "Step killed (exit 137, SIGKILL): most likely out of memory", "Exit status 137 means SIGKILL, which the OOM killer sends.", remOOM
		conf = 0.75
	default:
		return Failure{}, false
	}
	fl := Failure{Category: c, Title: title, Confidence: conf, Hint: hint, Remediation: rem, Source: "runner"}
	fl.Evidence = a.evidence(c, nil)
	msg := Normalize(title)
	switch {
	case c == CategoryTimeout:
		// The runner's fact is the cause; the log's first matched line is
		// often just the last test that started. A test that started and
		// never ended is the one that hung: name it, and cluster by it.
		if tc, ok := a.hungTest(); ok {
			fl.Title = fmt.Sprintf("Step exceeded its time limit while %s was running", tc.Name)
			fl.TestID, fl.File, fl.Line = TestID(tc.Package, tc.Name), tc.File, tc.Line
			msg = Normalize(fl.Title)
		}
	case len(fl.Evidence) > 0:
		msg = messageOf(fl.Evidence[0].Text)
	}
	fl.NormalizedMessage = msg
	fl.Fingerprint = Fingerprint(c, msg, fl.Identity)
	return fl, true
}

// hungTest is the test that started and never ended, if the step produced
// go test -json results: the innermost one (a hung subtest leaves its
// parents unfinished too), the first by package and name if several.
func (a *stepAnalysis) hungTest() (TestCase, bool) {
	if a.st.Results == nil {
		return TestCase{}, false
	}
	var incomplete []TestCase
	for _, tc := range a.st.Results.Tests {
		if tc.Outcome == OutcomeIncomplete {
			incomplete = append(incomplete, tc)
		}
	}
	var hung *TestCase
	for i, tc := range incomplete {
		leaf := true
		for _, o := range incomplete {
			if o.Package == tc.Package && strings.HasPrefix(o.Name, tc.Name+"/") {
				leaf = false
				break
			}
		}
		if leaf && (hung == nil || tc.Package+"\x00"+tc.Name < hung.Package+"\x00"+hung.Name) {
			hung = &incomplete[i]
		}
	}
	if hung == nil {
		return TestCase{}, false
	}
	return *hung, true
}

func (a *stepAnalysis) fromLog(m Match) Failure {
	r := ruleByID(a.opts.Rules, m.RuleID)
	f := Failure{
		Category: m.Category, Title: m.Title, Confidence: round2(m.Score), Hint: r.Hint,
		Remediation: r.Remediation, Rule: m.RuleID, Source: "log", Frames: m.Frames,
		Message: strings.TrimSpace(m.Text),
	}
	f.Evidence, f.EvidenceRanges = a.evidenceBlocks(m.Category, &m)
	f.NormalizedMessage = causeMessage(m.Category, messageOf(m.Text))
	f.File, f.Line = locationOf(m.Text)
	identity := strings.Join(m.Frames, "\n")
	if f.Category == CategoryTimeout {
		// A timeout dumps every goroutine in no fixed order: its frames
		// would split one cause into many clusters.
		identity = ""
	}
	f.Identity = identity
	f.Fingerprint = Fingerprint(f.Category, f.NormalizedMessage, identity)
	return f
}

// unexplained is the failure of a step no rule explains: its last lines
// are the best evidence left.
func (a *stepAnalysis) unexplained() Failure {
	f := Failure{Category: CategoryUnknown, Title: "Step failed; no rule recognised the cause", Confidence: 0.2,
		Hint: "No known failure pattern was found in the log.", Source: "log",
		Remediation: "Read the last lines of the log; if this cause recurs, add a rule for it in .sentinel/rules.yml."}
	if a.st.Facts.ExitCode != 0 {
		f.Title = fmt.Sprintf("Step failed with exit code %d; no rule recognised the cause", a.st.Facts.ExitCode)
	}
	for _, t := range a.rep.Tail {
		if !a.opts.Rules.isNoise(t.Text) {
			f.Evidence = append(f.Evidence, Evidence{Line: t.Line, Text: t.Text})
		}
	}
	msg := "step failed"
	if n := len(f.Evidence); n > 0 {
		msg = messageOf(f.Evidence[n-1].Text)
	}
	f.NormalizedMessage = msg
	f.Fingerprint = Fingerprint(f.Category, msg, f.Identity)
	return f
}

// evidence picks the lines explaining a failure of category c: the block
// of the deciding line first, then the blocks of that category's other
// matched lines (fresh ones before those also in the baseline), then, if
// few, other strong matches; one entry per line.
func (a *stepAnalysis) evidence(c Category, primary *Match) []Evidence {
	ev, _ := a.evidenceBlocks(c, primary)
	return ev
}

func (a *stepAnalysis) evidenceBlocks(c Category, primary *Match) ([]Evidence, []LineRange) {
	var same, other []Match
	fresh := 0
	for _, m := range a.rep.Matches {
		if !m.InBaseline {
			fresh++
		}
	}
	for _, m := range a.rep.Matches {
		if m.InBaseline && fresh > 0 {
			continue // it was there when the step succeeded, too
		}
		if m.Score < 0.05 {
			continue // printed by a test that passed
		}
		switch {
		case m.Category == c:
			same = append(same, m)
		case m.Score >= 0.6:
			other = append(other, m)
		}
	}
	byStrength := func(ms []Match) {
		sort.SliceStable(ms, func(i, j int) bool {
			if ms[i].Score != ms[j].Score {
				return ms[i].Score > ms[j].Score
			}
			return ms[i].Line < ms[j].Line
		})
	}
	if primary != nil && primary.Score > summaryScore {
		// A summary restates the error it follows; with that error
		// in hand, it is not evidence.
		kept := same[:0]
		for _, m := range same {
			if !summaryRuleIDs[m.RuleID] {
				kept = append(kept, m)
			}
		}
		same = kept
	}
	byStrength(same)
	byStrength(other)
	var picked []Match
	if primary != nil {
		picked = append(picked, *primary)
	}
	covered := func(m Match) bool {
		for _, p := range picked {
			if r := p.Range(); m.Line >= r.Start && m.Line <= r.End {
				return true
			}
		}
		return false
	}
	for _, m := range same {
		if len(picked) >= a.opts.MaxEvidence {
			break
		}
		if !covered(m) && !repeats(picked, m) && !restated(picked, m) {
			picked = append(picked, m)
		}
	}
	for _, m := range other {
		if len(picked) >= min(3, a.opts.MaxEvidence) {
			break
		}
		if !covered(m) && !restated(picked, m) {
			m.block = nil // another cause: its line alone
			picked = append(picked, m)
		}
	}
	if len(picked) == 0 {
		picked = a.rep.Tail
	}
	rest := picked
	if primary != nil {
		rest = picked[1:]
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].Line < rest[j].Line })
	byLine := make(map[int64]*Match, len(a.rep.Matches))
	for i := range a.rep.Matches {
		byLine[a.rep.Matches[i].Line] = &a.rep.Matches[i]
	}
	return blockEvidence(picked, byLine)
}

// repeats reports whether m's line says again what a picked block already
// shows: a build tool's summary reprints the failed command's output
// (BuildKit's "------ > [2/4] RUN" section) with a shorter prefix.
func repeats(picked []Match, m Match) bool {
	echoes := func(a, b string) bool {
		a, b = strings.TrimSpace(a), strings.TrimSpace(b)
		return len(a) >= minEchoLen && len(b) >= minEchoLen && (strings.HasSuffix(a, b) || strings.HasSuffix(b, a))
	}
	for _, p := range picked {
		if echoes(p.Text, m.Text) {
			return true
		}
		if p.block != nil {
			for _, l := range p.block.lines {
				if echoes(l, m.Text) {
					return true
				}
			}
		}
	}
	return false
}

// restated reports whether m belongs to an exception that restates a
// picked error: Maven's -e prints the error again as an exception
// ("[ERROR] org.apache.maven...LifecycleExecutionException: Failed to
// execute goal ..."), then the build tool's own frames and causes.
func restated(picked []Match, m Match) bool {
	first := m.Text
	if m.block != nil && len(m.block.lines) > 0 {
		first = m.block.lines[0]
	}
	for _, p := range picked {
		if restates(first, p.Text) {
			return true
		}
	}
	return false
}

// restates reports whether line is an exception whose message says again
// what the error line said.
func restates(line, said string) bool {
	sub := reRestatingException.FindStringSubmatch(line)
	if sub == nil {
		return false
	}
	msg := strings.TrimSpace(sub[1])
	said = strings.TrimSpace(reToolTag.ReplaceAllString(said, ""))
	return len(msg) >= minRestateLen && len(said) >= minRestateLen && (strings.HasPrefix(said, msg) || strings.HasPrefix(msg, said))
}

var (
	reToolTag            = regexp.MustCompile(`^\s*(?:\[ERROR\]|Error:|ERROR:)\s*`)
	reRestatingException = regexp.MustCompile(`^\s*(?:\[ERROR\]|Error:|ERROR:)?\s*(?:[\w$]+\.)+[\w$]*(?:Exception|Error): (.+)`)
)

// minRestateLen is the shortest message restated compares: a long shared
// start is the same error, a short one ("Failed") is not.
const minRestateLen = 40

// minEchoLen is the shortest line repeats compares: short lines
// ("npm ERR!", "}") repeat without saying the same thing.
const minEchoLen = 16

// maxEvidenceLines bounds the evidence of one failure read from a log.
const maxEvidenceLines = 120

// blockEvidence turns matches into evidence, one entry per line of each
// match's block, and the blocks' ranges. A line a rule matched keeps its
// rule and context.
func blockEvidence(picked []Match, byLine map[int64]*Match) ([]Evidence, []LineRange) {
	var ev []Evidence
	var ranges []LineRange
	for _, m := range picked {
		b := m.block
		if b == nil || len(b.lines) <= 1 {
			ev = append(ev, Evidence{Line: m.Line, Text: m.Text, Before: m.Before, After: m.After, Rule: m.RuleID})
			ranges = append(ranges, LineRange{Start: m.Line, End: m.Line})
			if len(ev) >= maxEvidenceLines {
				break
			}
			continue
		}
		ranges = append(ranges, LineRange{Start: b.start, End: b.end})
		for i, text := range b.lines {
			e := Evidence{Line: b.start + int64(i), Text: text}
			if x := byLine[e.Line]; x != nil {
				e.Text, e.Before, e.After, e.Rule = x.Text, x.Before, x.After, x.RuleID
			}
			ev = append(ev, e)
			if len(ev) >= maxEvidenceLines {
				return ev, ranges
			}
		}
	}
	return ev, ranges
}

var reLeadingNoise = regexp.MustCompile(`^((\[?<(time|date)>\]?|##\[error\]|\[error\]|error:)\s*)+`)

// messageOf is the normalised message of an evidence line: the line
// without the timestamps and log-level noise CI systems put in front.
func messageOf(text string) string {
	n := Normalize(text)
	if m := reLeadingNoise.FindString(n); m != "" && len(m) < len(n) {
		n = n[len(m):]
	}
	return n
}

var (
	reURLPath = regexp.MustCompile(`\b(https?://[^/\s"'<>]+)/[^\s"'<>)]*`)
	reAnyPath = regexp.MustCompile(`(?:^|[\s'"(=])(?:/|<tmp>|~/)[^\s:'"()]*`)
)

// causeMessage drops what does not tell causes apart for categories where
// the cause is the environment: the resource fetched when a host is
// unreachable, the file being written when the disk is full.
func causeMessage(c Category, msg string) string {
	switch c {
	case CategoryNetwork, CategoryInfrastructure:
		return reURLPath.ReplaceAllString(msg, "$1/<path>")
	case CategoryDisk:
		return reAnyPath.ReplaceAllStringFunc(msg, func(m string) string {
			return m[:len(m)-len(strings.TrimLeft(m, " \t'\"(="))] + "<path>"
		})
	}
	return msg
}

var reGoLoc = regexp.MustCompile(`(?:^|\s|\()(?:\./)?([\w./-]+\.go):(\d+)`)

// locationOf finds a source file and line in a log line.
func locationOf(text string) (string, int) {
	if m := reGoLoc.FindStringSubmatch(text); m != nil {
		return m[1], atoi(m[2])
	}
	if m := reSourceLoc.FindStringSubmatch(text); m != nil {
		return m[1], atoi(m[2])
	}
	if m := reBracketLoc.FindStringSubmatch(text); m != nil {
		return m[1], atoi(m[2])
	}
	return "", 0
}

// Maven prints "Foo.java:[12,5]"; tsc prints "foo.ts(12,5)".
var reBracketLoc = regexp.MustCompile(`([\w./\\-]+\.\w+)[:(]\[?(\d+),\d+[\])]`)

func ruleByID(rs *RuleSet, id string) Rule {
	for _, r := range rs.rules {
		if r.ID == id {
			return r.Rule
		}
	}
	return Rule{}
}

// classifyLines runs the rules over a few lines of text.
func classifyLines(rs *RuleSet, lines []string) (Match, bool) {
	s := NewLogScanner(LogOptions{Rules: rs, MaxMatches: 16})
	for i, l := range lines {
		s.Line(int64(i+1), []byte(l))
	}
	return bestMatch(s.Report().Matches)
}

func round2(f float64) float64 {
	return float64(int(f*100+0.5)) / 100
}
