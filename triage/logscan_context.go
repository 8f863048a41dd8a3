package triage

import (
	"bytes"
	"container/heap"
	"regexp"
)

// The scanner reads each line in the light of the lines around it: a
// command echo or an environment dump is never evidence, a warning or an
// error the log later recovered from is demoted, and the lines that carry
// on an error (its context, trace, compiler notes) form one block with it.

// echoState follows the multi-line command echoes of CI systems: GitHub
// Actions prints "Run <command>" and then, indented, the script, its shell
// and an "env:" list; a list of variables under "env:" is never output.
type echoState struct {
	indent int // lines indented more than this continue the echo; -1: none
}

// isEcho reports whether text (a cleaned line) is an echo of a command or
// a line of an environment dump: a shell trace ("+ cmd"), a CI system's
// "$ cmd" or "Run cmd", a variable assignment (go env, printenv, export),
// or a line of an "env:" block. Such lines name variables and commands,
// not failures.
func (e *echoState) isEcho(text []byte) bool {
	if len(text) == 0 {
		e.indent = -1
		return false
	}
	if text[0] == ' ' || text[0] == '\t' {
		ind := indentOf(text)
		if e.indent >= 0 {
			if ind > e.indent && ind < len(text) {
				return true
			}
			e.indent = -1
		}
		if string(text[ind:]) == "env:" {
			e.indent = ind
			return true
		}
		return false
	}
	e.indent = -1
	switch text[0] {
	case '+', '$':
		i := 0
		for i < len(text) && text[i] == text[0] && i < 4 {
			i++
		}
		return i < len(text) && text[i] == ' '
	case 'R', '#':
		if bytes.HasPrefix(text, []byte("Run ")) || bytes.HasPrefix(text, []byte("##[group]Run ")) {
			// Raw logs do not always close the group before the command's
			// output: only the indented lines after it are taken as echo.
			e.indent = 0
			return true
		}
		return bytes.HasPrefix(text, []byte("##[endgroup]"))
	case 'e':
		if string(text) == "env:" {
			e.indent = 0
			return true
		}
	}
	return isAssignment(text)
}

// isAssignment reports whether t starts with NAME=, optionally after
// export, declare -x, set or setenv.
func isAssignment(t []byte) bool {
	eq := bytes.IndexByte(t[:min(len(t), 128)], '=')
	if eq <= 0 {
		return false
	}
	t = t[:eq+1]
	for _, p := range [][]byte{[]byte("export "), []byte("declare -x "), []byte("set "), []byte("setenv ")} {
		if bytes.HasPrefix(t, p) {
			t = t[len(p):]
			break
		}
	}
	i := 0
	for i < len(t) && (t[i] == '_' || t[i] >= 'A' && t[i] <= 'Z' || t[i] >= 'a' && t[i] <= 'z' || i > 0 && t[i] >= '0' && t[i] <= '9') {
		i++
	}
	return i > 0 && i < len(t) && t[i] == '='
}

func indentOf(text []byte) int {
	i := 0
	for i < len(text) && (text[i] == ' ' || text[i] == '\t') {
		i++
	}
	return i
}

// isWarning reports whether a logger or tool marked the line as a warning
// (WARN, WARNING, warning:): a problem it handled, rarely the cause.
func isWarning(text []byte) bool {
	t := text[indentOf(text):]
	if bytes.HasPrefix(t, []byte("warning:")) || bytes.HasPrefix(t, []byte("Warning:")) {
		return true
	}
	head := t[:min(len(t), 64)]
	i := bytes.Index(head, []byte("WARN"))
	if i < 0 {
		return false
	}
	if i > 0 && isWordByte(head[i-1]) {
		return false
	}
	j := i + 4
	if bytes.HasPrefix(head[j:], []byte("ING")) {
		j += 3
	}
	return j >= len(head) || !isWordByte(head[j])
}

// isTraceLine reports whether text carries on an exception printed before
// it: a stack frame, a nested cause, or the exception's own line.
func isTraceLine(text []byte) bool {
	if indentOf(text) > 0 {
		return true
	}
	return bytes.HasPrefix(text, []byte("Caused by:")) ||
		(bytes.Contains(text, []byte("Exception")) || bytes.Contains(text, []byte("Error"))) && reExceptionLine.Match(text)
}

var reExceptionLine = regexp.MustCompile(`^(?:[\w$]+\.)+[\w$]*(?:Exception|Error)\b`)

var (
	// reRetry marks a line that says the operation will be tried again.
	reRetry = regexp.MustCompile(`(?i)\bretry(?:ing)?\b|\btries remaining\b|\battempt \d+\b|\btrying again\b`)
	// reRecovered marks a line that reports an operation succeeded.
	reRecovered = regexp.MustCompile(`(?i)\b(?:succeeded|successfully|accepting connections|is ready|ready to accept|connected to|download(?:ed)? complete|done)\b`)
)

// mentionsRetry is reRetry.Match with a cheap test first.
func mentionsRetry(text []byte) bool {
	for _, w := range [][]byte{[]byte("etry"), []byte("ETRY"), []byte("etrying"), []byte("tries"), []byte("ttempt"), []byte("again")} {
		if bytes.Contains(text, w) {
			return reRetry.Match(text)
		}
	}
	return false
}

const (
	warningFactor   = 0.5 // a line a tool marked as a warning
	recoveredFactor = 0.3 // an error a later line shows was recovered from
	recoveryWindow  = 50  // lines within which a success recovers an error
	maxTransient    = 32
)

// transientKind reports whether an error of category c may be retried and
// recovered from within a log (a lookup, a connection, a download).
func transientKind(c Category) bool {
	return c == CategoryNetwork || c == CategoryTimeout || c == CategoryInfrastructure
}

// noteTransient remembers a match a later success may show was recovered.
func (s *LogScanner) noteTransient(m *Match, text []byte) {
	if !transientKind(m.Category) && !mentionsRetry(text) {
		return
	}
	if len(s.transient) >= maxTransient {
		copy(s.transient, s.transient[1:])
		s.transient = s.transient[:len(s.transient)-1]
	}
	s.transient = append(s.transient, m)
}

// recover demotes the transient errors of the last recoveryWindow lines
// when line n reports a success: the log shows they were overcome.
func (s *LogScanner) recover(n int64, text []byte) {
	// Errors older than the window can no longer be recovered: forget
	// them, so that lines are only tested for a success near an error.
	kept := s.transient[:0]
	for _, m := range s.transient {
		if n-m.Line <= recoveryWindow {
			kept = append(kept, m)
		}
	}
	s.transient = kept
	if len(kept) == 0 || !reRecovered.Match(text) {
		return
	}
	for _, m := range s.transient {
		m.Score *= recoveredFactor
		m.Recovered = true
	}
	s.transient = s.transient[:0]
	heap.Init(&s.heap)
}
