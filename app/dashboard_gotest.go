package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
)

// goEvent is the part of a test2json event the readable log needs.
type goEvent struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

// maxGoLogLines bounds the readable rendering; a longer log is shown as
// numbered lines (the last maxLogLines of them) like any other.
const maxGoLogLines = 20000

// isGoTestJSON reports whether a log is a go test -json stream: most of
// its first lines are test2json events. Lines go prints to stderr before
// or between them ("go: downloading …", build errors) do not disqualify it;
// the readable view shows them as they are.
func isGoTestJSON(data []byte) bool {
	events, lines := 0, 0
	for len(data) > 0 && lines < 50 {
		line, rest, _ := bytes.Cut(data, []byte{'\n'})
		data = rest
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		lines++
		var ev goEvent
		if line[0] == '{' && json.Unmarshal(line, &ev) == nil && ev.Action != "" {
			events++
		}
	}
	return events > 0 && events*2 >= lines
}

// goItem is one piece of the readable log: a package-level line (Test
// empty), or a top-level test with all its output and its subtests'.
type goItem struct {
	line   int    // the raw log's line number of a package-level line
	text   string // a package-level line
	test   string
	pkg    string
	action string // pass, fail, skip; "" while unfinished
	secs   float64
	out    []goOut
}

type goOut struct {
	line int
	text string
}

// renderGoTestLog shows a go test -json log as the text go test -v prints:
// each top-level test's output (subtests included) folded under its
// "--- PASS/FAIL" line, failing and unfinished tests open, passing and
// skipped ones closed; package lines (ok, FAIL, build errors) between them.
// Every output line keeps the anchor of its raw line (s{step}-L{n}), so
// evidence links land on it. Lines that are not events are shown as they
// are. ok is false when the log is too long to render this way.
func renderGoTestLog(data []byte, stepID int64, evidence map[int]bool) (html template.HTML, ok bool) {
	if bytes.Count(data, []byte{'\n'}) > maxGoLogLines {
		return "", false
	}
	var items []*goItem
	tests := map[[2]string]*goItem{}
	n := 0
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		n++
		var ev goEvent
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if line[0] != '{' || json.Unmarshal(line, &ev) != nil || ev.Action == "" {
			items = append(items, &goItem{line: n, text: string(line)})
			continue
		}
		if ev.Test == "" {
			if ev.Output != "" {
				items = append(items, &goItem{line: n, text: strings.TrimRight(ev.Output, "\n")})
			}
			continue
		}
		top, _, _ := strings.Cut(ev.Test, "/")
		k := [2]string{ev.Package, top}
		it := tests[k]
		if it == nil {
			it = &goItem{test: top, pkg: ev.Package}
			tests[k] = it
			items = append(items, it)
		}
		switch ev.Action {
		case "output":
			it.out = append(it.out, goOut{line: n, text: strings.TrimRight(ev.Output, "\n")})
		case "pass", "fail", "skip":
			if ev.Test == top {
				it.action, it.secs = ev.Action, ev.Elapsed
			}
		case "run":
			if ev.Test == top { // a test run again (-count, a retry in the same stream) starts over
				it.action = ""
			}
		}
	}
	var b strings.Builder
	b.WriteString(`<div class="gotest">`)
	var st ansiState
	for _, it := range items {
		if it.test == "" {
			cls := "pkg"
			if strings.HasPrefix(it.text, "FAIL") || strings.HasPrefix(it.text, "panic:") {
				cls += " fail"
			}
			if evidence[it.line] {
				cls += " ev"
			}
			fmt.Fprintf(&b, `<div class="%s" id="%s">%s</div>`, cls, lineAnchor(stepID, it.line), ansiLineHTML([]byte(it.text), &st))
			continue
		}
		// go- prefixed: .skip is the skip link's class.
		open, word, cls := " open", "FAIL", "go-fail"
		switch it.action {
		case "pass":
			open, word, cls = "", "PASS", "go-pass"
		case "skip":
			open, word, cls = "", "SKIP", "go-skip"
		}
		summary := fmt.Sprintf("--- %s: %s (%.2fs)", word, it.test, it.secs)
		if it.action == "" {
			summary = fmt.Sprintf("=== RUN   %s (did not finish)", it.test)
		}
		fmt.Fprintf(&b, `<details%s><summary class="%s">%s</summary><pre>`, open, cls, template.HTMLEscapeString(summary))
		for _, o := range it.out {
			ev := ""
			if evidence[o.line] {
				ev = ` class="ev"`
			}
			fmt.Fprintf(&b, `<span id="%s"%s>%s</span>`+"\n", lineAnchor(stepID, o.line), ev, ansiLineHTML([]byte(o.text), &st))
		}
		b.WriteString("</pre></details>")
	}
	b.WriteString("</div>")
	return template.HTML(b.String()), true
}
