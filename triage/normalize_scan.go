package triage

import "strings"

// Hand-written scanners for the hot paths of normalisation. Each guard is
// a necessary condition of the pattern it protects, so skipping the
// pattern when the guard fails changes no output.

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// byteClass answers the scanners' per-byte questions with one load each
// instead of a chain of range tests: every byte of a line goes through
// several of them.
var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
		if alnum || b == '_' {
			t[c] |= clWord | clToken
		}
		if b == '-' || b == '.' {
			t[c] |= clToken
		}
		if b == '-' {
			t[c] |= clDash
		}
		if b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F' {
			t[c] |= clHex
		}
		if b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' {
			t[c] |= clLetter
		}
		if b >= '0' && b <= '9' {
			t[c] |= clDigit | clSyslog
		}
		if b >= 'A' && b <= 'S' {
			t[c] |= clSyslog // a month's first letter
		}
		if alnum || b == '+' || b == '/' {
			t[c] |= clBase64
		}
	}
	return t
}()

const (
	clWord   = 1 << iota // [0-9A-Za-z_], a regexp \w byte
	clToken              // a word byte, "-" or "."
	clHex                // [0-9a-fA-F]
	clBase64             // [0-9A-Za-z+/]
	clDigit              // [0-9]
	clSyslog             // [0-9A-S], where a syslog or access log time starts
	clLetter             // [A-Za-z_]
	clDash               // "-"
)

// The bit numbers of clHex and clBase64, for counting without branches.
const (
	clHexBit    = 2
	clBase64Bit = 3
	// Neither compiles if its bit is not the flag's.
	_ = uint(clHex-1<<clHexBit) + uint(1<<clHexBit-clHex)
	_ = uint(clBase64-1<<clBase64Bit) + uint(1<<clBase64Bit-clBase64)
)

// hasISODate: "dddd-dd-dd" followed by "T" or " " (reDateTime).
func hasISODate(s string) bool {
	for i := strings.IndexByte(s, '-'); i >= 0 && i+7 < len(s); {
		if i >= 4 && isDigit(s[i-1]) && isDigit(s[i-4]) && isDigit(s[i+1]) && isDigit(s[i+2]) && s[i+3] == '-' &&
			isDigit(s[i+4]) && isDigit(s[i+5]) && (s[i+6] == 'T' || s[i+6] == ' ') {
			return true
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// hasMonthName: an English month abbreviation followed by a space or "/"
// (reSyslogTime).
func hasMonthName(s string) bool {
	for i := 0; i+3 < len(s); i++ {
		c := s[i]
		if c < 'A' || c > 'S' || s[i+3] != ' ' && s[i+3] != '/' {
			continue
		}
		// Substrings starting with a capital here are exactly the months.
		if strings.Contains("JanFebMarAprMayJunJulAugSepOctNovDec", s[i:i+3]) {
			return true
		}
	}
	return false
}

// lineHints holds the guards of the rules between maskBlobs and the token
// rule, found in one pass over the line: whether it has a digit, a "-", a
// ":", a "[", a "0x" or "0X", whether a run of seven hex digits or more
// mixes digits and letters and ends at a word boundary (a hex id: a run
// of digits alone is the number rule's), whether a run of the base64
// alphabet is long enough to be a blob, whether a "-" has eight hex
// digits before it and another "-" five bytes on (a UUID), and
// digitShapes.
//
// The rules after this pass only put placeholders in, which hold no digit
// or hex run and start and end with "<" and ">": they can take a shape
// away but make none, so the guards stay necessary conditions.
type lineHints struct {
	digit, dash, colon, bracket, zeroX, blob, uuid, hexID bool
	shapes                                                digitShapes
}

// digitShapes holds the guards of the rules whose matches are digits
// around separators: a date (reDate: four digits or "d/d/dddd" around
// separators), a clock time ("d:dd:dd", reTime and
// reSyslogTime), a dotted quad (three "d.d" in one run of digits and dots,
// reIPv4) and a duration (a digit then a unit's first byte, or one space
// and a unit word's first two, reDuration).
type digitShapes struct{ date, clock, quad, dur bool }

func scanHints(s string) (h lineHints) {
	dots, hexRun, b64Start, b64Best := 0, 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		cl := byteClass[c]
		// The hex run is counted without a branch (in text, hex letters
		// and others alternate too often for one to be predicted): the
		// mask is all ones for a hex digit, else zero.
		hexBefore := hexRun
		hexRun = (hexRun + 1) & -int(cl>>clHexBit&1)
		if cl&clLetter != 0 {
			// A letter or "_": most bytes, and none of the shapes below.
			dots = 0
			continue
		}
		if cl&clDigit != 0 {
			h.digit = true
			if i+1 == len(s) {
				break
			}
			switch s[i+1] {
			case 'n', 'u', 'm', 's', 'h', 0xC2:
				h.shapes.dur = true
			case ' ', '\t', '\n', '\f', '\r', '\v':
				// After a space only a unit word: "mi", "se" or
				// "ho" (not "web02 sshd").
				if i+3 < len(s) && (s[i+2] == 'm' && s[i+3] == 'i' || s[i+2] == 's' && s[i+3] == 'e' || s[i+2] == 'h' && s[i+3] == 'o') {
					h.shapes.dur = true
				}
			case 'x', 'X':
				h.zeroX = h.zeroX || c == '0'
			}
			continue
		}
		// A run the hex rule takes ends at a word boundary: here, not
		// at a letter or digit, or at the end of the line. Long runs
		// are rare: looking at one again costs less than counting.
		if hexBefore >= 7 && !h.hexID {
			h.hexID = mixesDigitsAndLetters(s[i-hexBefore : i])
		}
		// Letters and digits are base64: its runs end here or nowhere.
		if cl&clBase64 == 0 {
			b64Best = max(b64Best, i-b64Start)
			b64Start = i + 1
		}
		switch c {
		case '-':
			h.dash = true
			// A UUID's first "-": eight hex digits before, the next
			// "-" four after.
			if hexBefore >= 8 && i+5 < len(s) && s[i+5] == '-' {
				h.uuid = true
			}
		case ':':
			h.colon = true
		case '[':
			h.bracket = true
		}
		if c != '.' {
			dots = 0
		}
		if i == 0 || i+1 == len(s) || !isDigit(s[i-1]) || !isDigit(s[i+1]) {
			continue
		}
		switch c {
		case '.':
			if dots++; dots >= 3 {
				h.shapes.quad = true
			}
			fallthrough
		case '-', '/':
			if i+4 < len(s) {
				j := i + 2
				if isDigit(s[j]) {
					j++
				}
				// Four digits before the first separator, or
				// "d/d/dddd".
				if j+1 < len(s) && (s[j] == '-' || s[j] == '/' || s[j] == '.') && isDigit(s[j+1]) &&
					(i >= 4 && isDigit(s[i-2]) && isDigit(s[i-3]) && isDigit(s[i-4]) || c == '/' && s[j] == '/' && digitsAt(s, j+1, 4)) {
					h.shapes.date = true
				}
			}
		case ':':
			if i+5 < len(s) && isDigit(s[i+2]) && s[i+3] == ':' && isDigit(s[i+4]) && isDigit(s[i+5]) {
				h.shapes.clock = true
			}
		}
	}
	if hexRun >= 7 && !h.hexID {
		h.hexID = mixesDigitsAndLetters(s[len(s)-hexRun:])
	}
	h.blob = max(b64Best, len(s)-b64Start) >= 16
	return h
}

// mixesDigitsAndLetters reports whether a run of hex digits holds both
// kinds, the runs hexOrKeep replaces.
func mixesDigitsAndLetters(run string) bool {
	digit, letter := false, false
	for i := 0; i < len(run); i++ {
		if isDigit(run[i]) {
			digit = true
		} else {
			letter = true
		}
	}
	return digit && letter
}

// numberEnd returns the end of the match of reNumber, `\b\d+([.,]\d+)*\b`,
// that starts at s[i], a digit that starts a word, or -1: the run of
// digits with as many ".d" or ",d" groups as still end at a word boundary.
func numberEnd(s []byte, i int) int {
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	end := -1
	if j == len(s) || !isWordByte(s[j]) {
		end = j
	}
	for j+1 < len(s) && (s[j] == '.' || s[j] == ',') && isDigit(s[j+1]) {
		j++
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == len(s) || !isWordByte(s[j]) {
			end = j
		}
	}
	return end
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// replaceDateTimes is reDateTime.ReplaceAllString(s, phTime) by hand:
// `\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|[+-]\d{2}:?\d{2}\b)?`.
func replaceDateTimes(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i+16 <= len(s); i++ {
		if !isDigit(s[i]) || i > 0 && isWordByte(s[i-1]) {
			continue
		}
		end := matchDateTime(s, i)
		if end < 0 {
			continue
		}
		if b.Len() == 0 && last == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:i])
		b.WriteString(phTime)
		last = end
		i = end - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func digitsAt(s string, i, n int) bool {
	if i+n > len(s) {
		return false
	}
	for k := i; k < i+n; k++ {
		if !isDigit(s[k]) {
			return false
		}
	}
	return true
}

// matchDateTime returns the end of a date and time starting at i, or -1.
func matchDateTime(s string, i int) int {
	if !digitsAt(s, i, 4) || s[i+4] != '-' || !digitsAt(s, i+5, 2) || s[i+7] != '-' || !digitsAt(s, i+8, 2) ||
		s[i+10] != 'T' && s[i+10] != ' ' || !digitsAt(s, i+11, 2) || s[i+13] != ':' || !digitsAt(s, i+14, 2) {
		return -1
	}
	j := i + 16
	if j+2 < len(s) && s[j] == ':' && digitsAt(s, j+1, 2) {
		j += 3
		if j+1 < len(s) && (s[j] == '.' || s[j] == ',') && isDigit(s[j+1]) {
			j += 2
			for j < len(s) && isDigit(s[j]) {
				j++
			}
		}
	}
	if j < len(s) {
		switch s[j] {
		case 'Z':
			j++
		case '+', '-':
			k := j + 1
			if digitsAt(s, k, 2) {
				k += 2
				atBoundary := func(e int) bool { return e == len(s) || !isWordByte(s[e]) }
				switch {
				case k < len(s) && s[k] == ':' && digitsAt(s, k+1, 2) && atBoundary(k+3):
					j = k + 3
				case digitsAt(s, k, 2) && atBoundary(k+2):
					j = k + 2
				}
			}
		}
	}
	return j
}

// replaceAt rewrites s, replacing each span match(s, i) returns (the end,
// or -1) at positions that start a word, with ph.
// first is the class of byte (clDigit, clHex, clSyslog) a match starts
// with: a table lookup, as this test runs for every byte.
func replaceAt(s, ph string, first uint8, match func(s string, i int) int) string {
	var b strings.Builder
	last, found := 0, false
	for i := 0; i < len(s); {
		cl := byteClass[s[i]]
		if cl&clWord == 0 {
			i++
			continue
		}
		// s[i] starts a word: no byte inside it can start a match, and
		// the loop below skips them at one test a byte.
		if cl&first != 0 {
			if end := match(s, i); end >= 0 {
				if !found {
					b.Grow(len(s))
					found = true
				}
				b.WriteString(s[last:i])
				b.WriteString(ph)
				last = end
				// A match that ends inside a word: the rest of the
				// word cannot start one either.
				for i = end; isWordByte(s[end-1]) && i < len(s) && isWordByte(s[i]); i++ {
				}
				continue
			}
		}
		for i++; i < len(s) && isWordByte(s[i]); i++ {
		}
	}
	if !found {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isHexDigit(c byte) bool { return byteClass[c]&clHex != 0 }

func atWordEnd(s string, e int) bool { return e == len(s) || !isWordByte(s[e]) }

// replaceUUIDs is reUUID.ReplaceAllString(s, phUUID) by hand.
func replaceUUIDs(s string) string {
	return replaceAt(s, phUUID, clHex, func(s string, i int) int {
		j := i
		for g, n := range []int{8, 4, 4, 4, 12} {
			if g > 0 {
				if j >= len(s) || s[j] != '-' {
					return -1
				}
				j++
			}
			for k := 0; k < n; k++ {
				if j >= len(s) || !isHexDigit(s[j]) {
					return -1
				}
				j++
			}
		}
		if !atWordEnd(s, j) {
			return -1
		}
		return j
	})
}

// replaceIPv4s is reIPv4.ReplaceAllString(s, phIP) by hand:
// `\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(:\d+)?\b`.
func replaceIPv4s(s string) string {
	return replaceAt(s, phIP, clDigit, func(s string, i int) int {
		j := i
		for octet := 0; octet < 4; octet++ {
			if octet > 0 {
				if j >= len(s) || s[j] != '.' {
					return -1
				}
				j++
			}
			k := j
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			if k == j || k-j > 3 {
				return -1
			}
			j = k
		}
		if j+1 < len(s) && s[j] == ':' && isDigit(s[j+1]) {
			k := j + 1
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			if atWordEnd(s, k) {
				return k
			}
		}
		if !atWordEnd(s, j) {
			return -1
		}
		return j
	})
}

func isMonthAt(s string, i int) bool {
	return i+3 <= len(s) && s[i] >= 'A' && s[i] <= 'S' && strings.Contains("JanFebMarAprMayJunJulAugSepOctNovDec", s[i:i+3])
}

// replaceSyslogTimes is reSyslogTime.ReplaceAllString(s, phTime) by hand.
func replaceSyslogTimes(s string) string {
	clock := func(s string, j int) int { // dd:dd:dd
		if digitsAt(s, j, 2) && j+2 < len(s) && s[j+2] == ':' && digitsAt(s, j+3, 2) && j+5 < len(s) && s[j+5] == ':' && digitsAt(s, j+6, 2) {
			return j + 8
		}
		return -1
	}
	return replaceAt(s, phTime, clSyslog, func(s string, i int) int {
		if !isDigit(s[i]) {
			// "Dec  5 22:31:08"
			if !isMonthAt(s, i) {
				return -1
			}
			j := i + 3
			spaces := 0
			for j < len(s) && s[j] == ' ' && spaces < 2 {
				j++
				spaces++
			}
			if spaces == 0 {
				return -1
			}
			k := j
			for k < len(s) && isDigit(s[k]) && k-j < 2 {
				k++
			}
			if k == j || k >= len(s) || s[k] != ' ' {
				return -1
			}
			end := clock(s, k+1)
			if end < 0 || !atWordEnd(s, end) {
				return -1
			}
			return end
		}
		// "05/Dec/2026:22:31:08 +0000"
		if !digitsAt(s, i, 2) || i+2 >= len(s) || s[i+2] != '/' || !isMonthAt(s, i+3) || i+6 >= len(s) || s[i+6] != '/' ||
			!digitsAt(s, i+7, 4) || i+11 >= len(s) || s[i+11] != ':' {
			return -1
		}
		end := clock(s, i+12)
		if end < 0 {
			return -1
		}
		if end+5 < len(s)+0 && s[end] == ' ' && (s[end+1] == '+' || s[end+1] == '-') && digitsAt(s, end+2, 4) {
			end += 6
		}
		return end
	})
}

func digitRunEnd(s string, j int) int {
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	return j
}

var durationUnits = []string{"ns", "us", "µs", "ms", "s", "m", "h"}

// replaceDurations is reDuration.ReplaceAllString(s, phDur) by hand, with
// the pattern's order of preference: a number and a unit, repeated
// ("2m30.5s"), or a number and a unit word ("3 seconds").
func replaceDurations(s string) string {
	// What follows a component at j does not depend on where the match
	// began: remember it, or a long chain that fails at its end ("1.1ms"
	// repeated, then a letter) is walked again from every start in it.
	var memo []int32
	var onStack [128]int32 // the memo of most lines
	var rest func(s string, j int) int
	rest = func(s string, j int) int {
		if memo == nil {
			if len(s) < len(onStack) {
				memo = onStack[:len(s)+1]
			} else {
				memo = make([]int32, len(s)+1)
			}
		}
		if memo[j] != 0 {
			return int(memo[j]) - 2
		}
		e := -1
		if j < len(s) && isDigit(s[j]) {
			e = durationComponent(s, j, rest)
		}
		if e < 0 && atWordEnd(s, j) {
			e = j
		}
		memo[j] = int32(e + 2)
		return e
	}
	return replaceAt(s, phDur, clDigit, func(s string, i int) int {
		if !unitFollows(s, i) {
			return -1
		}
		if e := durationComponent(s, i, rest); e >= 0 {
			return e
		}
		return durationWords(s, i)
	})
}

// unitFollows reports whether the number at i (digits, maybe ".digits")
// is followed by the first byte of a unit or unit word, directly or after
// one space: a necessary condition of both duration forms, which turns
// away most numbers before the full match is tried.
func unitFollows(s string, i int) bool {
	k := digitRunEnd(s, i)
	if unitStartAt(s, k) {
		return true
	}
	return k+1 < len(s) && s[k] == '.' && isDigit(s[k+1]) && unitStartAt(s, digitRunEnd(s, k+1))
}

func unitStartAt(s string, p int) bool {
	if p >= len(s) {
		return false
	}
	switch s[p] {
	case 'n', 'u', 0xC2, 'm', 's', 'h':
		return true
	case ' ', '\t', '\n', '\f', '\r':
		return p+1 < len(s) && (s[p+1] == 'm' || s[p+1] == 's' || s[p+1] == 'h')
	}
	return false
}

// durationComponent matches `\d+(\.\d+)?(ns|us|µs|ms|s|m|h)` at j, then cont.
func durationComponent(s string, j int, cont func(string, int) int) int {
	k := digitRunEnd(s, j)
	if k == j {
		return -1
	}
	if k+1 < len(s) && s[k] == '.' && isDigit(s[k+1]) {
		if e := durationUnit(s, digitRunEnd(s, k+1), cont); e >= 0 {
			return e
		}
	}
	return durationUnit(s, k, cont)
}

func durationUnit(s string, j int, cont func(string, int) int) int {
	for _, u := range durationUnits {
		if strings.HasPrefix(s[j:], u) {
			if e := cont(s, j+len(u)); e >= 0 {
				return e
			}
		}
	}
	return -1
}

var durationWordList = []string{"millisecond", "second", "sec", "minute", "min", "hour"}

// durationWords matches `\d+(\.\d+)?\s?(milliseconds?|seconds?|secs?|minutes?|mins?|hours?)\b` at i.
func durationWords(s string, i int) int {
	k := digitRunEnd(s, i)
	// The pattern's order of preference: with the fraction first, and
	// with the space before the word first. Arrays: this runs for every
	// number followed by a unit's first letter.
	ends, ne := [2]int{k, k}, 1
	if k+1 < len(s) && s[k] == '.' && isDigit(s[k+1]) {
		ends[0], ne = digitRunEnd(s, k+1), 2
	}
	for _, n := range ends[:ne] {
		starts, ns := [2]int{n, n}, 1
		if n < len(s) && (s[n] == ' ' || s[n] == '\t' || s[n] == '\n' || s[n] == '\f' || s[n] == '\r') {
			starts[0], ns = n+1, 2
		}
		for _, w := range starts[:ns] {
			for _, word := range durationWordList {
				if !strings.HasPrefix(s[w:], word) {
					continue
				}
				e := w + len(word)
				if e < len(s) && s[e] == 's' && atWordEnd(s, e+1) {
					return e + 1
				}
				if atWordEnd(s, e) {
					return e
				}
			}
		}
	}
	return -1
}

// replaceDates is reDate.ReplaceAllString(s, phDate) by hand:
// `\b(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}/\d{1,2}/\d{4})\b`.
func replaceDates(s string) string {
	isSep := func(c byte) bool { return c == '-' || c == '/' || c == '.' }
	return replaceAt(s, phDate, clDigit, func(s string, i int) int {
		a := digitRunEnd(s, i)
		if a-i == 4 && a < len(s) && isSep(s[a]) {
			b := digitRunEnd(s, a+1)
			if n := b - a - 1; n >= 1 && n <= 2 && b < len(s) && isSep(s[b]) {
				c := digitRunEnd(s, b+1)
				if n := c - b - 1; n >= 1 && n <= 2 && atWordEnd(s, c) {
					return c
				}
			}
		}
		if n := a - i; n >= 1 && n <= 2 && a < len(s) && s[a] == '/' {
			b := digitRunEnd(s, a+1)
			if n := b - a - 1; n >= 1 && n <= 2 && b < len(s) && s[b] == '/' {
				c := digitRunEnd(s, b+1)
				if c-b-1 == 4 && atWordEnd(s, c) {
					return c
				}
			}
		}
		return -1
	})
}
