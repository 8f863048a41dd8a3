package triage

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// xmlScanner tokenises XML for ParseJUnit, several times faster than
// encoding/xml (which reads byte by byte through an interface and allocates
// every token): text is copied in runs, names and attributes live in
// buffers reused from token to token, and only what JUnit needs is kept.
//
// It accepts and rejects what encoding/xml's Decoder does with Strict set
// and a CharsetReader that passes bytes through (FuzzJUnitScannerMatchesDecoder
// holds it to that): elements must nest, attribute values be quoted,
// entities be the five predefined ones or character references; comments,
// processing instructions and directives (DOCTYPE) are skipped; "\r\n" and
// "\r" in text and attribute values read as "\n". Its input is the
// xmlSanitizer's output, so invalid UTF-8 and forbidden characters are gone
// before it sees them. Text comes in pieces of at most textPiece bytes, so
// memory does not grow with a text node either.
type xmlScanner struct {
	r        io.Reader
	buf      []byte
	pos, end int
	err      error // of the last read; io.EOF at the end
	line     int

	// The current token.
	name      []byte // an element's name as written (prefix:local)
	attrBuf   []byte
	attrs     []xmlScanAttr
	text      []byte // decoded text of a tokText
	needClose bool   // the last start tag was <empty/>: its end comes next

	inText, inCDATA bool
	b0, b1          byte // the last two bytes of text read, for "]]>"
	crlf            bool // the last text byte was '\r' (a following '\n' is dropped)

	open    []byte // names of the open elements, one after the other
	openEnd []int  // where each open element's name ends in open
}

type xmlScanAttr struct{ name, value [2]int } // offsets in attrBuf

type xmlTok int

const (
	tokEOF xmlTok = iota
	tokStart
	tokEnd
	tokText
)

// textPiece bounds the text returned as one token.
const textPiece = 32 << 10

func newXMLScanner(r io.Reader) *xmlScanner {
	return &xmlScanner{r: r, buf: make([]byte, 64<<10), line: 1}
}

// xmlSyntaxError is a malformed document, at a line of its input.
type xmlSyntaxError struct {
	Line int
	Msg  string
}

func (e *xmlSyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

func (s *xmlScanner) syntaxError(msg string) error { return &xmlSyntaxError{Line: s.line, Msg: msg} }

// fill reads more input once everything read has been consumed.
func (s *xmlScanner) fill() bool {
	if s.pos < s.end {
		return true
	}
	for s.err == nil {
		n, err := s.r.Read(s.buf)
		s.pos, s.end, s.err = 0, n, err
		if n > 0 {
			return true
		}
	}
	return false
}

func (s *xmlScanner) getc() (byte, bool) {
	if s.pos == s.end && !s.fill() {
		return 0, false
	}
	c := s.buf[s.pos]
	s.pos++
	if c == '\n' {
		s.line++
	}
	return c, true
}

// mustgetc is getc where the document cannot end.
func (s *xmlScanner) mustgetc() (byte, error) {
	c, ok := s.getc()
	if !ok {
		return 0, s.eofError()
	}
	return c, nil
}

func (s *xmlScanner) eofError() error {
	if s.err == io.EOF {
		return s.syntaxError("unexpected EOF")
	}
	return s.err
}

// ungetc steps back over the byte getc just returned.
func (s *xmlScanner) ungetc(c byte) {
	s.pos--
	if c == '\n' {
		s.line--
	}
}

func (s *xmlScanner) space() {
	for s.pos < s.end || s.fill() {
		c := s.buf[s.pos]
		if c != ' ' && c != '\r' && c != '\n' && c != '\t' {
			return
		}
		if c == '\n' {
			s.line++
		}
		s.pos++
	}
}

// local is the current element's name without its prefix.
func (s *xmlScanner) local() []byte { return localName(s.name) }

func localName(name []byte) []byte {
	if i := bytes.IndexByte(name, ':'); i > 0 && i < len(name)-1 {
		return name[i+1:]
	}
	return name
}

// attr returns the value of the current start tag's attribute whose local
// name is name, or "".
func (s *xmlScanner) attr(name string) string {
	for _, a := range s.attrs {
		if string(localName(s.attrBuf[a.name[0]:a.name[1]])) == name {
			return string(s.attrBuf[a.value[0]:a.value[1]])
		}
	}
	return ""
}

// next reads the next token: an element's start (name, attrs), its end
// (name), a piece of text (text), or the end of the document.
func (s *xmlScanner) next() (xmlTok, error) {
	if s.needClose {
		s.needClose = false
		return s.closeElement()
	}
	for {
		if s.inText {
			return s.readText()
		}
		c, ok := s.getc()
		if !ok {
			if s.err != io.EOF {
				return 0, s.err
			}
			if len(s.openEnd) > 0 {
				return 0, s.syntaxError("unexpected EOF")
			}
			return tokEOF, nil
		}
		if c != '<' {
			s.ungetc(c)
			s.inText, s.inCDATA, s.b0, s.b1, s.crlf = true, false, 0, 0, false
			continue
		}
		c, err := s.mustgetc()
		if err != nil {
			return 0, err
		}
		switch c {
		case '/':
			return s.endTag()
		case '?':
			if err := s.skipProcInst(); err != nil {
				return 0, err
			}
			continue
		case '!':
			if err := s.bang(); err != nil {
				return 0, err
			}
			continue
		}
		s.ungetc(c)
		return s.startTag()
	}
}

func (s *xmlScanner) startTag() (xmlTok, error) {
	var err error
	if s.name, err = s.nsname(s.name[:0], "expected element name after <"); err != nil {
		return 0, err
	}
	s.attrs, s.attrBuf = s.attrs[:0], s.attrBuf[:0]
	for {
		s.space()
		c, err := s.mustgetc()
		if err != nil {
			return 0, err
		}
		if c == '/' {
			if c, err = s.mustgetc(); err != nil {
				return 0, err
			}
			if c != '>' {
				return 0, s.syntaxError("expected /> in element")
			}
			s.needClose = true
			break
		}
		if c == '>' {
			break
		}
		s.ungetc(c)
		var a xmlScanAttr
		a.name[0] = len(s.attrBuf)
		if s.attrBuf, err = s.nsname(s.attrBuf, "expected attribute name in element"); err != nil {
			return 0, err
		}
		a.name[1] = len(s.attrBuf)
		s.space()
		if c, err = s.mustgetc(); err != nil {
			return 0, err
		}
		if c != '=' {
			return 0, s.syntaxError("attribute name without = in element")
		}
		s.space()
		if c, err = s.mustgetc(); err != nil {
			return 0, err
		}
		if c != '"' && c != '\'' {
			return 0, s.syntaxError("unquoted or missing attribute value in element")
		}
		a.value[0] = len(s.attrBuf)
		if s.attrBuf, err = s.quoted(s.attrBuf, c); err != nil {
			return 0, err
		}
		a.value[1] = len(s.attrBuf)
		s.attrs = append(s.attrs, a)
	}
	s.open = append(s.open, s.name...)
	s.openEnd = append(s.openEnd, len(s.open))
	return tokStart, nil
}

func (s *xmlScanner) endTag() (xmlTok, error) {
	var err error
	if s.name, err = s.nsname(s.name[:0], "expected element name after </"); err != nil {
		return 0, err
	}
	s.space()
	c, err := s.mustgetc()
	if err != nil {
		return 0, err
	}
	if c != '>' {
		return 0, s.syntaxError("invalid characters between </" + string(localName(s.name)) + " and >")
	}
	return s.closeElement()
}

// closeElement pops the open element that s.name ends.
func (s *xmlScanner) closeElement() (xmlTok, error) {
	n := len(s.openEnd)
	if n == 0 {
		return 0, s.syntaxError("unexpected end element </" + string(localName(s.name)) + ">")
	}
	start := 0
	if n > 1 {
		start = s.openEnd[n-2]
	}
	if open := s.open[start:]; !bytes.Equal(open, s.name) {
		return 0, s.syntaxError("element <" + string(localName(open)) + "> closed by </" + string(localName(s.name)) + ">")
	}
	s.open, s.openEnd = s.open[:start], s.openEnd[:n-1]
	return tokEnd, nil
}

// nsname appends a name (at most one ':', not at either end of it counting
// as a prefix) to dst; what the name lacks is the error missing.
func (s *xmlScanner) nsname(dst []byte, missing string) ([]byte, error) {
	start := len(dst)
	dst, ok, err := s.readName(dst)
	if err != nil {
		return dst, err
	}
	if !ok || bytes.Count(dst[start:], []byte{':'}) > 1 {
		return dst, s.syntaxError(missing)
	}
	return dst, nil
}

// readName appends a name to dst: bytes up to one that cannot be in a name,
// checked as XML names are. ok is false when no name starts here.
func (s *xmlScanner) readName(dst []byte) (_ []byte, ok bool, err error) {
	start := len(dst)
	if dst, err = s.readNameBytes(dst); err != nil {
		return dst, false, err
	}
	name := dst[start:]
	if len(name) == 0 {
		return dst, false, nil
	}
	if !isXMLName(name) {
		return dst, false, s.syntaxError("invalid XML name: " + string(name))
	}
	return dst, true, nil
}

// readNameBytes appends the bytes up to one that cannot be in a name:
// ASCII name bytes and every byte of a multi-byte character.
func (s *xmlScanner) readNameBytes(dst []byte) ([]byte, error) {
	for {
		if s.pos == s.end && !s.fill() {
			return dst, s.eofError()
		}
		i := s.pos
		for i < s.end && xmlNameBytes[s.buf[i]] {
			i++
		}
		dst = append(dst, s.buf[s.pos:i]...)
		s.pos = i
		if i < s.end {
			return dst, nil
		}
	}
}

var xmlNameBytes = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= utf8.RuneSelf || isXMLNameByte(byte(c))
	}
	return t
}()

func isXMLNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

// isXMLName checks a name of name bytes and multi-byte characters as
// encoding/xml does: ASCII here, anything else by encoding/xml itself (its
// tables of name characters are not exported; such names are rare).
func isXMLName(name []byte) bool {
	c := name[0]
	if c >= utf8.RuneSelf || bytes.ContainsFunc(name, func(r rune) bool { return r >= utf8.RuneSelf }) {
		_, err := xml.NewDecoder(bytes.NewReader(append(append([]byte("<?"), name...), "?>"...))).RawToken()
		return err == nil
	}
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':'
}

// quoted appends an attribute value up to its closing quote to dst.
func (s *xmlScanner) quoted(dst []byte, quote byte) ([]byte, error) {
	crlf := false
	for {
		if s.pos == s.end && !s.fill() {
			return dst, s.eofError()
		}
		// A run of bytes that need no care, at once.
		i := s.pos
		for i < s.end {
			if c := s.buf[i]; c == quote || c == '<' || c == '&' || c == '\r' || c == '\n' {
				break
			}
			i++
		}
		if i > s.pos {
			dst = append(dst, s.buf[s.pos:i]...)
			s.pos, crlf = i, false
			continue
		}
		c, _ := s.getc()
		switch c {
		case quote:
			return dst, nil
		case '<':
			return dst, s.syntaxError("unescaped < inside quoted string")
		case '&':
			var err error
			if dst, err = s.entity(dst); err != nil {
				return dst, err
			}
			crlf = false
		case '\r':
			dst, crlf = append(dst, '\n'), true
		case '\n':
			if !crlf {
				dst = append(dst, '\n')
			}
			crlf = false
		}
	}
}

// readText reads a piece of text or of a CDATA section (inCDATA).
func (s *xmlScanner) readText() (xmlTok, error) {
	s.text = s.text[:0]
	// A piece of CDATA does not end in ']': the "]]>" that ends the
	// section is cut from the piece it ends.
	for len(s.text) < textPiece || s.inCDATA && s.b1 == ']' {
		if s.pos == s.end && !s.fill() {
			if s.inCDATA {
				if s.err == io.EOF {
					return 0, s.syntaxError("unexpected EOF in CDATA section")
				}
				return 0, s.err
			}
			s.inText = false
			break
		}
		i := s.pos
		if s.inCDATA {
			for i < s.end && s.buf[i] != '>' && s.buf[i] != '\r' {
				i++
			}
		} else {
			for i < s.end {
				if c := s.buf[i]; c == '<' || c == '&' || c == '>' || c == '\r' {
					break
				}
				i++
			}
		}
		if run := s.buf[s.pos:i]; len(run) > 0 {
			s.line += bytes.Count(run, []byte{'\n'})
			if len(run) == 1 {
				s.b0, s.b1 = s.b1, run[0]
			} else {
				s.b0, s.b1 = run[len(run)-2], run[len(run)-1]
			}
			if run[0] == '\n' && s.crlf {
				run = run[1:]
			}
			s.text = append(s.text, run...)
			s.pos, s.crlf = i, false
			continue
		}
		c := s.buf[s.pos]
		switch c {
		case '<':
			s.inText = false
			return tokText, nil
		case '&':
			s.pos++
			var err error
			if s.text, err = s.entity(s.text); err != nil {
				return 0, err
			}
			s.b0, s.b1, s.crlf = 0, 0, false
		case '>':
			s.pos++
			if s.b0 == ']' && s.b1 == ']' {
				if !s.inCDATA {
					return 0, s.syntaxError("unescaped ]]> not in CDATA section")
				}
				s.text = s.text[:len(s.text)-2]
				s.inText = false
				return tokText, nil
			}
			s.text = append(s.text, c)
			s.b0, s.b1, s.crlf = s.b1, c, false
		case '\r':
			s.pos++
			s.text = append(s.text, '\n')
			s.b0, s.b1, s.crlf = s.b1, c, true
		}
	}
	return tokText, nil
}

// entity decodes a reference after its '&' and appends it to dst: the five
// predefined entities and character references, which must end in ';' and
// name a character XML allows.
func (s *xmlScanner) entity(dst []byte) ([]byte, error) {
	var ref [16]byte
	raw := append(ref[:0], '&')
	c, err := s.mustgetc()
	if err != nil {
		return dst, err
	}
	var r rune = -1
	if c == '#' {
		raw = append(raw, c)
		if c, err = s.mustgetc(); err != nil {
			return dst, err
		}
		base := 10
		if c == 'x' {
			base = 16
			raw = append(raw, c)
			if c, err = s.mustgetc(); err != nil {
				return dst, err
			}
		}
		digits := len(raw)
		for '0' <= c && c <= '9' || base == 16 && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			raw = append(raw, c)
			if c, err = s.mustgetc(); err != nil {
				return dst, err
			}
		}
		if c != ';' {
			s.ungetc(c)
		} else {
			n, err := strconv.ParseUint(string(raw[digits:]), base, 64)
			raw = append(raw, ';')
			if err == nil && n <= unicode.MaxRune {
				r = rune(n)
				if !utf8.ValidRune(r) {
					r = utf8.RuneError // string(rune(n)) of a surrogate
				}
				if !isXMLChar(r) {
					return dst, s.syntaxError(fmt.Sprintf("illegal character code %U", r))
				}
			}
		}
	} else {
		s.ungetc(c)
		start := len(raw)
		if raw, err = s.readNameBytes(raw); err != nil {
			return dst, err
		}
		if c, err = s.mustgetc(); err != nil {
			return dst, err
		}
		if c != ';' {
			s.ungetc(c)
		} else {
			switch string(raw[start:]) {
			case "lt":
				r = '<'
			case "gt":
				r = '>'
			case "amp":
				r = '&'
			case "apos":
				r = '\''
			case "quot":
				r = '"'
			}
			raw = append(raw, ';')
		}
	}
	if r < 0 {
		ent := string(raw)
		if raw[len(raw)-1] != ';' {
			ent += " (no semicolon)"
		}
		return dst, s.syntaxError("invalid character entity " + ent)
	}
	return utf8.AppendRune(dst, r), nil
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// skipProcInst skips a processing instruction after its "<?"; the XML
// declaration's version must be 1.0 (any encoding is read as UTF-8, bad
// bytes replaced).
func (s *xmlScanner) skipProcInst() error {
	var target []byte
	target, ok, err := s.readName(target)
	if err != nil {
		return err
	}
	if !ok {
		return s.syntaxError("expected target name after <?")
	}
	s.space()
	var content []byte
	var b0 byte
	for {
		c, err := s.mustgetc()
		if err != nil {
			return err
		}
		if b0 == '?' && c == '>' {
			break
		}
		if string(target) == "xml" {
			content = append(content, c)
		}
		b0 = c
	}
	if string(target) == "xml" {
		if len(content) > 0 {
			content = content[:len(content)-1] // the '?' of "?>"
		}
		if v := procInstParam("version", string(content)); v != "" && v != "1.0" {
			return fmt.Errorf("xml: unsupported version %q; only version 1.0 is supported", v)
		}
	}
	return nil
}

// procInstParam is encoding/xml's reading of a pseudo-attribute of the XML
// declaration.
func procInstParam(param, s string) string {
	param += "="
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || len(param)+k >= len(sub) {
			return ""
		}
		i += len(param) + k + 1
		if c := sub[len(param)+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// bang reads what follows "<!": a comment or a directive, skipped, or the
// start of a CDATA section.
func (s *xmlScanner) bang() error {
	c, err := s.mustgetc()
	if err != nil {
		return err
	}
	switch c {
	case '-':
		if c, err = s.mustgetc(); err != nil {
			return err
		}
		if c != '-' {
			return s.syntaxError("invalid sequence <!- not part of <!--")
		}
		var b0, b1 byte
		for {
			if c, err = s.mustgetc(); err != nil {
				return err
			}
			if b0 == '-' && b1 == '-' {
				if c != '>' {
					return s.syntaxError(`invalid sequence "--" not allowed in comments`)
				}
				return nil
			}
			b0, b1 = b1, c
		}
	case '[':
		for i := range 6 {
			if c, err = s.mustgetc(); err != nil {
				return err
			}
			if c != "CDATA["[i] {
				return s.syntaxError("invalid <![ sequence")
			}
		}
		s.inText, s.inCDATA, s.b0, s.b1, s.crlf = true, true, 0, 0, false
		return nil
	}
	// A directive (<!DOCTYPE …>): up to its '>', counting nested <…> outside
	// quotes and skipping comments, as encoding/xml does. Its first byte
	// was read above and counts for nothing.
	var quote byte
	depth := 0
	for {
		if c, err = s.mustgetc(); err != nil {
			return err
		}
		if quote == 0 && c == '>' && depth == 0 {
			return nil
		}
	handle:
		switch {
		case c == quote:
			quote = 0
		case quote != 0:
		case c == '\'' || c == '"':
			quote = c
		case c == '>':
			depth--
		case c == '<':
			for i := range 3 {
				if c, err = s.mustgetc(); err != nil {
					return err
				}
				if c != "!--"[i] {
					depth++
					goto handle
				}
			}
			var b0, b1 byte
			for {
				if c, err = s.mustgetc(); err != nil {
					return err
				}
				if b0 == '-' && b1 == '-' && c == '>' {
					break
				}
				b0, b1 = b1, c
			}
		}
	}
}
