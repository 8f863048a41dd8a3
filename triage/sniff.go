package triage

import (
	"bytes"
)

// Format is the kind of a result or log file.
type Format string

const (
	FormatGoTestJSON Format = "go-test-json"
	FormatJUnit      Format = "junit"
	FormatLog        Format = "log"
)

// DetectFormat tells a go test -json stream, JUnit XML and a plain log
// apart from the first bytes of a file (a few KiB are enough).
func DetectFormat(head []byte) Format {
	head = bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF"))
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if bytes.HasPrefix(trimmed, []byte("<")) {
		if bytes.Contains(head, []byte("<testsuite")) || bytes.Contains(head, []byte("<testcase")) {
			return FormatJUnit
		}
		if bytes.HasPrefix(trimmed, []byte("<?xml")) && !bytes.Contains(head, []byte("<html")) {
			return FormatJUnit
		}
		return FormatLog
	}
	// A go test -json stream may start with non-JSON lines (compiler
	// errors on the same stream); look at the first lines for an event.
	events, lines := 0, 0
	for len(head) > 0 && lines < 20 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		lines++
		if line[0] == '{' && bytes.Contains(line, []byte(`"Action":"`)) {
			events++
		}
	}
	if events > 0 && events*2 >= lines {
		return FormatGoTestJSON
	}
	return FormatLog
}
