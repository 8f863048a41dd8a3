package triage

import "strings"

// Placeholders of the token pass. Like the others they hold no digit, so a
// second pass finds nothing left to replace.
const (
	phID   = "<id>"
	phHost = "<host>"
)

// appendMaskedTokens appends s to dst, replacing the identifiers the
// pattern rules cannot see because they are glued to words: numbers joined by "_" (blk_1234, job_2026_0412),
// parts that mix letters and digits the way generated ids do (x2kqz,
// 7d9f8b6c4, node12a, web01), Kubernetes generated name suffixes, and host
// names with a digit in them. A word is a run of letters, digits, "_", "-"
// and "."; words without a digit are kept, as are error codes (E0425,
// TS2304), names with a plain trailing number (int64, sha256, ssh2), units
// (64kB) and file names, so the tokens that tell causes apart survive.
func appendMaskedTokens(dst []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); {
		if !isTokenByte(s[i]) {
			i++
			continue
		}
		j := i
		var seen uint8 // the classes of the word's bytes
		for ; j < len(s); j++ {
			cl := byteClass[s[j]]
			if cl&clToken == 0 {
				break
			}
			seen |= cl
		}
		if seen&(clDigit|clDash) == 0 || seen&clLetter == 0 {
			// appendMaskedWord keeps every word with neither a digit nor a "-"
			// (most words of a line), and every word of digits, "-" and
			// "." alone (numbers, versions: the number rule's): they
			// are skipped without a call.
			i = j
			continue
		}
		w := s[i:j]
		// A sentence's full stop is not part of the word before it.
		for len(w) > 0 && w[len(w)-1] == '.' {
			w = w[:len(w)-1]
		}
		if d, changed := appendMaskedWord(dst, s[last:i], w, seen&clDigit != 0, seen&clDash != 0); changed {
			dst = d
			last = i + len(w)
		}
		i = j
	}
	return append(dst, s[last:]...)
}

func isTokenByte(c byte) bool { return byteClass[c]&clToken != 0 }

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			return true
		}
	}
	return false
}

// appendMaskedWord masks one word's variable parts: when it changes w, it
// appends pending (the text before w yet to be written) and the masked
// word to dst and reports true; when it keeps w, it returns dst as it was.
// digit and dash say whether w has a digit and a "-", which the caller
// knows.
func appendMaskedWord(dst []byte, pending, w string, digit, dash bool) ([]byte, bool) {
	if !digit && (!dash || !hasGeneratedPart(w)) {
		return dst, false
	}
	if isHostName(w) {
		return append(append(dst, pending...), phHost...), true
	}
	signed := false
	// blk_-1608999687919862906 and blk_38865049064139660 are the same
	// kind of id: the sign is part of the value.
	if i := indexSignedID(w, dash); i >= 0 && i+2 < len(w) && w[i+2] >= '0' && w[i+2] <= '9' {
		w = w[:i+1] + w[i+2:]
		signed = true
	}
	// Nothing is written before the first variable part: most words with
	// a digit (file.go:12's "go", v1.2) keep every part.
	changed := signed
	if signed {
		dst = append(dst, pending...)
	}
	start, kept := 0, 0 // kept: w[kept:start] is yet to be written
	// The sign's "-" is gone from w.
	dashParts := dash && (!signed || strings.IndexByte(w, '-') >= 0)
	for i := 0; i <= len(w); i++ {
		if i < len(w) && w[i] != '.' && w[i] != '_' && w[i] != '-' {
			continue
		}
		part := w[start:i]
		sep := byte(0)
		if start > 0 {
			sep = w[start-1]
		}
		next := byte(0)
		if i < len(w) {
			next = w[i]
		}
		if ph := variablePart(part, sep, next, dashParts); ph != "" {
			if !changed {
				dst = append(dst, pending...)
				changed = true
			}
			dst = append(dst, w[kept:start]...)
			dst = append(dst, ph...)
			kept = i
		}
		start = i + 1
	}
	if !changed {
		return dst, false
	}
	return append(dst, w[kept:]...), true
}

// indexSignedID is strings.Index(w, "_-"), skipped for a word without "-".
func indexSignedID(w string, dash bool) int {
	if !dash {
		return -1
	}
	return strings.Index(w, "_-")
}

// variablePart returns the placeholder for a variable part of a word, or ""
// to keep it. sep and next are the separators around the part (0 at the
// word's ends); dashed says the word has a "-" in it.
func variablePart(p string, sep, next byte, dashed bool) string {
	if p == "" {
		return ""
	}
	letters, digits, upper, transitions := 0, 0, 0, 0
	hexOnly := true
	prevDigit := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		isDigit := c >= '0' && c <= '9'
		if isDigit {
			digits++
		} else {
			letters++
			if c >= 'A' && c <= 'Z' {
				upper++
			}
			if !(c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				hexOnly = false
			}
		}
		if i > 0 && isDigit != prevDigit {
			transitions++
		}
		prevDigit = isDigit
	}
	switch {
	case digits == 0:
		// A Kubernetes generated name: a random suffix in the alphabet
		// it draws from, which has no vowels.
		if dashed && sep == '-' && next == 0 && isGeneratedSuffix(p) {
			return phID
		}
		if dashed && sep == '-' && next == '-' && len(p) >= 8 && isGeneratedSuffix(p) {
			return phID
		}
		return ""
	case letters == 0:
		// Plain numbers after a space or "-" are the number rule's; the
		// ones it cannot see are glued by "_" or inside a dotted name.
		if sep == '_' || next == '_' {
			return phNum
		}
		return ""
	case upper == letters && transitions == 1 && p[0] >= 'A' && p[0] <= 'Z':
		return "" // an error or rule code: E0425, TS2304, SC2086
	case hexOnly && len(p) >= 6:
		return phHex
	case transitions == 1 && p[0] > '9':
		// letters then a number: int64, sha256, ssh2 are names; a
		// zero-padded number is a counter (web01, db003).
		if p[letters] == '0' && digits > 1 {
			return phID
		}
		return ""
	case transitions == 1:
		// A number then a unit (16339198kB, 3rd): the number varies.
		// "0x" is the hex prefix the hex rule leaves.
		if p == "0x" || p == "0X" {
			return ""
		}
		return phNum + p[digits:]
	case upper > 0 && upper < letters && transitions <= 2:
		return "" // camelCase identifiers: base64Encode, Int32Value
	default:
		return phID // x2kqz, node12a, 28b9f, hq9cpg6996
	}
}

// hasGeneratedPart reports whether a dashed word without digits ends in a
// generated suffix, so that appendMaskedWord need not look at the others.
func hasGeneratedPart(w string) bool {
	i := strings.LastIndexByte(w, '-')
	return i > 0 && isGeneratedSuffix(w[i+1:])
}

// isGeneratedSuffix reports whether p looks like the random part of a
// Kubernetes generated name: 5 (pod) or 8 to 10 (replica-set hash) bytes
// from its vowel-free alphabet, with a digit or no vowel-like letter at all.
func isGeneratedSuffix(p string) bool {
	if len(p) != 5 && (len(p) < 8 || len(p) > 10) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if !strings.ContainsRune("bcdfghjklmnpqrstvwxz2456789", rune(p[i])) {
			return false
		}
	}
	return true
}

// isHostName reports whether w is a dotted host name with a digit in it
// (ip-10-0-3-17.ec2.internal, app7.prod.example.com): three or more labels
// of letters, digits and "-", the last alphabetic, as top-level domains
// are. Two-label names are too often file or package names to tell.
func isHostName(w string) bool {
	// The same test as splitting on "." and checking each label, without
	// the allocation: this runs for every word with a digit in it.
	dots := 0
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case '.':
			dots++
		case '_':
			return false
		}
	}
	if dots < 2 {
		return false
	}
	start := 0
	for i := 0; i <= len(w); i++ {
		if i < len(w) && w[i] != '.' {
			continue
		}
		if l := w[start:i]; l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		start = i + 1
	}
	tld := w[strings.LastIndexByte(w, '.')+1:]
	if len(tld) < 2 {
		return false
	}
	for i := 0; i < len(tld); i++ {
		if c := tld[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	// Every label but the last holds a digit, or the first does: a
	// numbered host in a named domain.
	return hasDigit(w[:strings.IndexByte(w, '.')])
}

// phBlob replaces base64 data: keys, signatures, tokens.
const phBlob = "<blob>"

// maskBlobs replaces runs of the base64 alphabet that read as random
// data: 16 bytes or more, with capitals, small letters and digits, and the
// class of character changing at least every third byte. Identifiers and
// paths (NullPointerException2, src/main/java) change far less often.
func maskBlobs(s string) string {
	var b *strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !isBase64Byte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isBase64Byte(s[j]) {
			j++
		}
		if j-i < 16 {
			// Too short for a blob: most runs are words, counted no
			// further.
			i = j
			continue
		}
		upper, lower, digit, switches := 0, 0, 0, 0
		prev := 0
		for k := i; k < j; k++ {
			c := s[k]
			class := 4
			switch {
			case c >= 'A' && c <= 'Z':
				upper++
				class = 1
			case c >= 'a' && c <= 'z':
				lower++
				class = 2
			case c >= '0' && c <= '9':
				digit++
				class = 3
			}
			if class == 4 {
				continue // "+" and "/" separate path segments as often
			}
			if prev != 0 && class != prev {
				switches++
			}
			prev = class
		}
		n := j - i
		if n >= 16 && upper > 0 && lower > 0 && (digit > 0 && switches*3 >= n || switches*2 >= n) {
			if b == nil {
				b = &strings.Builder{}
				b.Grow(len(s))
			}
			b.WriteString(s[last:i])
			b.WriteString(phBlob)
			for j < len(s) && s[j] == '=' {
				j++
			}
			last = j
		}
		i = j
	}
	if b == nil {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isBase64Byte(c byte) bool { return byteClass[c]&clBase64 != 0 }
