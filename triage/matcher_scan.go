package triage

import (
	"bytes"
	"path"
	"strconv"
	"strings"
	"sync"
)

// MatcherSet is a compiled list of matchers, immutable and safe for
// concurrent use; each scan keeps its own state. A line is tried against a
// matcher's first pattern only when it holds a literal that pattern needs
// (found in the same prefilter pass as the rules' literals) or passes the
// matcher's gate, so matchers cost little on the lines of a log that are
// not diagnostics.
type MatcherSet struct {
	matchers []*Matcher
	variants []variant       // literals of first and remember patterns, for the joint prefilter (see RuleSet.jointWith)
	targets  []matcherTarget // a variant's rule index → what it gates
	always   []int           // matchers whose first pattern is tried on every line
	gated    []int           // matchers with a gate or a remember gate
}

type matcherTarget struct {
	matcher  int
	remember bool // the literal gates the remember pattern, not the first one
}

// maxDiagnostics bounds the diagnostics kept per step log.
const maxDiagnostics = 100

// defaultMatchers is compiled on first use, as the rules are (logscan.go),
// so that processes that scan no log do not pay for it in init.
var defaultMatchers = sync.OnceValue(func() *MatcherSet { return CompileMatchers(BuiltinMatchers()) })

// DefaultMatchers is the compiled set of built-in matchers.
func DefaultMatchers() *MatcherSet { return defaultMatchers() }

// CompileMatchers prepares matchers for scanning, in order: when several
// match one line, the first wins.
func CompileMatchers(ms []*Matcher) *MatcherSet {
	s := &MatcherSet{matchers: ms}
	add := func(pattern string, t matcherTarget) bool {
		vs, ok := variantsOf(pattern)
		if !ok {
			return false
		}
		for _, v := range vs {
			v.rule = len(s.targets)
			s.variants = append(s.variants, v)
		}
		s.targets = append(s.targets, t)
		return true
	}
	for i, m := range ms {
		if m.gate != nil || m.remGate != nil {
			s.gated = append(s.gated, i)
		}
		if m.gate == nil && !add(m.Patterns[0].Regexp.String(), matcherTarget{matcher: i}) {
			s.always = append(s.always, i)
		}
		if m.remember != nil && m.remGate == nil && !add(m.remember.String(), matcherTarget{matcher: i, remember: true}) {
			panic("triage: a remember pattern needs a literal: " + m.remember.String())
		}
	}
	return s
}

// WithUser returns the built-in matchers of s with the user's: a user
// matcher replaces the one with its owner (as re-registering an owner does
// in Actions), and user matchers come first, so they win a line.
func (s *MatcherSet) WithUser(user []*Matcher) *MatcherSet {
	if len(user) == 0 {
		return s
	}
	owners := map[string]bool{}
	all := append([]*Matcher(nil), user...)
	for _, m := range user {
		owners[strings.ToLower(m.Owner)] = true
	}
	for _, m := range s.matchers {
		if !owners[strings.ToLower(m.Owner)] {
			all = append(all, m)
		}
	}
	return CompileMatchers(all)
}

// Owners lists the owners of the set's matchers, in order.
func (s *MatcherSet) Owners() []string {
	out := make([]string, len(s.matchers))
	for i, m := range s.matchers {
		out[i] = m.Owner
	}
	return out
}

// partial is what the patterns of a multi-line match captured so far.
type partial struct {
	file, fromPath, line, column, severity, code, message string
}

// matcherScan runs a MatcherSet over one log.
type matcherScan struct {
	set        *MatcherSet
	paths      Paths
	hit        []uint32 // matcher → stamp of the line its first pattern may match
	hitRem     []uint32 // matcher → stamp of the line its remember pattern may match
	stamp      uint32
	live       bool         // some matcher has a match in progress or a pending diagnostic
	state      [][]*partial // matcher → partial matches after pattern i
	remembered []string
	pending    []*Diagnostic
	out        []Diagnostic
	seen       map[Diagnostic]bool // by place and message: tools repeat errors in their summaries
	dropped    int
}

func newMatcherScan(set *MatcherSet, paths Paths) *matcherScan {
	n := len(set.matchers)
	ms := &matcherScan{set: set, paths: paths, hit: make([]uint32, n), hitRem: make([]uint32, n),
		state: make([][]*partial, n), remembered: make([]string, n), pending: make([]*Diagnostic, n)}
	for i, m := range set.matchers {
		ms.state[i] = make([]*partial, len(m.Patterns)-1)
	}
	return ms
}

// line feeds log line n (cleaned text) with the candidates j's prefilter
// found in it. Most lines are no matcher's business: without a candidate,
// a gate passed or a match in progress, it returns at once.
func (ms *matcherScan) line(n int64, text []byte, cands []int32, j *joint) {
	ms.stamp++
	stamp := ms.stamp
	any := len(ms.set.always) > 0
	for _, vi := range cands {
		if vi < j.nRule {
			continue // a rule's
		}
		t := ms.set.targets[j.pre.variants[vi].rule]
		if t.remember {
			ms.hitRem[t.matcher] = stamp
		} else {
			ms.hit[t.matcher] = stamp
		}
		any = true
	}
	for _, i := range ms.set.always {
		ms.hit[i] = stamp
	}
	for _, i := range ms.set.gated {
		m := ms.set.matchers[i]
		if m.gate != nil && m.gate(text) {
			ms.hit[i], any = stamp, true
		}
		if m.remGate != nil && m.remGate(text) {
			ms.hitRem[i], any = stamp, true
		}
	}
	if !any && !ms.live {
		return
	}
	done := false // the first matcher that makes a diagnostic of a line wins it
	live := false
	for i, m := range ms.set.matchers {
		if ms.pending[i] != nil {
			ms.settle(i, m, n, text)
		}
		if ms.hitRem[i] == stamp && (!m.remFirst || ms.remembered[i] == "") {
			if g := m.remember.FindSubmatch(text); g != nil && len(g) > 1 {
				ms.remembered[i] = strings.TrimSpace(string(g[1]))
			}
		}
		if ms.hit[i] == stamp || running(ms.state[i]) {
			if d, ok := ms.match(i, m, text); ok && !done {
				done = ms.emit(i, m, n, d)
			}
		}
		live = live || ms.pending[i] != nil || running(ms.state[i])
	}
	ms.live = live
}

func running(st []*partial) bool {
	for _, p := range st {
		if p != nil {
			return true
		}
	}
	return false
}

// match runs matcher i over text as the Actions runner does: patterns are
// tried last to first, pattern k only with a running match of the
// patterns before it; the last pattern completes a match (keeping the
// running one when it loops), a pattern that does not match ends the
// running match it would have continued.
func (ms *matcherScan) match(i int, m *Matcher, text []byte) (partial, bool) {
	st := ms.state[i]
	pats := m.Patterns
	tried0 := ms.hit[i] == ms.stamp
	for k := len(pats) - 1; k >= 0; k-- {
		var run *partial
		if k > 0 {
			run = st[k-1]
			if run == nil {
				continue
			}
		}
		last := k == len(pats)-1
		var g [][]byte
		if k > 0 || tried0 {
			g = pats[k].Regexp.FindSubmatch(text)
		}
		if g == nil {
			if last && k > 0 {
				st[k-1] = nil
			} else if !last {
				st[k] = nil
			}
			continue
		}
		p := capture(run, pats[k], g)
		if !last {
			st[k] = &p
			continue
		}
		clear(st)
		if pats[k].Loop {
			st[k-1] = run
		}
		return p, true
	}
	return partial{}, false
}

// capture merges a pattern's groups into the running match: values the
// earlier patterns captured win, as in Actions.
func capture(run *partial, p MatcherPattern, g [][]byte) partial {
	var out partial
	if run != nil {
		out = *run
	}
	set := func(dst *string, idx int) {
		if *dst == "" && idx > 0 && idx < len(g) {
			*dst = string(g[idx])
		}
	}
	set(&out.file, p.File)
	set(&out.fromPath, p.FromPath)
	set(&out.line, p.Line)
	set(&out.column, p.Column)
	set(&out.severity, p.Severity)
	set(&out.code, p.Code)
	set(&out.message, p.Message)
	if out.column == "" && p.indentColumn > 0 && p.indentColumn < len(g) {
		out.column = strconv.Itoa(len(g[p.indentColumn]) + 1)
	}
	return out
}

// emit turns a completed match into a diagnostic at a file of the
// checkout; it reports whether the line produced one.
func (ms *matcherScan) emit(i int, m *Matcher, n int64, p partial) bool {
	file := strings.TrimSpace(p.file)
	if file == "" {
		return false
	}
	if p.fromPath != "" && !strings.HasPrefix(file, "/") && !isWindowsAbs(file) {
		file = path.Join(path.Dir(strings.ReplaceAll(p.fromPath, `\`, "/")), file)
	}
	if isDependencyPath(file) || m.skip != nil && m.skip(file) {
		return false
	}
	rel, ok := ms.paths.Resolve(file, "")
	if !ok {
		return false
	}
	d := Diagnostic{File: rel, Line: atoiSafe(p.line), Column: atoiSafe(p.column), Severity: severityOf(p.severity, m.Severity),
		Message: oneLine(p.message, 1000), Code: strings.TrimSpace(p.code), Owner: m.Owner, LogLine: n}
	if m.remember != nil {
		r := ms.remembered[i]
		ms.remembered[i] = ""
		switch {
		case r == "" && d.Message == "":
			return false
		case d.Message == "" || strings.HasPrefix(r, d.Message):
			d.Message = oneLine(r, 1000)
		case r != "":
			d.Message = oneLine(d.Message+": "+r, 1000)
		}
	}
	if m.pending != nil {
		ms.pending[i] = &d // the innermost frame wins: a later one replaces it
		return true
	}
	ms.add(d)
	return true
}

// settle gives the diagnostic matcher i holds the message of the line
// that ends it (an exception after its traceback), or drops it at a line
// that is no longer part of the block.
func (ms *matcherScan) settle(i int, m *Matcher, n int64, text []byte) {
	if g := m.pending.FindSubmatch(text); g != nil && len(g) > 1 {
		d := *ms.pending[i]
		ms.pending[i] = nil
		if msg := strings.TrimSpace(string(g[1])); msg != "" {
			d.Message = oneLine(msg, 1000)
		}
		ms.add(d)
		return
	}
	if len(text) > 0 && text[0] != ' ' && text[0] != '\t' && !m.Patterns[0].Regexp.Match(text) {
		ms.pending[i] = nil
	}
}

func (ms *matcherScan) add(d Diagnostic) {
	key := d
	key.LogLine = 0
	if ms.seen[key] {
		return
	}
	if ms.seen == nil {
		ms.seen = map[Diagnostic]bool{}
	}
	ms.seen[key] = true
	if len(ms.out) >= maxDiagnostics {
		ms.dropped++
		return
	}
	ms.out = append(ms.out, d)
}

// diagnostics returns what the scan found, in log order.
func (ms *matcherScan) diagnostics() []Diagnostic {
	return ms.out
}

func atoiSafe(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// severityOf maps what tools print to error, warning or notice.
func severityOf(s, def string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "error", "fatal error", "fatal", "err", "e", "failure":
		return "error"
	case "warning", "warn", "w":
		return "warning"
	case "notice", "info", "note", "style", "hint":
		return "notice"
	}
	if def == "" {
		return "error"
	}
	return def
}

// isDependencyPath reports files of installed dependencies and toolchains,
// never the project's own even when they sit inside the checkout.
func isDependencyPath(file string) bool {
	f := strings.ReplaceAll(file, `\`, "/")
	for _, dir := range []string{"node_modules/", "site-packages/", "dist-packages/", ".cargo/registry/", "/rustc/", ".m2/repository/", "/usr/include/", "/usr/lib/"} {
		if strings.Contains(f, dir) {
			return true
		}
	}
	return strings.HasPrefix(f, "node:") || strings.HasPrefix(f, "<") || isOutsideRepo(f)
}

// hasSuffixFold reports whether b ends with one of sufs, ASCII
// case-insensitively.
func hasSuffixFold(b []byte, sufs ...string) bool {
	for _, s := range sufs {
		if len(b) >= len(s) && bytes.EqualFold(b[len(b)-len(s):], []byte(s)) {
			return true
		}
	}
	return false
}

// attachDiagnostics gives the step's first failure all its diagnostics,
// and each evidence line the diagnostic read on it, so that they travel
// with the failure. A failure from the log without a location takes the
// one of the first diagnostic in its deciding block. dropped counts the
// diagnostics the scan did not keep.
func attachDiagnostics(fs []Failure, ds []Diagnostic, dropped int) {
	if len(fs) == 0 || len(ds) == 0 {
		return
	}
	fs[0].Diagnostics, fs[0].DiagnosticsDropped = ds, dropped
	byLine := make(map[int64]*Diagnostic, len(ds))
	for i := range ds {
		if _, dup := byLine[ds[i].LogLine]; !dup {
			byLine[ds[i].LogLine] = &ds[i]
		}
	}
	for i := range fs {
		f := &fs[i]
		for j := range f.Evidence {
			if d, ok := byLine[f.Evidence[j].Line]; ok && f.Evidence[j].Line > 0 {
				dc := *d
				f.Evidence[j].Diagnostic = &dc
			}
		}
		if f.Source != "log" || len(f.EvidenceRanges) == 0 {
			continue
		}
		r := f.EvidenceRanges[0]
		for _, d := range ds {
			if d.LogLine >= r.Start && d.LogLine <= r.End && d.Line > 0 {
				f.File, f.Line = d.File, d.Line
				break
			}
		}
	}
}
