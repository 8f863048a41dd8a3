package triage

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// A variant is one top-level alternative of a rule's pattern with the
// literals any match of it must contain: every clause needs at least one
// of its literals in the line (ASCII case-insensitively). A line reaches a
// rule's regular expression only when some variant has all its clauses
// met, and the variant's own, smaller expression matches.
type variant struct {
	rule    int
	clauses [][]string
	re      *regexp.Regexp
	// literal is set when the variant is one case-sensitive literal, at
	// the start of the line when anchored: then a byte comparison
	// answers for re.
	literal  []byte
	anchored bool
	guard    *guard // nil: re answers alone
}

// match reports whether the variant's expression matches text.
func (v *variant) match(text []byte) bool {
	switch {
	case v.literal == nil && v.guard != nil:
		if ok, sure := v.guard.match(text); !ok || sure {
			return ok
		}
		return v.re.Match(text)
	case v.literal == nil:
		return v.re.Match(text)
	case v.anchored:
		return bytes.HasPrefix(text, v.literal)
	}
	return bytes.Contains(text, v.literal)
}

// literalOf returns the literal re is, possibly anchored at the start of
// the text, when it is one case-sensitive literal without U+FFFD (which
// would match invalid UTF-8 in re, and no byte comparison does).
func literalOf(re *syntax.Regexp) (lit []byte, anchored bool) {
	if re.Op == syntax.OpConcat && len(re.Sub) == 2 && re.Sub[0].Op == syntax.OpBeginText {
		re, anchored = re.Sub[1], true
	}
	if re.Op != syntax.OpLiteral || re.Flags&syntax.FoldCase != 0 || slices.Contains(re.Rune, utf8.RuneError) {
		return nil, false
	}
	return []byte(string(re.Rune)), anchored
}

const maxClauses = 4

// variantsOf splits pattern into its top-level alternatives with their
// required literals. ok is false when some alternative requires no
// literal, so the rule must be tried on every line.
func variantsOf(pattern string) (vs []variant, ok bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, false
	}
	re = re.Simplify()
	alts := []*syntax.Regexp{re}
	if re.Op == syntax.OpAlternate {
		alts = re.Sub
	}
	for _, alt := range alts {
		cl := clausesOf(alt)
		if len(cl) == 0 {
			return nil, false
		}
		short := withoutTrailingAny(alt)
		vre, err := regexp.Compile(regexpText(short))
		if err != nil {
			return nil, false
		}
		lit, anchored := literalOf(alt)
		vs = append(vs, variant{clauses: cl, re: vre, literal: lit, anchored: anchored, guard: newGuard(short)})
	}
	return vs, true
}

// withoutTrailingAny returns re without the ".*" that ends it, if any: a
// variant's expression is only asked whether a line matches, and whether
// X.* matches is whether X does, without the expression walking the rest
// of the line. re is not changed.
func withoutTrailingAny(re *syntax.Regexp) *syntax.Regexp {
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 {
		return re
	}
	last := re.Sub[len(re.Sub)-1]
	for last.Op == syntax.OpCapture {
		last = last.Sub[0]
	}
	if last.Op != syntax.OpStar || last.Sub[0].Op != syntax.OpAnyCharNotNL && last.Sub[0].Op != syntax.OpAnyChar {
		return re
	}
	out := *re
	out.Sub = re.Sub[:len(re.Sub)-1]
	return &out
}

// requiredLiterals is the union of each variant's best clause: a line
// holding none of them cannot match.
func requiredLiterals(pattern string) ([]string, bool) {
	vs, ok := variantsOf(pattern)
	if !ok {
		return nil, false
	}
	var all []string
	for _, v := range vs {
		all = append(all, bestClause(v.clauses)...)
	}
	return all, true
}

// clausesOf returns a conjunction of clauses every match of re satisfies.
func clausesOf(re *syntax.Regexp) [][]string {
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		if s == "" || re.Flags&syntax.FoldCase != 0 && !isASCII(s) {
			return nil
		}
		return [][]string{{strings.ToLower(s)}}
	case syntax.OpCapture, syntax.OpPlus:
		return clausesOf(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min < 1 {
			return nil
		}
		sub := re.Sub[0]
		if sub.Op == syntax.OpLiteral && len(sub.Rune) == 1 && re.Min > 1 {
			lit := &syntax.Regexp{Op: syntax.OpLiteral, Flags: sub.Flags, Rune: []rune(strings.Repeat(string(sub.Rune), min(re.Min, 8)))}
			return clausesOf(lit)
		}
		return clausesOf(sub)
	case syntax.OpConcat:
		// Adjacent parts with a small, finite set of spellings ("go" then
		// "fmt|imports") combine into one clause of whole words.
		var all [][]string
		run := []string{""}
		flush := func() {
			if !slices.Contains(run, "") {
				all = append(all, run)
			}
			run = []string{""}
		}
		for _, sub := range re.Sub {
			if fs, ok := finiteStrings(sub); ok {
				if p, ok := product(run, fs); ok {
					run = p
				} else {
					flush()
					run = fs
				}
				continue
			}
			if (sub.Op == syntax.OpPlus || sub.Op == syntax.OpRepeat && sub.Min >= 1) && len(sub.Sub) == 1 {
				if fs, ok := finiteStrings(sub.Sub[0]); ok {
					if p, ok := product(run, fs); ok {
						run = p
					}
					flush()
					continue
				}
			}
			flush()
			all = append(all, clausesOf(sub)...)
		}
		flush()
		// Keep the most selective clauses: long literals are rare, and a
		// clause of one or two bytes would fire on almost every line.
		if len(all) > 1 {
			kept := all[:0:0]
			for _, c := range all {
				if minLen(c) >= 3 {
					kept = append(kept, c)
				}
			}
			if len(kept) == 0 {
				kept = [][]string{bestClause(all)}
			}
			all = kept
		}
		for len(all) > maxClauses {
			worst := 0
			for i := range all {
				if minLen(all[i]) < minLen(all[worst]) {
					worst = i
				}
			}
			all = append(all[:worst], all[worst+1:]...)
		}
		return all
	case syntax.OpAlternate:
		if fs, ok := finiteStrings(re); ok && !slices.Contains(fs, "") {
			return [][]string{fs}
		}
		var union []string
		for _, sub := range re.Sub {
			cl := clausesOf(sub)
			if len(cl) == 0 {
				return nil
			}
			union = append(union, bestClause(cl)...)
		}
		return [][]string{union}
	}
	return nil
}

const maxSpellings = 64

// finiteStrings lists every string re matches (lower-cased) when there are
// few of them: literals, small character classes, optional parts and
// alternations of those.
func finiteStrings(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpLiteral:
		s := string(re.Rune)
		if re.Flags&syntax.FoldCase != 0 && !isASCII(s) {
			return nil, false
		}
		return []string{strings.ToLower(s)}, true
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(out) >= 4 {
					return nil, false
				}
				out = appendUniqueString(out, strings.ToLower(string(r)))
			}
		}
		return out, len(out) > 0
	case syntax.OpCapture:
		return finiteStrings(re.Sub[0])
	case syntax.OpQuest:
		fs, ok := finiteStrings(re.Sub[0])
		if !ok {
			return nil, false
		}
		return appendUniqueString(fs, ""), true
	case syntax.OpConcat:
		out := []string{""}
		for _, sub := range re.Sub {
			fs, ok := finiteStrings(sub)
			if !ok {
				return nil, false
			}
			if out, ok = product(out, fs); !ok {
				return nil, false
			}
		}
		return out, true
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			fs, ok := finiteStrings(sub)
			if !ok {
				return nil, false
			}
			for _, f := range fs {
				out = appendUniqueString(out, f)
			}
			if len(out) > maxSpellings {
				return nil, false
			}
		}
		return out, true
	}
	return nil, false
}

func product(a, b []string) ([]string, bool) {
	if len(a)*len(b) > maxSpellings {
		return nil, false
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = appendUniqueString(out, x+y)
		}
	}
	return out, true
}

func appendUniqueString(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func bestClause(cl [][]string) []string {
	best := cl[0]
	for _, c := range cl[1:] {
		if minLen(c) > minLen(best) {
			best = c
		}
	}
	return best
}

func minLen(l []string) int {
	m := 1 << 30
	for _, s := range l {
		m = min(m, len(s))
	}
	return m
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// clauseRef names a clause of variant v by its slot among the clauses of
// all variants.
type clauseRef struct{ v, slot int32 }

// output is a clause literal the automaton found the head of: the clause is
// met when rest follows (ASCII case-insensitively).
type output struct {
	clauseRef
	rest string
}

// maxHead is the longest literal head the automaton reads: longer literals
// are checked past it on the bytes. Heads keep the automaton small enough
// for the processor's caches (a third of the states all literals need),
// and they bound the overlap of the two halves scan reads at once.
const maxHead = 8

// prefilter finds, for a line, the rules worth running: an Aho-Corasick
// automaton over the heads of every clause literal (ASCII case-insensitive,
// dense table over byte classes: one table load per input byte whatever
// the number of rules), then a count of met clauses per variant.
type prefilter struct {
	class  [256]uint8
	nclass int32
	// delta maps state*nclass + class to the next state, premultiplied by
	// nclass, and bit-inverted (negative) when that state has outputs, so
	// the scan loop does one load per byte and tests the sign.
	delta    []int32
	outs     [][]output // by state
	variants []variant
	need     []int32 // by variant: its number of clauses
	nslots   int     // clauses of all variants
}

// scratch is the per-scanner state of a prefilter run.
type scratch struct {
	clauseStamp []uint32 // clause slot -> line stamp when met
	metCount    []int32
	metStamp    []uint32
	stamp       uint32
	candidates  []int32 // variants fully met on this line
	later       []hit   // the second half's outputs, met after the first's
}

// hit is an automaton state with outputs reached at byte end of a line.
type hit struct{ end, state int32 }

func newScratch(p *prefilter) *scratch {
	return &scratch{clauseStamp: make([]uint32, p.nslots), metCount: make([]int32, len(p.variants)), metStamp: make([]uint32, len(p.variants))}
}

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func newPrefilter(variants []variant) *prefilter {
	p := &prefilter{variants: variants}
	type lit struct {
		s   string
		ref clauseRef
	}
	var lits []lit
	p.need = make([]int32, len(variants))
	for vi, v := range variants {
		p.need[vi] = int32(len(v.clauses))
		for _, c := range v.clauses {
			for _, s := range c {
				lits = append(lits, lit{s, clauseRef{int32(vi), int32(p.nslots)}})
			}
			p.nslots++
		}
	}
	p.nclass = 1
	for _, l := range lits {
		for i := 0; i < min(len(l.s), maxHead); i++ {
			c := lowerByte(l.s[i])
			if p.class[c] == 0 {
				p.class[c] = uint8(p.nclass)
				p.nclass++
			}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		p.class[c] = p.class[c+'a'-'A']
	}
	nc := int(p.nclass)
	gotoT := [][]int32{newRow(nc)}
	outs := [][]output{nil}
	for _, l := range lits {
		head := l.s[:min(len(l.s), maxHead)]
		s := int32(0)
		for i := 0; i < len(head); i++ {
			c := p.class[head[i]]
			if gotoT[s][c] < 0 {
				gotoT[s][c] = int32(len(gotoT))
				gotoT = append(gotoT, newRow(nc))
				outs = append(outs, nil)
			}
			s = gotoT[s][c]
		}
		outs[s] = appendOutput(outs[s], output{l.ref, l.s[len(head):]})
	}
	n := len(gotoT)
	fail := make([]int32, n)
	p.delta = make([]int32, n*nc)
	queue := make([]int32, 0, n)
	for c := 0; c < nc; c++ {
		if t := gotoT[0][c]; t >= 0 {
			p.delta[c] = t
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, r := range outs[fail[s]] {
			outs[s] = appendOutput(outs[s], r)
		}
		for c := 0; c < nc; c++ {
			t := gotoT[s][c]
			if t < 0 {
				p.delta[int(s)*nc+c] = p.delta[int(fail[s])*nc+c]
				continue
			}
			fail[t] = p.delta[int(fail[s])*nc+c]
			p.delta[int(s)*nc+c] = t
			queue = append(queue, t)
		}
	}
	// outs is indexed by state, not by premultiplied state: a slice header
	// per (state, class) pair was most of the memory the rules took.
	for i, t := range p.delta {
		p.delta[i] = t * int32(nc)
		if len(outs[t]) > 0 {
			p.delta[i] = ^p.delta[i]
		}
	}
	p.outs = outs
	return p
}

func newRow(n int) []int32 {
	r := make([]int32, n)
	for i := range r {
		r[i] = -1
	}
	return r
}

func appendOutput(s []output, r output) []output {
	if slices.Contains(s, r) {
		return s
	}
	return append(s, r)
}

// scan returns the variants whose clauses line all meets, in the order
// their last clause ends in the line.
func (p *prefilter) scan(sc *scratch, line []byte) []int32 {
	sc.candidates = sc.candidates[:0]
	if len(p.variants) == 0 {
		return nil
	}
	sc.stamp++
	if sc.stamp == 0 {
		clear(sc.clauseStamp)
		clear(sc.metStamp)
		sc.stamp = 1
	}
	delta, class := p.delta, &p.class
	// Each byte's state depends on the one before: the processor waits on
	// one table load per byte. Two halves read at once wait together. The
	// second starts maxHead-1 bytes early, so that from the middle on it is
	// in the state a single pass would be; its outputs are met after the
	// first half's, in the order a single pass meets them.
	first, second := line, []byte(nil)
	mid := len(line)
	if len(line) >= 4*maxHead {
		mid = (len(line) + maxHead) / 2
		first, second = line[:mid], line[mid-maxHead+1:]
	}
	off := int32(mid - maxHead + 1)
	sc.later = sc.later[:0]
	s, t := int32(0), int32(0)
	i := 0
	for ; i < len(second); i++ {
		s = delta[s+int32(class[first[i]])]
		t = delta[t+int32(class[second[i]])]
		if s < 0 {
			s = ^s
			p.meet(sc, line, int32(i), s)
		}
		if t < 0 {
			t = ^t
			if end := off + int32(i); end >= int32(mid) {
				sc.later = append(sc.later, hit{end, t})
			}
		}
	}
	for ; i < len(first); i++ {
		s = delta[s+int32(class[first[i]])]
		if s < 0 {
			s = ^s
			p.meet(sc, line, int32(i), s)
		}
	}
	for _, h := range sc.later {
		p.meet(sc, line, h.end, h.state)
	}
	return sc.candidates
}

// meet counts the clauses whose literal ends at byte end of line, in
// premultiplied state s.
func (p *prefilter) meet(sc *scratch, line []byte, end, s int32) {
	stamp := sc.stamp
	for _, r := range p.outs[s/p.nclass] {
		cs := &sc.clauseStamp[r.slot]
		if *cs == stamp || r.rest != "" && !hasFoldPrefix(line[end+1:], r.rest) {
			continue
		}
		*cs = stamp
		if sc.metStamp[r.v] != stamp {
			sc.metStamp[r.v] = stamp
			sc.metCount[r.v] = 0
		}
		sc.metCount[r.v]++
		if sc.metCount[r.v] == p.need[r.v] {
			sc.candidates = append(sc.candidates, r.v)
		}
	}
}

// hasFoldPrefix reports whether b starts with lower, ASCII
// case-insensitively.
func hasFoldPrefix(b []byte, lower string) bool {
	if len(b) < len(lower) {
		return false
	}
	for i := 0; i < len(lower); i++ {
		if lowerByte(b[i]) != lower[i] {
			return false
		}
	}
	return true
}
