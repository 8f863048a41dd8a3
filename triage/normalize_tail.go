package triage

// The last passes of a line, the number rule and the collapse of white
// space, fused into one pass over the token rule's output and written into
// a buffer the caller reuses: they run for every line.

// appendNumbersCollapsed appends m to dst with numbers replaced (but the
// status numbers replaceNumbers keeps) and each run of white space made
// one " ". Looking back for a status word reads m, the number rule's
// input, as the separate passes did; the caller trims the ends.
func appendNumbersCollapsed(dst, m []byte) []byte {
	last := 0
	for start, end := nextNumber(m, 0); start >= 0; start, end = nextNumber(m, end) {
		if isStatusNumber(m[:start]) || end-start == 3 && m[start] >= '1' && m[start] <= '5' && afterHTTPVersion(m[:start]) {
			continue
		}
		// A number holds no space: no run crosses it.
		dst = appendCollapsed(dst, m[last:start])
		dst = append(dst, phNum...)
		last = end
	}
	return appendCollapsed(dst, m[last:])
}

// appendCollapsed appends s with each run of regexp \s bytes made one " ".
func appendCollapsed(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && !isSpaceByte(s[j]) {
			j++
		}
		dst = append(dst, s[i:j]...)
		if j == len(s) {
			break
		}
		dst = append(dst, ' ')
		for j < len(s) && isSpaceByte(s[j]) {
			j++
		}
		i = j
	}
	return dst
}
