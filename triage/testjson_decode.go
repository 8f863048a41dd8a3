package triage

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeEvent reads one test2json event from line without reflection.
// It reports false on anything it does not fully understand, and the
// caller then falls back to encoding/json, so behaviour never depends on
// this fast path.
func decodeEvent(line []byte, ev *goEvent) bool {
	d := jsonScan{b: line}
	d.space()
	if !d.byte('{') {
		return false
	}
	d.space()
	if d.byte('}') {
		return d.end()
	}
	for {
		d.space()
		key, ok := d.str(true)
		if !ok {
			return false
		}
		d.space()
		if !d.byte(':') {
			return false
		}
		d.space()
		var dst *string
		// encoding/json matches field names case-insensitively; so must we.
		switch k := string(key); {
		case strings.EqualFold(k, "Action"):
			dst = &ev.Action
		case strings.EqualFold(k, "Package"):
			dst = &ev.Package
		case strings.EqualFold(k, "Test"):
			dst = &ev.Test
		case strings.EqualFold(k, "Output"):
			dst = &ev.Output
		case strings.EqualFold(k, "ImportPath"):
			dst = &ev.ImportPath
		case strings.EqualFold(k, "FailedBuild"):
			dst = &ev.FailedBuild
		case strings.EqualFold(k, "Elapsed"):
			start := d.i
			if !d.skip() || !isJSONNumber(string(line[start:d.i])) {
				return false
			}
			f, err := strconv.ParseFloat(string(line[start:d.i]), 64)
			if err != nil {
				return false
			}
			ev.Elapsed = f
		default:
			if !d.skip() {
				return false
			}
		}
		if dst != nil {
			v, ok := d.str(false)
			if !ok {
				return false
			}
			*dst = string(v)
		}
		d.space()
		if d.byte('}') {
			return d.end()
		}
		if !d.byte(',') {
			return false
		}
	}
}

type jsonScan struct {
	b   []byte
	i   int
	buf []byte
}

func (d *jsonScan) space() {
	for d.i < len(d.b) && (d.b[d.i] == ' ' || d.b[d.i] == '\t' || d.b[d.i] == '\r' || d.b[d.i] == '\n') {
		d.i++
	}
}

func (d *jsonScan) byte(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *jsonScan) end() bool {
	d.space()
	return d.i == len(d.b)
}

// str reads a JSON string; raw keeps escapes undecoded (enough for keys).
func (d *jsonScan) str(raw bool) ([]byte, bool) {
	if !d.byte('"') {
		return nil, false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		if c == '"' {
			s := d.b[start:d.i]
			d.i++
			if !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		}
		if c == '\\' {
			if raw {
				return nil, false
			}
			return d.strSlow(start)
		}
		if c < 0x20 {
			return nil, false
		}
		d.i++
	}
	return nil, false
}

func (d *jsonScan) strSlow(start int) ([]byte, bool) {
	d.buf = append(d.buf[:0], d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			if !utf8.Valid(d.buf) {
				return nil, false
			}
			return d.buf, true
		case c < 0x20:
			return nil, false
		case c != '\\':
			d.buf = append(d.buf, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.b) {
			return nil, false
		}
		e := d.b[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			d.buf = append(d.buf, e)
		case 'b':
			d.buf = append(d.buf, '\b')
		case 'f':
			d.buf = append(d.buf, '\f')
		case 'n':
			d.buf = append(d.buf, '\n')
		case 'r':
			d.buf = append(d.buf, '\r')
		case 't':
			d.buf = append(d.buf, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return nil, false
			}
			if utf16.IsSurrogate(r) {
				// Pair with a following low surrogate, as encoding/json
				// does; otherwise a lone surrogate is U+FFFD and the next
				// escape stands on its own.
				paired := false
				if d.i+1 < len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
					save := d.i
					d.i += 2
					if r2, ok := d.hex4(); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							r, paired = dec, true
						}
					}
					if !paired {
						d.i = save
					}
				}
				if !paired {
					r = utf8.RuneError
				}
			}
			d.buf = utf8.AppendRune(d.buf, r)
		default:
			return nil, false
		}
	}
	return nil, false
}

func (d *jsonScan) hex4() (rune, bool) {
	if d.i+4 > len(d.b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(d.b[d.i:d.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	d.i += 4
	return rune(n), true
}

// skip passes over one value of any kind.
func (d *jsonScan) skip() bool {
	if d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '"':
		_, ok := d.str(false)
		return ok
	case c == '{' || c == '[':
		// Rare in test2json: find the end, then let encoding/json judge it.
		start := d.i
		if !d.skipNested() {
			return false
		}
		return json.Valid(d.b[start:d.i])
	default:
		start := d.i
		for d.i < len(d.b) {
			c := d.b[d.i]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				break
			}
			d.i++
		}
		tok := string(d.b[start:d.i])
		return tok == "true" || tok == "false" || tok == "null" || isJSONNumber(tok)
	}
}

// skipNested passes over a bracketed value, strings included.
func (d *jsonScan) skipNested() bool {
	depth := 0
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case '"':
			if _, ok := d.str(false); !ok {
				return false
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				d.i++
				return true
			}
		}
		d.i++
	}
	return false
}

// isJSONNumber checks JSON's number grammar: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?
func isJSONNumber(s string) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}
