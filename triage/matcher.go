package triage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Diagnostic is one located problem a tool printed in a step log: a
// compiler error, a lint finding, a failing assertion's line. File is
// repository-relative (see Paths); LogLine is the 1-based log line that
// produced it.
type Diagnostic struct {
	File     string `json:"file"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	Severity string `json:"severity"` // error, warning or notice
	Message  string `json:"message"`
	Code     string `json:"code,omitempty"`
	Owner    string `json:"owner"` // the matcher that found it
	LogLine  int64  `json:"log_line"`
}

// Matcher turns log lines into diagnostics. It has the semantics of a
// GitHub Actions problem matcher (one or more patterns matched against
// consecutive lines, the last one optionally looping), so matcher files
// written for Actions work unchanged; see ParseProblemMatchers. Built-in
// matchers (BuiltinMatchers) add a few things the JSON format cannot say.
type Matcher struct {
	Owner    string
	Severity string // default severity: error, warning or notice ("" means error)
	Patterns []MatcherPattern

	// Built-in only.
	gate     func(line []byte) bool // cheap test a line must pass to try Patterns[0]; nil: literals of the regexp
	remember *regexp.Regexp         // a line it matches (group 1) becomes the message of the next match
	remGate  func(line []byte) bool // cheap test before remember; nil: literals of the regexp
	remFirst bool                   // keep the first remembered line until a match uses it
	pending  *regexp.Regexp         // matches wait for a line it matches (group 1): their message
	skip     func(file string) bool // files that are not the project's (dependencies, the runtime)
}

// MatcherPattern is one pattern of a matcher; the numbers are capture
// groups (0: not set).
type MatcherPattern struct {
	Regexp                                                *regexp.Regexp
	File, FromPath, Line, Column, Severity, Code, Message int
	Loop                                                  bool

	indentColumn int // built-in only: a group of leading blanks whose length + 1 is the column (a caret under the source)
}

// MatcherError is a problem in a problem-matcher file: Line is 1-based, 0
// when the problem is not tied to one line.
type MatcherError struct {
	Line int
	Msg  string
}

func (e *MatcherError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

type matcherFileJSON struct {
	ProblemMatcher []matcherJSON `json:"problemMatcher"`
}

type matcherJSON struct {
	Owner    string        `json:"owner"`
	Severity string        `json:"severity"`
	Pattern  []patternJSON `json:"pattern"`
}

type patternJSON struct {
	Regexp   string `json:"regexp"`
	File     *int   `json:"file"`
	FromPath *int   `json:"fromPath"`
	Line     *int   `json:"line"`
	Column   *int   `json:"column"`
	Severity *int   `json:"severity"`
	Code     *int   `json:"code"`
	Message  *int   `json:"message"`
	Loop     bool   `json:"loop"`
}

// maxMatcherFile bounds a matcher file: a hostile one costs no more.
const maxMatcherFile = 256 << 10

// ParseProblemMatchers reads a GitHub Actions problem-matcher file
// ({"problemMatcher": [{"owner", "severity", "pattern": [...]}]}) and
// validates it as the Actions runner does: an owner per matcher, at least
// one pattern, loop only on the last of several patterns, each property set
// by one pattern only and naming an existing group, message set somewhere.
// Comments (// and /* */), which the runner tolerates, are allowed, and
// unknown keys are ignored as the runner ignores them.
// Regular expressions are RE2: look-arounds and back-references are
// refused with the pattern named. Errors are *MatcherError.
func ParseProblemMatchers(data []byte) ([]*Matcher, error) {
	if len(data) > maxMatcherFile {
		return nil, &MatcherError{Msg: fmt.Sprintf("file is larger than %d KiB", maxMatcherFile>>10)}
	}
	clean := stripJSONComments(data)
	dec := json.NewDecoder(bytes.NewReader(clean))
	var f matcherFileJSON
	if err := dec.Decode(&f); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, &MatcherError{Line: lineAt(clean, se.Offset), Msg: "invalid JSON: " + se.Error()}
		case errors.As(err, &te):
			return nil, &MatcherError{Line: lineAt(clean, te.Offset), Msg: fmt.Sprintf("%s must be a %s, not a %s", te.Field, te.Type, te.Value)}
		}
		return nil, &MatcherError{Msg: "invalid JSON: " + err.Error()}
	}
	if len(f.ProblemMatcher) == 0 {
		return nil, &MatcherError{Line: 1, Msg: `no matchers: the file needs a "problemMatcher" list`}
	}
	owners := map[string]bool{}
	var out []*Matcher
	for i, mj := range f.ProblemMatcher {
		line := lineOfKey(clean, "owner", i)
		m, err := mj.compile()
		if err != nil {
			return nil, &MatcherError{Line: line, Msg: fmt.Sprintf("problemMatcher[%d]: %v", i, err)}
		}
		if owners[strings.ToLower(m.Owner)] {
			return nil, &MatcherError{Line: line, Msg: fmt.Sprintf("problemMatcher[%d]: duplicate owner %q", i, m.Owner)}
		}
		owners[strings.ToLower(m.Owner)] = true
		out = append(out, m)
	}
	return out, nil
}

func (mj matcherJSON) compile() (*Matcher, error) {
	if mj.Owner == "" {
		return nil, errors.New("owner must not be empty")
	}
	m := &Matcher{Owner: mj.Owner}
	switch strings.ToLower(mj.Severity) {
	case "", "error":
		m.Severity = "error"
	case "warning", "notice":
		m.Severity = strings.ToLower(mj.Severity)
	default:
		return nil, fmt.Errorf("matcher %q: default severity %q is not error, warning or notice", mj.Owner, mj.Severity)
	}
	if len(mj.Pattern) == 0 {
		return nil, fmt.Errorf("matcher %q has no patterns", mj.Owner)
	}
	set := map[string]bool{}
	for i, pj := range mj.Pattern {
		last := i == len(mj.Pattern)-1
		if pj.Loop && (i == 0 || !last) {
			return nil, fmt.Errorf("matcher %q pattern %d: only the last pattern of several may set loop", mj.Owner, i)
		}
		if pj.Loop && pj.Message == nil {
			return nil, fmt.Errorf("matcher %q pattern %d: the loop pattern must set message", mj.Owner, i)
		}
		if pj.Regexp == "" {
			return nil, fmt.Errorf("matcher %q pattern %d: regexp is required", mj.Owner, i)
		}
		re, err := regexp.Compile(pj.Regexp)
		if err != nil {
			return nil, fmt.Errorf("matcher %q pattern %d: regexp %q: %v (patterns are RE2: no look-arounds or back-references)", mj.Owner, i, pj.Regexp, err)
		}
		p := MatcherPattern{Regexp: re, Loop: pj.Loop}
		groups := re.NumSubexp()
		for _, prop := range []struct {
			name string
			v    *int
			dst  *int
		}{{"file", pj.File, &p.File}, {"fromPath", pj.FromPath, &p.FromPath}, {"line", pj.Line, &p.Line},
			{"column", pj.Column, &p.Column}, {"severity", pj.Severity, &p.Severity}, {"code", pj.Code, &p.Code},
			{"message", pj.Message, &p.Message}} {
			if prop.v == nil {
				continue
			}
			if set[prop.name] {
				return nil, fmt.Errorf("matcher %q pattern %d: the property %q is set twice", mj.Owner, i, prop.name)
			}
			set[prop.name] = true
			if *prop.v < 0 || *prop.v > groups {
				return nil, fmt.Errorf("matcher %q pattern %d: %s is group %d, but the regexp has %d groups", mj.Owner, i, prop.name, *prop.v, groups)
			}
			*prop.dst = *prop.v
		}
		m.Patterns = append(m.Patterns, p)
	}
	if !set["message"] {
		return nil, fmt.Errorf("matcher %q: at least one pattern must set message", mj.Owner)
	}
	return m, nil
}

// stripJSONComments blanks // and /* */ comments outside strings, keeping
// every newline so that line numbers stay right.
func stripJSONComments(data []byte) []byte {
	if !bytes.Contains(data, []byte("/")) {
		return data
	}
	out := bytes.Clone(data)
	inStr := false
	for i := 0; i < len(out); i++ {
		c := out[i]
		switch {
		case inStr:
			if c == '\\' {
				i++
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '/' && i+1 < len(out) && out[i+1] == '/':
			for ; i < len(out) && out[i] != '\n'; i++ {
				out[i] = ' '
			}
		case c == '/' && i+1 < len(out) && out[i+1] == '*':
			j := i
			for ; j < len(out) && !(out[j] == '*' && j+1 < len(out) && out[j+1] == '/' && j > i+1); j++ {
				if out[j] != '\n' {
					out[j] = ' '
				}
			}
			for k := j; k < min(j+2, len(out)); k++ {
				out[k] = ' '
			}
			i = j + 1
		}
	}
	return out
}

// lineAt is the 1-based line of byte offset off.
func lineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return 1 + bytes.Count(data[:off], []byte("\n"))
}

// lineOfKey is the line of the n-th (0-based) occurrence of "key": a good
// enough place to point at for the n-th matcher's problem; 0 if absent.
func lineOfKey(data []byte, key string, n int) int {
	needle := []byte(`"` + key + `"`)
	off := 0
	for i := 0; ; i++ {
		j := bytes.Index(data[off:], needle)
		if j < 0 {
			return 0
		}
		if i == n {
			return lineAt(data, int64(off+j))
		}
		off += j + len(needle)
	}
}
