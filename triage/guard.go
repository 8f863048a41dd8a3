package triage

import (
	"bytes"
	"regexp/syntax"
	"slices"
	"unicode/utf8"
)

// A guard answers for a variant's regular expression on most lines, on
// the bytes, before the regexp package is asked. The prefilter passes a
// line on when it holds a variant's literals ("_test.go:", ".go:"), but
// many such lines fail the expression right after the literal ("x_test.go:12: "
// has one number where a compiler error has two): the guard walks the
// parts of the expression it understands (literals, ASCII classes and
// their repeats, groups, alternations, \A, $, \b: not \B, which a byte
// inside a character could meet) from each place the
// literal occurs, and says no without starting the regexp machine. When it
// understands the whole expression its answer is the expression's own.
type guard struct {
	lit      []byte  // where a match can start: each occurrence of lit (nil: at 0 only)
	steps    []gstep // the expression from there on
	exact    bool    // steps are all the expression: a yes is final
	anchored bool
}

type gop uint8

const (
	gLit     gop = iota // the bytes lit
	gFold               // the bytes lit, ASCII case folded (lit is lower case)
	gRun                // between min and max bytes of set (max < 0: no limit)
	gAlt                // one of alts, each followed by the rest of its own
	gBegin              // the start of the text
	gEnd                // the end of the text
	gWord               // a word boundary (\b)
	gUnknown            // a part the guard does not read: it could match
)

type gstep struct {
	op       gop
	lit      []byte
	set      *[256]bool
	min, max int
	alts     [][]gstep
}

// maxGuardSteps bounds a guard's size: alternations copy what follows
// them into each branch.
const maxGuardSteps = 512

// newGuard returns the guard of a variant's expression re, or nil when it
// would rule nothing out before the regexp package does.
func newGuard(re *syntax.Regexp) *guard {
	b := guardBuilder{}
	steps := b.build(re, nil)
	if b.size > maxGuardSteps {
		return nil
	}
	g := &guard{steps: steps, exact: !b.unknown}
	// A match starts at 0, at each occurrence of a leading literal, or,
	// when neither, it contains a literal of the top-level sequence: a
	// guard from there on rules lines out, but cannot answer yes.
	for i, st := range steps {
		switch {
		case i == 0 && st.op == gBegin:
			g.anchored = true
			return g
		case st.op == gLit && len(st.lit) > 0:
			if i > 0 {
				g.exact = false
			}
			g.lit, g.steps = st.lit, steps[i:]
			return g
		case st.op == gAlt || st.op == gUnknown:
			return nil
		}
	}
	return nil
}

type guardBuilder struct {
	size    int
	unknown bool
}

// build returns the steps of re followed by rest.
func (b *guardBuilder) build(re *syntax.Regexp, rest []gstep) []gstep {
	b.size++
	if b.size > maxGuardSteps {
		return b.unread()
	}
	one := func(s gstep) []gstep { return append([]gstep{s}, rest...) }
	switch re.Op {
	case syntax.OpEmptyMatch:
		return rest
	case syntax.OpLiteral:
		s := string(re.Rune)
		if re.Flags&syntax.FoldCase == 0 {
			if slices.Contains(re.Rune, utf8.RuneError) {
				return b.unread()
			}
			return one(gstep{op: gLit, lit: []byte(s)})
		}
		// (?i)k and (?i)s also match the Kelvin sign and the long s.
		lower := make([]byte, 0, len(s))
		for i := 0; i < len(s); i++ {
			c := lowerByte(s[i])
			if c >= utf8.RuneSelf || c == 'k' || c == 's' {
				return b.unread()
			}
			lower = append(lower, c)
		}
		return one(gstep{op: gFold, lit: lower})
	case syntax.OpCharClass, syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		set, ok := byteSet(re, false)
		if !ok {
			return b.unread()
		}
		return one(gstep{op: gRun, set: set, min: 1, max: 1})
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := 0, -1
		switch re.Op {
		case syntax.OpPlus:
			lo = 1
		case syntax.OpQuest:
			hi = 1
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
		}
		// A repeat of "." counts runes: bytes stand for them only
		// without a bound.
		if set, ok := byteSet(re.Sub[0], lo <= 1 && hi < 0); ok {
			return one(gstep{op: gRun, set: set, min: lo, max: hi})
		}
		if re.Op == syntax.OpQuest {
			return one(gstep{op: gAlt, alts: [][]gstep{b.build(re.Sub[0], rest), rest}})
		}
		return b.unread()
	case syntax.OpCapture:
		return b.build(re.Sub[0], rest)
	case syntax.OpConcat:
		for i := len(re.Sub) - 1; i >= 0; i-- {
			rest = b.build(re.Sub[i], rest)
		}
		return rest
	case syntax.OpAlternate:
		alts := make([][]gstep, len(re.Sub))
		for i, sub := range re.Sub {
			alts[i] = b.build(sub, rest)
		}
		return one(gstep{op: gAlt, alts: alts})
	case syntax.OpBeginText:
		return one(gstep{op: gBegin})
	case syntax.OpEndText:
		return one(gstep{op: gEnd})
	case syntax.OpWordBoundary:
		return one(gstep{op: gWord})
	}
	return b.unread()
}

func (b *guardBuilder) unread() []gstep {
	b.unknown = true
	return []gstep{{op: gUnknown}}
}

// byteSet returns the bytes re matches when it matches one ASCII byte (a
// class, a literal, or with anyDot "." as any number of bytes).
func byteSet(re *syntax.Regexp, anyDot bool) (*[256]bool, bool) {
	var set [256]bool
	switch re.Op {
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i+1] >= utf8.RuneSelf {
				return nil, false
			}
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				set[r] = true
			}
		}
	case syntax.OpLiteral:
		if len(re.Rune) != 1 || re.Rune[0] >= utf8.RuneSelf || re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		set[re.Rune[0]] = true
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		if !anyDot {
			return nil, false
		}
		for i := range set {
			set[i] = re.Op == syntax.OpAnyChar || i != '\n'
		}
	default:
		return nil, false
	}
	return &set, true
}

// maxGuardWork bounds the steps one line may cost; past it the regexp
// package answers.
const maxGuardWork = 4096

// match reports whether the expression could match text (ok), and whether
// that answer is the expression's own (sure); a no is always sure.
func (g *guard) match(text []byte) (ok, sure bool) {
	w := guardRun{text: text, work: maxGuardWork}
	if g.anchored {
		ok = w.run(g.steps, 0)
		return ok, !w.out && (g.exact || !ok)
	}
	for off := 0; off <= len(text); {
		k := bytes.Index(text[off:], g.lit)
		if k < 0 {
			break
		}
		if w.run(g.steps, off+k) {
			return true, g.exact && !w.out
		}
		off += k + 1
	}
	return false, !w.out
}

type guardRun struct {
	text []byte
	work int
	out  bool // the work ran out: the answer is a guess of yes
}

func (w *guardRun) run(steps []gstep, i int) bool {
	t := w.text
	for k := range steps {
		s := &steps[k]
		if w.work--; w.work < 0 {
			w.out = true
			return true
		}
		switch s.op {
		case gLit:
			if !bytes.HasPrefix(t[i:], s.lit) {
				return false
			}
			i += len(s.lit)
		case gFold:
			if len(t)-i < len(s.lit) {
				return false
			}
			for j, c := range s.lit {
				if lowerByte(t[i+j]) != c {
					return false
				}
			}
			i += len(s.lit)
		case gRun:
			j := i
			for j < len(t) && (s.max < 0 || j-i < s.max) && s.set[t[j]] {
				j++
			}
			if j-i < s.min {
				return false
			}
			if j == i+s.min {
				i = j
				continue
			}
			for ; j >= i+s.min; j-- {
				if w.run(steps[k+1:], j) {
					return true
				}
			}
			return false
		case gAlt:
			for _, a := range s.alts {
				if w.run(a, i) {
					return true
				}
			}
			return false
		case gBegin:
			if i != 0 {
				return false
			}
		case gEnd:
			if i != len(t) {
				return false
			}
		case gWord:
			if (i > 0 && isWordByte(t[i-1])) == (i < len(t) && isWordByte(t[i])) {
				return false
			}
		case gUnknown:
			return true
		}
	}
	return true
}
