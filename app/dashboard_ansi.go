package app

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ansiState is the SGR (colour and weight) state of a terminal, carried from
// one line to the next as a terminal would.
type ansiState struct {
	fg, bg                   string // a class suffix (1 → af1/ag1) or a CSS colour (#rrggbb)
	bold, dim, italic, under bool
}

func (s ansiState) plain() bool { return s == ansiState{} }

// open returns the span that renders text in this state.
func (s ansiState) open() string {
	var classes, styles []string
	add := func(v, prop, class string) {
		switch {
		case v == "":
		case strings.HasPrefix(v, "#"):
			styles = append(styles, prop+":"+v)
		default:
			classes = append(classes, class+v)
		}
	}
	add(s.fg, "color", "af")
	add(s.bg, "background-color", "ag")
	for _, f := range []struct {
		on bool
		c  string
	}{{s.bold, "ab"}, {s.dim, "ad"}, {s.italic, "ai"}, {s.under, "au"}} {
		if f.on {
			classes = append(classes, f.c)
		}
	}
	out := "<span"
	if len(classes) > 0 {
		out += ` class="` + strings.Join(classes, " ") + `"`
	}
	if len(styles) > 0 {
		out += ` style="` + strings.Join(styles, ";") + `"`
	}
	return out + ">"
}

// apply interprets the parameters of one SGR sequence (ESC [ ... m).
func (s *ansiState) apply(params string) {
	if params == "" {
		*s = ansiState{}
		return
	}
	ps := strings.Split(strings.ReplaceAll(params, ":", ";"), ";")
	num := func(i int) int {
		if i >= len(ps) {
			return -1
		}
		n, err := strconv.Atoi(ps[i])
		if err != nil {
			return -1
		}
		return n
	}
	for i := 0; i < len(ps); i++ {
		n := num(i)
		switch {
		case n == 0 || ps[i] == "":
			*s = ansiState{}
		case n == 1:
			s.bold = true
		case n == 2:
			s.dim = true
		case n == 3:
			s.italic = true
		case n == 4:
			s.under = true
		case n == 22:
			s.bold, s.dim = false, false
		case n == 23:
			s.italic = false
		case n == 24:
			s.under = false
		case n >= 30 && n <= 37:
			s.fg = strconv.Itoa(n - 30)
		case n >= 90 && n <= 97:
			s.fg = strconv.Itoa(n - 90 + 8)
		case n == 39:
			s.fg = ""
		case n >= 40 && n <= 47:
			s.bg = strconv.Itoa(n - 40)
		case n >= 100 && n <= 107:
			s.bg = strconv.Itoa(n - 100 + 8)
		case n == 49:
			s.bg = ""
		case n == 38 || n == 48:
			var c string
			switch num(i + 1) {
			case 5:
				c = color256(num(i + 2))
				i += 2
			case 2:
				r, g, b := num(i+2), num(i+3), num(i+4)
				if r >= 0 && g >= 0 && b >= 0 && r < 256 && g < 256 && b < 256 {
					c = fmt.Sprintf("#%02x%02x%02x", r, g, b)
				}
				i += 4
			}
			if n == 38 {
				s.fg = c
			} else {
				s.bg = c
			}
		}
	}
}

// color256 maps an xterm 256-colour index to a class (0-15) or a CSS colour.
func color256(n int) string {
	switch {
	case n < 0 || n > 255:
		return ""
	case n < 16:
		return strconv.Itoa(n)
	case n < 232:
		n -= 16
		level := func(v int) int {
			if v == 0 {
				return 0
			}
			return 55 + v*40
		}
		return fmt.Sprintf("#%02x%02x%02x", level(n/36), level(n/6%6), level(n%6))
	default:
		g := 8 + (n-232)*10
		return fmt.Sprintf("#%02x%02x%02x", g, g, g)
	}
}

// ansiLineHTML renders one log line (without its newline) as escaped HTML
// with colour spans, updating st. Other escape sequences (cursor movement,
// titles) are dropped; a carriage return keeps only what was drawn last, as
// a progress bar looks in a terminal.
func ansiLineHTML(line []byte, st *ansiState) template.HTML {
	if i := bytes.LastIndexByte(bytes.TrimRight(line, "\r"), '\r'); i >= 0 {
		// Apply the colour changes of the overwritten part, show the rest.
		ansiText(line[:i], st, nil)
		line = line[i+1:]
	}
	var b strings.Builder
	ansiText(bytes.TrimRight(line, "\r"), st, &b)
	return template.HTML(b.String())
}

func ansiText(line []byte, st *ansiState, out *strings.Builder) {
	open := false
	flush := func(text []byte) {
		if out == nil || len(text) == 0 {
			return
		}
		if !open && !st.plain() {
			out.WriteString(st.open())
			open = true
		}
		out.WriteString(html.EscapeString(strings.ToValidUTF8(string(text), string(utf8.RuneError))))
	}
	closeSpan := func() {
		if open && out != nil {
			out.WriteString("</span>")
		}
		open = false
	}
	start := 0
	for i := 0; i < len(line); i++ {
		if line[i] != 0x1b {
			continue
		}
		flush(line[start:i])
		end := skipEscape(line, i)
		if end > i+2 && line[i+1] == '[' && line[end-1] == 'm' {
			closeSpan()
			st.apply(string(line[i+2 : end-1]))
		}
		start = end
		i = end - 1
	}
	flush(line[start:])
	closeSpan()
}

// skipEscape returns the index just past the escape sequence at line[i].
func skipEscape(line []byte, i int) int {
	if i+1 >= len(line) {
		return len(line)
	}
	switch line[i+1] {
	case '[': // CSI: parameters, then a final byte in @..~
		for j := i + 2; j < len(line); j++ {
			if line[j] >= 0x40 && line[j] <= 0x7e {
				return j + 1
			}
		}
		return len(line)
	case ']': // OSC: until BEL or ESC \
		for j := i + 2; j < len(line); j++ {
			if line[j] == 0x07 {
				return j + 1
			}
			if line[j] == 0x1b && j+1 < len(line) && line[j+1] == '\\' {
				return j + 2
			}
		}
		return len(line)
	default:
		return i + 2
	}
}
