package triage

import (
	"io"
	"unicode/utf8"
)

// xmlSanitizer passes XML through, replacing invalid UTF-8 and characters
// XML 1.0 forbids (terminal escapes in captured output, mostly) with
// U+FFFD, so one bad byte in a test's output does not lose the whole file.
//
// It also bounds memory: encoding/xml holds a whole text node or attribute
// in memory, so a run of more than maxXMLRun bytes without '<' or '>' is
// cut (keeping its last two ASCII bytes, which may close a CDATA section,
// comment or attribute), whatever the size of the file.
type xmlSanitizer struct {
	r        io.Reader
	run      int     // bytes since the last '<' or '>'
	dropping bool    // inside the cut part of a long run
	entity   int     // bytes since an '&' that has not ended yet, or -1
	tail     [2]byte // last ASCII bytes dropped
	tailN    int
	in       []byte // bytes read but not yet converted (a partial rune at most)
	out      []byte // converted bytes not yet returned
	err      error
	rbuf     [32 * 1024]byte
}

func (s *xmlSanitizer) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		n, err := s.r.Read(s.rbuf[:])
		s.in = append(s.in, s.rbuf[:n]...)
		s.err = err
		s.convert(err != nil)
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}

// maxXMLRun is the longest text or attribute kept whole, in bytes.
const maxXMLRun = 1 << 20

// emit appends one converted byte, applying the run limit.
func (s *xmlSanitizer) emit(out []byte, c byte) []byte {
	if c == '<' || c == '>' {
		if s.dropping {
			out = append(out, s.tail[:s.tailN]...)
			s.dropping = false
		}
		s.run, s.entity = 0, -1
		return append(out, c)
	}
	s.run++
	switch {
	case c == '&':
		s.entity = 0
	case s.entity >= 0:
		if s.entity++; c == ';' || s.entity > 12 {
			s.entity = -1
		}
	}
	if !s.dropping && s.run > maxXMLRun && s.entity < 0 && utf8.RuneStart(c) {
		s.dropping, s.tailN = true, 0
	}
	if !s.dropping {
		return append(out, c)
	}
	if c < utf8.RuneSelf {
		if s.tailN == 2 {
			s.tail[0] = s.tail[1]
			s.tailN = 1
		}
		s.tail[s.tailN] = c
		s.tailN++
	} else {
		s.tailN = 0
	}
	return out
}

func (s *xmlSanitizer) emitAll(out []byte, b string) []byte {
	for i := 0; i < len(b); i++ {
		out = s.emit(out, b[i])
	}
	return out
}

func (s *xmlSanitizer) convert(final bool) {
	out := s.out[:0]
	in := s.in
	for len(in) > 0 {
		c := in[0]
		// Most of a report is plain text: copy a run of bytes that emit
		// would pass through one by one (no markup, entity or cut) at once.
		if room := maxXMLRun - s.run; plainXMLByte(c) && s.entity < 0 && !s.dropping && room > 0 {
			j := 1
			for j < len(in) && j < room && plainXMLByte(in[j]) {
				j++
			}
			out = append(out, in[:j]...)
			s.run += j
			in = in[j:]
			continue
		}
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				out = s.emitAll(out, "\uFFFD")
			} else {
				out = s.emit(out, c)
			}
			in = in[1:]
			continue
		}
		if !final && !utf8.FullRune(in) {
			break
		}
		r, size := utf8.DecodeRune(in)
		if r == utf8.RuneError || r == 0xFFFE || r == 0xFFFF {
			out = s.emitAll(out, "\uFFFD")
		} else {
			out = s.emitAll(out, string(in[:size]))
		}
		in = in[size:]
	}
	s.out = out
	s.in = append(s.in[:0], in...)
}

// plainXMLByte reports whether emit passes c through unchanged and does not
// track it: ASCII that is allowed in XML and is not '<', '>' or '&'.
func plainXMLByte(c byte) bool {
	return c < utf8.RuneSelf && (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') && c != '<' && c != '>' && c != '&'
}
