package triage

import (
	"io"
	"unicode/utf8"
)

// xmlSanitizer passes XML through, replacing invalid UTF-8 and characters
// XML 1.0 forbids (terminal escapes in captured output, mostly) with
// U+FFFD, so one bad byte in a test's output does not lose the whole file.
type xmlSanitizer struct {
	r    io.Reader
	in   []byte // bytes read but not yet converted (a partial rune at most)
	out  []byte // converted bytes not yet returned
	err  error
	rbuf [32 * 1024]byte
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

func (s *xmlSanitizer) convert(final bool) {
	out := s.out[:0]
	in := s.in
	for len(in) > 0 {
		c := in[0]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				out = append(out, "\uFFFD"...)
			} else {
				out = append(out, c)
			}
			in = in[1:]
			continue
		}
		if !final && !utf8.FullRune(in) {
			break
		}
		r, size := utf8.DecodeRune(in)
		if r == utf8.RuneError || r == 0xFFFE || r == 0xFFFF {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, in[:size]...)
		}
		in = in[size:]
	}
	s.out = out
	s.in = append(s.in[:0], in...)
}
