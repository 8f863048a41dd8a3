package jobs

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// renderSummary writes the check run's markdown summary: the verdict, a
// table of steps, each failure cluster with its triage, and the flaky tests.
func renderSummary(conclusion string, r CheckReport) string {
	var b strings.Builder
	runURL := RunURL(r.PublicURL, r.Run.ID)
	fmt.Fprintf(&b, "**Conclusion: %s** — %s. [Run #%d in Sentinel](%s)\n\n", conclusion, verdict(conclusion, r.Failures), r.Run.ID, runURL)
	if conclusion == "neutral" {
		fmt.Fprintf(&b, "> Every failure is a known flaky test: %s. The check is **neutral** rather than failed, so they do not block the merge; quarantine or fix them.\n\n",
			strings.Join(flakyNames(r.Failures), ", "))
	}
	if r.Run.Error != "" {
		fmt.Fprintf(&b, "> **Run error%s:** %s\n\n", categorySuffix(r.Run.Category), oneLineMD(r.Run.Error))
	}
	for _, w := range r.Run.Warnings {
		fmt.Fprintf(&b, "> **Warning:** %s\n\n", oneLineMD(w))
	}
	for _, f := range r.Failures {
		if f.DiagnosticsDropped > 0 {
			// Say so, or a reader takes the annotations for all of them.
			fmt.Fprintf(&b, "> **Note:** step `%s` printed %d diagnostics beyond the %d kept; only those kept are annotated, the log has them all.\n\n",
				codeMD(f.StepName), f.DiagnosticsDropped, len(f.Diagnostics))
		}
	}
	writeSteps(&b, r.Steps)
	writeClusters(&b, r)
	writeFlaky(&b, r.Failures)
	writeProbes(&b, r)
	return b.String()
}

func verdict(conclusion string, fs []store.ReportFailure) string {
	if len(fs) == 0 {
		if conclusion == "success" {
			return "every step passed"
		}
		return "no failure was classified"
	}
	clusters := map[int64]bool{}
	for _, f := range fs {
		clusters[clusterKey(f)] = true
	}
	return fmt.Sprintf("%s in %s", plural(len(fs), "failure"), plural(len(clusters), "cluster"))
}

// clusterKey groups failures of one cluster; unclustered failures stand alone.
func clusterKey(f store.ReportFailure) int64 {
	if f.ClusterID != 0 {
		return f.ClusterID
	}
	return -f.ID
}

func categorySuffix(c triage.Category) string {
	if c == "" {
		return ""
	}
	return " (" + string(c) + ")"
}

func writeSteps(b *strings.Builder, steps []store.Step) {
	if len(steps) == 0 {
		return
	}
	b.WriteString("### Steps\n\n| Step | Result | Duration |\n|---|---|---|\n")
	for _, s := range steps {
		name := s.Name
		if s.Attempt > 1 {
			name = fmt.Sprintf("%s (attempt %d)", s.Name, s.Attempt)
		}
		result := stepIcon(s.State) + " " + string(s.State)
		switch {
		case s.OOMKilled:
			result += " (out of memory)"
		case s.ExitCode != nil && *s.ExitCode != 0:
			result += fmt.Sprintf(" (exit %d)", *s.ExitCode)
		case s.State == triage.StepSkipped && (strings.HasPrefix(s.Error, "filtered out: ") || strings.HasPrefix(s.Error, passedInPrefix)):
			result += " (" + s.Error + ")"
		}
		var d string
		if s.StartedAt != nil && s.FinishedAt != nil {
			d = FormatDuration(s.FinishedAt.Sub(*s.StartedAt))
		} else {
			d = FormatDuration(0)
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", cellMD(name), cellMD(result), d)
	}
	b.WriteString("\n")
	for _, s := range steps {
		if s.StoppedPackages > 0 {
			fmt.Fprintf(b, "> ⚠️ Step `%s`: %s\n\n", codeMD(s.Name), StoppedText(s.StoppedPackages))
		}
	}
}

// StoppedText says that tests did not run because their package's test
// binary ended early, for the check run, the dashboard and the API alike.
func StoppedText(packages int) string {
	if packages == 1 {
		return "1 package ended by a panic or a timeout; its later tests did not run and are in no count."
	}
	return fmt.Sprintf("%d packages ended by a panic or a timeout; their later tests did not run and are in no count.", packages)
}

func stepIcon(state triage.StepState) string {
	switch state {
	case triage.StepSucceeded:
		return "✅"
	case triage.StepFailed, triage.StepErrored:
		return "❌"
	case triage.StepTimedOut:
		return "⏱️"
	case triage.StepCancelled, triage.StepSkipped:
		return "⏭️"
	}
	return "⏳"
}

func writeClusters(b *strings.Builder, r CheckReport) {
	if len(r.Failures) == 0 {
		return
	}
	b.WriteString("### Failures\n\n")
	var order []int64
	groups := map[int64][]store.ReportFailure{}
	for _, f := range r.Failures {
		k := clusterKey(f)
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], f)
	}
	for _, k := range order {
		fs := groups[k]
		f := fs[0]
		icon := "❌"
		if f.Flaky {
			icon = "⚠️"
		}
		subject := "`" + codeMD(f.TestName) + "`"
		switch {
		case f.TestName != "":
		case f.StepName != "":
			subject = "step `" + codeMD(f.StepName) + "`"
		default:
			subject = oneLineMD(f.Title)
		}
		fmt.Fprintf(b, "#### %s %s — %s", icon, subject, f.Category)
		if f.Flaky {
			b.WriteString(" (flaky)")
		}
		if len(fs) > 1 {
			fmt.Fprintf(b, " ×%d", len(fs))
		}
		b.WriteString("\n\n")
		details := []string{fmt.Sprintf("confidence %.0f%%", f.Confidence*100)}
		if f.StepName != "" {
			details = append(details, "step `"+codeMD(f.StepName)+"`")
		}
		if p, ok := r.paths().Resolve(f); ok && f.Line > 0 {
			details = append(details, fmt.Sprintf("`%s:%d`", codeMD(p), f.Line))
		}
		fmt.Fprintf(b, "**%s** · %s\n\n", oneLineMD(f.Title), strings.Join(details, " · "))
		switch {
		case f.ClusterID == 0:
			b.WriteString("New failure.\n\n")
		case f.SeenBefore == 0:
			fmt.Fprintf(b, "New failure — first seen in this run ([cluster #%d](%s)).\n\n", f.ClusterID, ClusterURL(r.PublicURL, f.ClusterID))
		default:
			fmt.Fprintf(b, "Seen %s before ([cluster #%d](%s)).\n\n", plural(f.SeenBefore, "time"), f.ClusterID, ClusterURL(r.PublicURL, f.ClusterID))
		}
		if f.Hint != "" {
			fmt.Fprintf(b, "**Hint:** %s\n\n", oneLineMD(f.Hint))
		}
		if f.Remediation != "" {
			fmt.Fprintf(b, "**Remediation:** %s\n\n", oneLineMD(f.Remediation))
		}
	}
}

func writeFlaky(b *strings.Builder, fs []store.ReportFailure) {
	names := flakyNames(fs)
	if len(names) == 0 {
		return
	}
	b.WriteString("### Flaky tests\n\n")
	seen := map[string]bool{}
	for _, f := range fs {
		if !f.Flaky || seen[failureName(f)] {
			continue
		}
		seen[failureName(f)] = true
		state := "flaky"
		if f.Quarantined {
			state = "flaky, quarantined"
		}
		fmt.Fprintf(b, "- `%s` is %s\n", codeMD(failureName(f)), state)
	}
	b.WriteString("\n")
}

// writeProbes says what the confirmation re-runs of the run's failed tests
// found, or that they are still to come; the check run is reported again
// as each verdict lands.
func writeProbes(b *strings.Builder, r CheckReport) {
	if len(r.Probes) == 0 {
		return
	}
	b.WriteString("### Confirmation re-runs\n\n")
	base := strings.TrimSuffix(r.PublicURL, "/")
	for _, p := range r.Probes {
		what := p.Message
		switch p.State {
		case store.ProbeQueued:
			what = fmt.Sprintf("queued: re-running it alone %d times at this commit", p.Wanted)
		case store.ProbeRunning:
			what = fmt.Sprintf("re-running it alone %d times at this commit", p.Wanted)
		}
		fmt.Fprintf(b, "- [`%s`](%s/tests/%d): %s\n", codeMD(triage.TestID(p.Package, p.Name)), base, p.TestID, oneLineMD(what))
	}
	b.WriteString("\n")
}

func failureName(f store.ReportFailure) string {
	if f.TestName != "" {
		return f.TestName
	}
	return f.Title
}

func flakyNames(fs []store.ReportFailure) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range fs {
		if f.Flaky && !seen[failureName(f)] {
			seen[failureName(f)] = true
			out = append(out, "`"+codeMD(failureName(f))+"`")
		}
	}
	return out
}

// renderEvidence writes the evidence lines of each failure for the check
// run's text (details) section; a long block (a whole stack trace) is
// collapsed.
func renderEvidence(r CheckReport) string {
	var b strings.Builder
	for _, f := range r.Failures {
		lines := evidenceLines(f.Evidence)
		if len(lines) == 0 {
			continue
		}
		code := strings.ReplaceAll(strings.Join(lines, "\n"), "```", "'''")
		fmt.Fprintf(&b, "#### `%s` — %s\n\n", codeMD(failureName(f)), f.Category)
		if len(lines) > collapseEvidence {
			fmt.Fprintf(&b, "<details><summary>%d lines of evidence</summary>\n\n```text\n%s\n```\n\n</details>\n\n", len(lines), code)
			continue
		}
		fmt.Fprintf(&b, "```text\n%s\n```\n\n", code)
	}
	return b.String()
}

// collapseEvidence is the number of evidence lines shown open.
const collapseEvidence = 20

// evidenceLines reads evidence as stored by triage: a JSON array of strings,
// or of objects with a line number and text.
func evidenceLines(raw json.RawMessage) []string {
	var items []json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var out []string
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) == nil {
			out = append(out, s)
			continue
		}
		var obj struct {
			Line int    `json:"line"`
			Text string `json:"text"`
		}
		if json.Unmarshal(it, &obj) == nil && (obj.Text != "" || obj.Line > 0) {
			if obj.Line > 0 {
				out = append(out, fmt.Sprintf("%5d | %s", obj.Line, obj.Text))
			} else {
				out = append(out, obj.Text)
			}
			continue
		}
		out = append(out, string(it))
	}
	return out
}

// oneLineMD keeps text on one markdown line.
func oneLineMD(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// cellMD makes text safe inside a table cell.
func cellMD(s string) string { return strings.ReplaceAll(oneLineMD(s), "|", `\|`) }

// codeMD makes text safe inside an inline code span.
func codeMD(s string) string { return strings.ReplaceAll(oneLineMD(s), "`", "'") }

// truncateMarkdown keeps s within limit characters (runes), cutting at a
// line end and saying so, with a link to the full report.
func truncateMarkdown(s string, limit int, fullURL string) string {
	runes := []rune(s)
	if len(runes) <= limit {
		return s
	}
	note := fmt.Sprintf("\n\n… truncated (%d characters left out, GitHub allows %d). The full report: %s\n", 0, limit, fullURL)
	keep := limit - len([]rune(note)) - 16
	cut := string(runes[:keep])
	if i := strings.LastIndexByte(cut, '\n'); i > len(cut)/2 {
		cut = cut[:i]
	}
	if strings.Count(cut, "```")%2 == 1 {
		cut += "\n```" // close a code block the cut left open
	}
	omitted := len(runes) - len([]rune(cut))
	note = fmt.Sprintf("\n\n… truncated (%d characters left out, GitHub allows %d). The full report: %s\n", omitted, limit, fullURL)
	return cut + note
}
