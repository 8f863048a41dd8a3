package triage

import "strings"

// maxStackLines bounds the lines kept of a panic, race or timeout report:
// a timeout dumps every goroutine, and the one stuck in the repository's
// code may come late.
const maxStackLines = 200

// reportLine adds a line of a panic, race or timeout report to pr (prev is
// the line before it, which names a frame's function) and reports whether
// the report has ended: with the package's result line, or for a race
// with its closing rule.
func (pr *Problem) reportLine(text, prev string) (done bool) {
	if strings.HasPrefix(text, "FAIL\t") || strings.HasPrefix(text, "ok  \t") || strings.HasPrefix(text, "exit status ") ||
		text == "FAIL" || pr.Kind == ProblemRace && text == "==================" {
		return true
	}
	if len(pr.Output) >= maxStackLines {
		return true
	}
	pr.Output = append(pr.Output, ClipBytes(text, maxContextLen))
	if len(pr.Frames) < maxFrames {
		if f, ok := parseFrame(text, prev); ok {
			pr.Frames = append(pr.Frames, f)
		}
	}
	if pr.File == "" {
		if f, ok := parseGoFrame(text, prev); ok && !f.isStdFrame() {
			pr.File, pr.Line = f.file, f.line
		}
	}
	return false
}

// problemMessage is what a problem says, in the words the tool printed:
// its message and, for panics, races and timeouts, the report's lines
// that matter: its head, and the goroutines with a frame of the
// repository's code (a timeout lists every goroutine).
func problemMessage(p Problem) string {
	switch p.Kind {
	case ProblemPanic, ProblemRace, ProblemTimeout:
	default:
		if len(p.Detail) > 0 {
			return p.Message + "\n" + strings.Join(p.Detail, "\n")
		}
		return p.Message
	}
	var sb strings.Builder
	sb.WriteString(p.Message)
	add := func(ls []string) {
		for _, l := range ls {
			if sb.Len()+len(l) >= maxMessageBytes {
				return
			}
			sb.WriteString("\n" + l)
		}
	}
	// Paragraphs: the head, then one per goroutine (or race access).
	var para []string
	first := true
	flush := func() {
		if len(para) == 0 {
			return
		}
		keep := first
		for i := 1; i < len(para) && !keep; i++ {
			if f, ok := parseGoFrame(para[i], para[i-1]); ok && !f.isStdFrame() {
				keep = true
			}
		}
		if keep {
			add(append(para, ""))
		}
		para, first = para[:0], false
	}
	for _, l := range p.Output {
		if strings.TrimSpace(l) == "" {
			flush()
			continue
		}
		para = append(para, l)
	}
	flush()
	return strings.TrimSpace(sb.String())
}
