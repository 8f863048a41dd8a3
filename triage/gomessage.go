package triage

import (
	"regexp"
	"strings"
)

// Limits of a test's failure message: enough for a testify block with its
// diff, short enough for an annotation.
const (
	maxMessageLines = 60
	maxMessageBytes = 8 * 1024
)

// "    foo_test.go:42: message": what t.Log, t.Error and t.Fatal print, with
// an optional "TestName: " prefix of old Go versions.
var reGoTestLoc = regexp.MustCompile(`^(\s+)(?:\w+: )?([\w.-]+\.go):(\d+): ?(.*)$`)

// reFailureWords tells a failure report from a progress log: t.Logf and
// t.Errorf print alike, so the words are all there is to go on. A word
// inside a name or path (a subtest "invalid/neg", "error_test.go") is not
// one.
var reFailureWords = regexp.MustCompile(`(?i)(?:^|[^\w/.-])(error|errors|fail|failed|failure|expected|expect|expecting|want|wanted|got|actual|mismatch|differ|differs|diff|unexpected|should|must|not equal|panic|timed out|timeout|invalid|cannot|could not|unable|missing|wrong)(?:$|[^\w/.-])|!=|\+\+\+ `)

// goBlock is one t.Log/t.Error report: its location and its lines, the
// first one without the "file.go:N: " prefix and the following ones
// without the indentation go test adds.
type goBlock struct {
	file  string
	line  int
	lines []string
}

// goTestBlocks splits a test's output into its reports. Lines of the
// testing package's own framing (=== RUN, --- FAIL) are not part of any
// report; lines printed outside any report (fmt.Println) are dropped.
func goTestBlocks(output string) []goBlock {
	var blocks []goBlock
	indent := ""
	in := false
	for output != "" {
		line, rest, _ := strings.Cut(output, "\n")
		output = rest
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimLeft(line, " \t")
		if strings.HasPrefix(trimmed, "=== ") || strings.HasPrefix(trimmed, "--- FAIL: ") ||
			strings.HasPrefix(trimmed, "--- PASS: ") || strings.HasPrefix(trimmed, "--- SKIP: ") {
			in = false
			continue
		}
		if m := reGoTestLoc.FindStringSubmatch(line); m != nil {
			blocks = append(blocks, goBlock{file: m[2], line: atoi(m[3])})
			if m[4] != "" {
				b := &blocks[len(blocks)-1]
				b.lines = append(b.lines, m[4])
			}
			indent, in = m[1]+"    ", true
			continue
		}
		if !in {
			continue
		}
		if cont, ok := strings.CutPrefix(line, indent); ok {
			b := &blocks[len(blocks)-1]
			b.lines = append(b.lines, cont)
			continue
		}
		if strings.TrimSpace(line) == "" {
			b := &blocks[len(blocks)-1]
			b.lines = append(b.lines, "")
			continue
		}
		in = false
	}
	return blocks
}

// goFailureMessage picks a failing test's message from its output: from
// the first report that reads like a failure (or, when none does, the
// last report) to the end, original text, bounded; the location is that
// report's.
func goFailureMessage(output string) (file string, line int, msg string) {
	blocks := goTestBlocks(output)
	if len(blocks) == 0 {
		return "", 0, ""
	}
	first := len(blocks) - 1
	for i, b := range blocks {
		if blockLooksFailed(b) {
			first = i
			break
		}
	}
	var sb strings.Builder
	n := 0
	for i, b := range blocks[first:] {
		if i > 0 && !blockLooksFailed(b) {
			continue // a log line between failures
		}
		for _, l := range b.lines {
			if n == maxMessageLines || sb.Len()+len(l) >= maxMessageBytes {
				sb.WriteString("\n" + ellipsis)
				return blocks[first].file, blocks[first].line, strings.TrimSpace(sb.String())
			}
			if sb.Len() > 0 {
				sb.WriteByte('\n')
			}
			sb.WriteString(strings.TrimRight(l, " \t"))
			n++
		}
	}
	return blocks[first].file, blocks[first].line, strings.Trim(sb.String(), "\n")
}

func blockLooksFailed(b goBlock) bool {
	for _, l := range b.lines {
		if reFailureWords.MatchString(l) {
			return true
		}
	}
	return false
}

// HasOwnFailure reports whether a test's own output (its subtests' not
// included) holds a report that reads like a failure: a parent test that
// failed only because a subtest did has none.
func (t TestCase) HasOwnFailure() bool {
	for _, b := range goTestBlocks(t.Output) {
		if blockLooksFailed(b) {
			return true
		}
	}
	return false
}

// reTestifyLabel is the label column of testify's failure block.
var reTestifyLabel = regexp.MustCompile(`^\s*(Error Trace|Error|Test|Messages):\s*`)

// Headline is the line of a multi-line failure message that says what
// went wrong, for titles: testify's "Error Trace" and labels are left out,
// and a line ending in ":" takes the next lines with it ("Not equal:
// expected: 4 actual  : 5").
func Headline(msg string) string {
	lines := strings.Split(msg, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "Error Trace:") {
			continue
		}
		if m := reTestifyLabel.FindString(l); m != "" {
			l = strings.TrimSpace(l[len(m):])
			if l == "" {
				continue
			}
		}
		for j := i + 1; strings.HasSuffix(strings.TrimSpace(lines[i]), ":") && j < len(lines) && j <= i+3 && len(l) < 150; j++ {
			next := strings.TrimSpace(reTestifyLabel.ReplaceAllString(lines[j], ""))
			if next == "" || strings.HasPrefix(next, "Diff:") {
				break
			}
			l += " " + next
		}
		return l
	}
	return ""
}
