package triage

import (
	"bufio"
	"bytes"
	"container/heap"
	"errors"
	"io"
	"sort"
	"sync"
)

// LogOptions tunes AnalyzeLog. The zero value is ready to use.
type LogOptions struct {
	Rules        *RuleSet // nil: the built-in rules
	Baseline     Baseline // hashes of lines from the last successful log of the step
	ContextLines int      // lines of context kept before and after evidence; default 3
	MaxMatches   int      // matched lines kept, best first; default 64
	MaxLineLen   int      // longer lines are cut for matching; default 4096
	// Matchers turn lines into located diagnostics (nil: none); Paths
	// places their files in the repository.
	Matchers *MatcherSet
	Paths    Paths
}

func (o LogOptions) withDefaults() LogOptions {
	if o.Rules == nil {
		o.Rules = DefaultRules()
	}
	if o.ContextLines <= 0 {
		o.ContextLines = 3
	}
	o.ContextLines = min(o.ContextLines, 20)
	if o.MaxMatches <= 0 {
		o.MaxMatches = 64
	}
	if o.MaxLineLen <= 0 {
		o.MaxLineLen = 4096
	}
	return o
}

// Match is one log line a rule matched.
type Match struct {
	RuleID     string   `json:"rule"`
	Category   Category `json:"category"`
	Title      string   `json:"title"`
	Line       int64    `json:"line"` // 1-based line number in the step log
	Text       string   `json:"text"` // the line without terminal escapes
	Before     []string `json:"before,omitempty"`
	After      []string `json:"after,omitempty"`
	Frames     []string `json:"frames,omitempty"` // normalised stack frames that followed the line
	Score      float64  `json:"score"`            // rule confidence, lowered when InBaseline, a warning or recovered
	InBaseline bool     `json:"in_baseline,omitempty"`
	Recovered  bool     `json:"recovered,omitempty"` // a later line reports the operation succeeded

	block *block // the lines of the error this line belongs to
}

// Range is the block of lines the match belongs to: the line itself when
// it stands alone.
func (m Match) Range() LineRange {
	if m.block == nil {
		return LineRange{Start: m.Line, End: m.Line}
	}
	return LineRange{Start: m.block.start, End: m.block.end}
}

// LogReport is what AnalyzeLog found. Its size does not depend on the
// log's: only the best MaxMatches lines and a short tail are kept.
type LogReport struct {
	Lines   int64   // lines read
	Bytes   int64   // bytes read
	Matches []Match // best matches, ordered by line number
	Tail    []Match // the last non-blank lines (Score 0), for when no rule matched
	// Diagnostics are the located problems the matchers found, in log
	// order, at most maxDiagnostics; DiagnosticsDropped counts the others.
	Diagnostics        []Diagnostic
	DiagnosticsDropped int
}

// baselineFactor scales the score of a line that also appeared in the last
// successful log: such lines are rarely the cause.
const baselineFactor = 0.25

const tailLines = 5

// DefaultRules is the compiled built-in rule set. It is compiled on first
// use, not at start-up: compiling costs a few hundred milliseconds of CPU and
// tens of megabytes, which every command that never reads a log (help,
// version, an idle server) would otherwise pay.
func DefaultRules() *RuleSet { return defaultRules() }

var defaultRules = sync.OnceValue(func() *RuleSet {
	rs, err := CompileRules(BuiltinRules())
	if err != nil {
		panic("triage: built-in rules do not compile: " + err.Error())
	}
	return rs
})

// AnalyzeLog reads a step log line by line and returns its best evidence.
// Memory stays bounded whatever the log's length. Lines of a go test -json
// stream are read as the test output they carry.
func AnalyzeLog(r io.Reader, opts LogOptions) (*LogReport, error) {
	s := NewLogScanner(opts)
	br := bufio.NewReaderSize(r, 64*1024)
	var n int64
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// An overlong line: match its first part, skip the rest.
			s.bytes += int64(len(line))
			n++
			s.Line(n, line)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				s.bytes += int64(len(line))
			}
			if err != nil && err != io.EOF {
				return s.Report(), err
			}
			if err == io.EOF {
				break
			}
			continue
		}
		if len(line) > 0 {
			s.bytes += int64(len(line))
			n++
			s.Line(n, line)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return s.Report(), err
		}
	}
	return s.Report(), nil
}

// LogScanner is the streaming core of AnalyzeLog, for callers that already
// split a log into numbered lines (the go test -json parser does).
type LogScanner struct {
	opts      LogOptions
	ring      [][]byte // the last lines seen, cleaned, for context and tail
	ringPos   int64    // number of lines pushed
	heap      matchHeap
	open      []*Match // matches still collecting After lines
	frames    []*frameCollector
	scr       *scratch
	testBlock []*Match // Go test log lines since the last "=== RUN"
	echo      echoState
	warnTrace bool     // the lines go on with the trace of a warning
	transient []*Match // recent errors a later success may recover
	block     *block   // the error block being read
	section   section  // the lines under a test section's header
	bytes     int64
	lines     int64
	cleanBuf  []byte
	matchers  *matcherScan // nil without matchers
	joint     *joint       // with matchers: one prefilter pass for rules and matchers
}

// NewLogScanner returns a scanner with opts.
func NewLogScanner(opts LogOptions) *LogScanner {
	opts = opts.withDefaults()
	size := max(opts.ContextLines, tailLines) + 1
	s := &LogScanner{opts: opts, ring: make([][]byte, size), echo: echoState{indent: -1}}
	for i := range s.ring {
		s.ring[i] = make([]byte, 0, 256)
	}
	if opts.Matchers != nil {
		s.joint = opts.Rules.jointWith(opts.Matchers)
		s.scr = newScratch(s.joint.pre)
		s.matchers = newMatcherScan(opts.Matchers, opts.Paths)
	} else {
		s.scr = newScratch(opts.Rules.pre)
	}
	return s
}

// Line feeds line number n (1-based) of the log; a trailing newline is
// ignored. The scanner does not keep line after it returns.
func (s *LogScanner) Line(n int64, line []byte) {
	s.lines = max(s.lines, n)
	text := s.clean(line)
	if len(text) > s.opts.MaxLineLen {
		text = text[:s.opts.MaxLineLen]
	}
	for _, m := range s.open {
		m.After = append(m.After, string(truncBytes(text, maxContextLen)))
	}
	s.open = keepOpen(s.open, s.opts.ContextLines)
	if len(s.frames) > 0 {
		s.frames = feedFrames(s.frames, text)
	}
	s.goTestBlock(text)
	if s.matchers == nil {
		s.match(n, text, s.opts.Rules.pre.scan(s.scr, text))
	} else {
		cands := s.joint.pre.scan(s.scr, text)
		s.match(n, text, cands)
		s.matchers.line(n, text, cands, s.joint)
	}
	s.section.note(n, text)
	s.push(text)
}

// goTestBlock drops the evidence a passing Go test printed: go test -v
// streams t.Log lines ("foo_test.go:12: ...") before "--- PASS", and they
// look just like the lines of a failing test.
func (s *LogScanner) goTestBlock(text []byte) {
	t := bytes.TrimLeft(text, " \t")
	if len(t) < 8 || t[0] != '=' && t[0] != '-' {
		return
	}
	switch {
	case bytes.HasPrefix(t, []byte("=== RUN")) || bytes.HasPrefix(t, []byte("=== CONT")):
		s.testBlock = s.testBlock[:0]
	case bytes.HasPrefix(t, []byte("--- PASS")) || bytes.HasPrefix(t, []byte("--- SKIP")):
		for _, m := range s.testBlock {
			m.Score = 0.01
		}
		if len(s.testBlock) > 0 {
			heap.Init(&s.heap)
		}
		s.testBlock = s.testBlock[:0]
	}
}

const maxContextLen = 512

// clean removes the line end, the carriage-return progress a terminal
// would overwrite and terminal escapes, and unwraps go test -json events.
func (s *LogScanner) clean(line []byte) []byte {
	line = bytes.TrimRight(line, "\r\n")
	if bytes.IndexByte(line, '\r') >= 0 {
		line = line[bytes.LastIndexByte(line, '\r')+1:]
	}
	if bytes.IndexByte(line, 0x1b) >= 0 {
		s.cleanBuf = stripANSI(s.cleanBuf[:0], line)
		line = s.cleanBuf
	}
	line = stripTimestamp(line)
	if len(line) > 2 && line[0] == '{' && line[1] == '"' && bytes.Contains(line, []byte(`"Action":`)) {
		var ev goEvent
		if parseEvent(line, &ev) {
			out := []byte(ev.Output)
			out = bytes.TrimRight(out, "\r\n")
			if bytes.IndexByte(out, 0x1b) >= 0 {
				out = stripANSI(nil, out)
			}
			return out
		}
	}
	return line
}

// stripTimestamp removes the RFC 3339 timestamp CI systems (GitHub
// Actions, GitLab, Buildkite) put in front of every line, bare or in
// brackets (Jenkins' timestamper), or the Open Build Service's build time
// ("[  158s] "), so rules anchored at the start of a line still match.
func stripTimestamp(line []byte) []byte {
	if n := obsPrefixLen(line); n > 0 {
		return line[n:]
	}
	open := 0
	if len(line) > 0 && line[0] == '[' {
		open = 1
	}
	t := line[open:]
	if len(t) < 21 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[0] < '0' || t[0] > '9' {
		return line
	}
	end := bytes.IndexByte(t[:min(len(t), 40)], ' ')
	if end < 19 {
		return line
	}
	if open == 1 {
		if t[end-1] != ']' {
			return line
		}
		end--
	}
	if c := t[end-1]; c != 'Z' && (c < '0' || c > '9') {
		return line
	}
	return t[end+open+1:]
}

// obsPrefixLen is the length of the build time the Open Build Service puts
// in front of every line of a build log ("[  158s] "), or 0.
func obsPrefixLen[T string | []byte](line T) int {
	if len(line) < 5 || line[0] != '[' {
		return 0
	}
	i := 1
	for i < len(line) && line[i] == ' ' {
		i++
	}
	d := i
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	if i == d || i+2 >= len(line) || line[i] != 's' || line[i+1] != ']' || line[i+2] != ' ' {
		return 0
	}
	return i + 3
}

// stripANSI appends src without CSI/OSC escape sequences to dst.
func stripANSI(dst, src []byte) []byte {
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c != 0x1b {
			dst = append(dst, c)
			continue
		}
		if i+1 >= len(src) {
			break
		}
		switch src[i+1] {
		case '[':
			j := i + 2
			for j < len(src) && (src[j] < 0x40 || src[j] > 0x7e) {
				j++
			}
			i = j
		case ']':
			j := i + 2
			for j < len(src) && src[j] != 0x07 && !(src[j] == 0x1b && j+1 < len(src) && src[j+1] == '\\') {
				j++
			}
			if j < len(src) && src[j] == 0x1b {
				j++
			}
			i = j
		case '(', ')':
			i += 2
		default:
			i++
		}
	}
	return dst
}

func (s *LogScanner) push(text []byte) {
	slot := &s.ring[s.ringPos%int64(len(s.ring))]
	*slot = append((*slot)[:0], truncBytes(text, maxContextLen)...)
	s.ringPos++
}

// recent returns up to k of the most recently pushed lines, oldest first.
func (s *LogScanner) recent(k int) []string {
	k = int(min(int64(k), s.ringPos, int64(len(s.ring))))
	out := make([]string, 0, k)
	for i := s.ringPos - int64(k); i < s.ringPos; i++ {
		out = append(out, string(s.ring[i%int64(len(s.ring))]))
	}
	return out
}

func truncBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

func keepOpen(open []*Match, c int) []*Match {
	kept := open[:0]
	for _, m := range open {
		if len(m.After) < c {
			kept = append(kept, m)
		}
	}
	return kept
}

// best returns the index of the most confident rule matching text, or -1;
// noise reports that a noise rule matched, so the line is never evidence.
func (rs *RuleSet) best(sc *scratch, text []byte) (best int, noise bool) {
	return rs.bestOf(rs.pre.scan(sc, text), text)
}

// bestOf is best over the candidates of a prefilter whose first variants
// are the rule set's own (its prefilter, or a joint one).
func (rs *RuleSet) bestOf(cands []int32, text []byte) (best int, noise bool) {
	best = -1
	bestConf := 0.0
	// try tests rule ri through its variant v, or its own expression
	// when v is nil.
	try := func(ri int, v *variant) {
		r := &rs.rules[ri]
		matches := func() bool {
			if v == nil {
				return r.re.Match(text)
			}
			return v.match(text)
		}
		if r.Noise {
			if !noise && matches() {
				noise = true
			}
			return
		}
		if r.Confidence < bestConf || r.Confidence == bestConf && best >= 0 && r.Category.rank() >= rs.rules[best].Category.rank() {
			return
		}
		if matches() {
			best, bestConf = ri, r.Confidence
		}
	}
	nRule := int32(len(rs.pre.variants))
	for _, vi := range cands {
		if vi >= nRule {
			continue // a matcher's
		}
		v := &rs.pre.variants[vi]
		try(v.rule, v)
	}
	for _, ri := range rs.always {
		try(ri, nil)
	}
	// A warning line is noise, unless it names a cause as certain as a
	// full disk ("npm WARN tar ENOSPC: no space left on device").
	if noise && bestConf >= noiseOverride {
		noise = false
	}
	return best, noise
}

// noiseOverride is the confidence from which a rule match counts even on
// a line a noise rule matched.
const noiseOverride = 0.95

// match records text as evidence when a rule matches it.
func (s *LogScanner) match(n int64, text []byte, cands []int32) {
	if s.echo.isEcho(text) {
		s.closeBlock()
		return
	}
	rs := s.opts.Rules
	best, noise := rs.bestOf(cands, text)
	// Only a line a rule matched can start a warning's trace or be
	// demoted, so unmatched lines are not tested.
	warning := (best >= 0 || noise) && isWarning(text)
	if s.warnTrace {
		s.warnTrace = !warning && isTraceLine(text)
		warning = warning || s.warnTrace
	}
	if warning {
		s.warnTrace = true
	}
	var cat Category
	var conf float64
	if best >= 0 {
		cat, conf = rs.rules[best].Category, rs.rules[best].Confidence
	}
	inBlock := s.extendBlock(n, text, cat, conf, noise)
	if noise || best < 0 {
		if len(s.transient) > 0 && !noise {
			s.recover(n, text)
		}
		return
	}
	bestConf := conf
	score := bestConf
	if warning && bestConf < noiseOverride && !mentionsRetry(text) {
		score *= warningFactor
	}
	line := string(text)
	inBase := false
	if len(s.opts.Baseline) > 0 && s.opts.Baseline.Has(LineHash(line)) {
		inBase = true
		score *= baselineFactor
	}
	var b *block
	if inBlock {
		b = s.block
	} else {
		b = s.startBlock(n, text, cat)
	}
	if !s.heap.wants(score, s.opts.MaxMatches) {
		return
	}
	r := &rs.rules[best]
	m := &Match{
		RuleID: r.ID, Category: r.Category, Title: expandTitle(r, text), Line: n,
		Text: string(truncBytes(text, maxContextLen)), Before: s.recent(s.opts.ContextLines),
		Score: score, InBaseline: inBase, block: b,
	}
	s.heap.add(m, s.opts.MaxMatches)
	s.noteTransient(m, text)
	if r.ID == "test.go-location" && len(s.testBlock) < 64 {
		s.testBlock = append(s.testBlock, m)
	}
	s.open = append(s.open, m)
	if len(s.frames) < 8 {
		s.frames = append(s.frames, &frameCollector{m: m})
	}
}

func (s *LogScanner) closeBlock() {
	if s.block != nil {
		s.block.open = false
	}
}

// expandTitle fills the rule's title template from the match.
func expandTitle(r *compiledRule, text []byte) string {
	if r.fixedTitle != "" {
		return r.fixedTitle
	}
	idx := r.re.FindSubmatchIndex(text)
	if idx == nil {
		return r.Title
	}
	t := string(r.re.Expand(nil, []byte(r.Title), text, idx))
	return oneLine(t, maxTitleLen)
}

const maxTitleLen = 200

// Report returns what the scanner has found so far.
func (s *LogScanner) Report() *LogReport {
	rep := &LogReport{Lines: s.lines, Bytes: s.bytes}
	if s.matchers != nil {
		rep.Diagnostics = append(rep.Diagnostics, s.matchers.diagnostics()...)
		rep.DiagnosticsDropped = s.matchers.dropped
	}
	for _, m := range s.heap.items {
		rep.Matches = append(rep.Matches, *m)
	}
	sort.Slice(rep.Matches, func(i, j int) bool { return rep.Matches[i].Line < rep.Matches[j].Line })
	tail := s.recent(tailLines)
	first := s.lines - int64(len(tail)) + 1
	for i, t := range tail {
		if len(bytes.TrimSpace([]byte(t))) > 0 {
			rep.Tail = append(rep.Tail, Match{Line: first + int64(i), Text: t, Category: CategoryUnknown})
		}
	}
	return rep
}
