package triage

// The last pass of a line, the number rule and the collapse of white
// space fused into one walk over the token rule's output, written into a
// buffer the caller reuses: it runs for every line.

// appendNumbersCollapsed appends m to dst with numbers replaced (but the
// status numbers isStatusNumber and afterHTTPVersion keep) and each run of
// white space made one " ", in one walk that looks at each word once.
// Looking back for a status word reads m, the number rule's input, as the
// separate passes did; the caller trims the ends.
func appendNumbersCollapsed(dst, m []byte) []byte {
	last := 0 // m[last:i] is yet to be written as it is
	for i := 0; i < len(m); {
		c := m[i]
		cl := byteClass[c]
		if cl&clWord != 0 {
			// m[i] starts a word: the walk skips the rest of each word,
			// where no number can start.
			if cl&clDigit != 0 {
				if end := numberEnd(m, i); end >= 0 {
					if !isStatusNumber(m[:i]) && (end-i != 3 || c < '1' || c > '5' || !afterHTTPVersion(m[:i])) {
						dst = append(dst, m[last:i]...)
						dst = append(dst, phNum...)
						last = end
					}
					i = end // a word boundary
					continue
				}
			}
			for i++; i < len(m) && isWordByte(m[i]); i++ {
			}
			continue
		}
		if isSpaceByte(c) {
			j := i + 1
			for j < len(m) && isSpaceByte(m[j]) {
				j++
			}
			if c != ' ' || j > i+1 {
				dst = append(dst, m[last:i]...)
				dst = append(dst, ' ')
				last = j
			}
			i = j
			continue
		}
		i++
	}
	return append(dst, m[last:]...)
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
