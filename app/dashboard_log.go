package app

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/sentinel-ci/sentinel/store"
)

// maxLogLines is how many lines of one step the run page shows; the whole
// log is a click away as plain text.
const maxLogLines = 5000

// logLine is one rendered log line with its number and anchor.
type logLine struct {
	N        int
	Anchor   string
	HTML     template.HTML
	Evidence bool
}

// renderedLog is a step's log as the run page shows it.
type renderedLog struct {
	Lines    []logLine
	HTML     template.HTML // Lines as markup, built once: a log has thousands of lines
	Skipped  int           // lines before the first shown one
	NextLine int           // number of the first line not shown yet (for the live tail)
}

// writeLogLine writes the markup of one line; the live tail sends the same.
func writeLogLine(b *strings.Builder, stepID int64, n int, line template.HTML, evidence bool) {
	a := lineAnchor(stepID, n)
	b.WriteString(`<div class="l`)
	if evidence {
		b.WriteString(` ev`)
	}
	b.WriteString(`" id="`)
	b.WriteString(a)
	b.WriteString(`"><a class="n" href="#`)
	b.WriteString(a)
	b.WriteString(`">`)
	b.WriteString(strconv.Itoa(n))
	b.WriteString(`</a><code>`)
	b.WriteString(string(line))
	b.WriteString("</code></div>")
}

func lineAnchor(stepID int64, n int) string {
	return "s" + strconv.FormatInt(stepID, 10) + "-L" + strconv.Itoa(n)
}

// renderLog renders data, whose first byte belongs to line firstLine. With
// completeOnly (a step still writing) a last line without its newline is
// held back: the live tail sends it once it is complete. Only the last max
// lines are rendered.
func renderLog(data []byte, stepID int64, firstLine int, evidence map[int]bool, max int, completeOnly bool) renderedLog {
	lines := bytes.Split(data, []byte{'\n'})
	last := lines[len(lines)-1]
	lines = lines[:len(lines)-1]
	if len(last) > 0 && !completeOnly {
		lines = append(lines, last)
	}
	out := renderedLog{NextLine: firstLine + len(lines)}
	if max > 0 && len(lines) > max {
		out.Skipped = len(lines) - max
	}
	var st ansiState
	var b strings.Builder
	out.Lines = make([]logLine, 0, len(lines)-out.Skipped)
	for i := out.Skipped; i < len(lines); i++ {
		n := firstLine + i
		l := logLine{N: n, Anchor: lineAnchor(stepID, n), HTML: ansiLineHTML(lines[i], &st), Evidence: evidence[n]}
		writeLogLine(&b, stepID, n, l.HTML, l.Evidence)
		out.Lines = append(out.Lines, l)
	}
	out.HTML = template.HTML(b.String())
	return out
}

// handleStepLog serves a step's whole log as plain text (ANSI codes kept).
func (s *Server) handleStepLog(w http.ResponseWriter, r *http.Request) {
	runID, err1 := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	stepID, err2 := strconv.ParseInt(chi.URLParam(r, "step"), 10, 64)
	if err1 != nil || err2 != nil {
		s.pageError(w, r, clientError(http.StatusBadRequest, "run and step ids must be numbers"))
		return
	}
	st, err := store.GetStep(r.Context(), s.DB, stepID)
	if err == nil && st.RunID != runID {
		err = store.ErrNotFound
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	data, err := store.StepLog(r.Context(), s.DB, stepID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(data)
}
