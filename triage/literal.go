package triage

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// requiredLiterals returns strings of which every match of pattern contains
// at least one (compared ASCII case-insensitively), so a line holding none
// of them can skip the regular expression. ok is false when no such set is
// known and the rule must be tried on every line.
func requiredLiterals(pattern string) (lits []string, ok bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, false
	}
	return literalsOf(re.Simplify())
}

func literalsOf(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		if re.Flags&syntax.FoldCase != 0 && !isASCII(s) {
			return nil, false
		}
		if s == "" {
			return nil, false
		}
		return []string{strings.ToLower(s)}, true
	case syntax.OpCapture:
		return literalsOf(re.Sub[0])
	case syntax.OpPlus:
		return literalsOf(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return literalsOf(re.Sub[0])
		}
		return nil, false
	case syntax.OpConcat:
		var best []string
		for _, sub := range re.Sub {
			l, ok := literalsOf(sub)
			if ok && betterLiterals(l, best) {
				best = l
			}
		}
		return best, best != nil
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			l, ok := literalsOf(sub)
			if !ok {
				return nil, false
			}
			all = append(all, l...)
		}
		return all, true
	}
	return nil, false
}

// betterLiterals prefers the set whose shortest member is longest: long
// literals are rare in logs, so the prefilter lets fewer lines through.
func betterLiterals(a, b []string) bool {
	if b == nil {
		return true
	}
	return minLen(a) > minLen(b)
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

// literalMatcher is an Aho-Corasick automaton over the rules' required
// literals, ASCII case-insensitive, with a dense transition table over byte
// classes: one table load per input byte, whatever the number of rules.
type literalMatcher struct {
	class    [256]uint8
	nclass   int
	delta    []int32 // state*nclass + class -> next state
	outs     [][]int // rule indexes found on reaching a state
	hasOut   []bool
	numRules int
}

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func newLiteralMatcher(lits []string, owners []int) *literalMatcher {
	m := &literalMatcher{}
	// Byte classes: every byte used by a literal gets its own class (both
	// cases share one); all other bytes share class 0.
	m.nclass = 1
	for _, l := range lits {
		for i := 0; i < len(l); i++ {
			c := lowerByte(l[i])
			if m.class[c] == 0 {
				m.class[c] = uint8(m.nclass)
				m.nclass++
			}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		m.class[c] = m.class[c+'a'-'A']
	}
	// The trie, with goto transitions (-1 = none) filled in below.
	gotoT := [][]int32{newRow(m.nclass)}
	outs := [][]int{nil}
	for li, l := range lits {
		s := int32(0)
		for i := 0; i < len(l); i++ {
			c := m.class[l[i]]
			if gotoT[s][c] < 0 {
				gotoT[s][c] = int32(len(gotoT))
				gotoT = append(gotoT, newRow(m.nclass))
				outs = append(outs, nil)
			}
			s = gotoT[s][c]
		}
		outs[s] = appendUnique(outs[s], owners[li])
		m.numRules = max(m.numRules, owners[li]+1)
	}
	n := len(gotoT)
	fail := make([]int32, n)
	m.delta = make([]int32, n*m.nclass)
	queue := make([]int32, 0, n)
	for c := 0; c < m.nclass; c++ {
		if t := gotoT[0][c]; t >= 0 {
			m.delta[c] = t
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		outs[s] = appendAllUnique(outs[s], outs[fail[s]])
		for c := 0; c < m.nclass; c++ {
			t := gotoT[s][c]
			if t < 0 {
				m.delta[int(s)*m.nclass+c] = m.delta[int(fail[s])*m.nclass+c]
				continue
			}
			fail[t] = m.delta[int(fail[s])*m.nclass+c]
			m.delta[int(s)*m.nclass+c] = t
			queue = append(queue, t)
		}
	}
	m.outs = outs
	m.hasOut = make([]bool, n)
	for i, o := range outs {
		m.hasOut[i] = len(o) > 0
	}
	return m
}

func newRow(n int) []int32 {
	r := make([]int32, n)
	for i := range r {
		r[i] = -1
	}
	return r
}

func appendUnique(s []int, v int) []int {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func appendAllUnique(s, vs []int) []int {
	for _, v := range vs {
		s = appendUnique(s, v)
	}
	return s
}

// scan calls hit for each rule with a literal in line; a rule may be
// reported more than once.
func (m *literalMatcher) scan(line []byte, hit func(rule int)) {
	if len(m.hasOut) <= 1 {
		return
	}
	s := int32(0)
	nc := int32(m.nclass)
	delta, class, hasOut := m.delta, &m.class, m.hasOut
	for _, b := range line {
		s = delta[s*nc+int32(class[b])]
		if hasOut[s] {
			for _, r := range m.outs[s] {
				hit(r)
			}
		}
	}
}
