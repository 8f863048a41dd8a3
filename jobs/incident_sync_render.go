package jobs

import (
	"fmt"
	"strings"
	"time"

	"github.com/sentinel-ci/sentinel/store"
)

// IncidentBody is the markdown of an incident's GitHub issue.
func IncidentBody(in store.Incident, events []store.IncidentEvent, publicURL string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**Severity:** %s · **Status:** %s · **Kind:** %s", in.Severity, in.Status, strings.ReplaceAll(string(in.Kind), "_", " "))
	if in.Category != "" {
		fmt.Fprintf(&b, " · **Category:** %s", in.Category)
	}
	b.WriteString("\n\n")
	if in.NeedsHuman {
		b.WriteString("> [!WARNING]\n> **Needs a human.** Triage is not confident about the root cause; what follows is a guess, not a finding.\n\n")
	}
	b.WriteString("### Suspected root cause\n\n")
	b.WriteString(oneLineMD(in.RootCause) + "\n\n")
	b.WriteString("### Impact\n\n" + impactLine(in.Impact) + "\n\n")
	if in.FirstBadSHA != "" || in.LastGoodSHA != "" {
		b.WriteString("### Commits\n\n")
		if in.FirstBadSHA != "" {
			fmt.Fprintf(&b, "- First bad commit: `%s`\n", in.FirstBadSHA)
		}
		if in.LastGoodSHA != "" {
			fmt.Fprintf(&b, "- Last good commit: `%s`\n", in.LastGoodSHA)
		} else {
			b.WriteString("- Last good commit: not in the recorded history\n")
		}
		b.WriteString("\n")
	}
	writeTimeline(&b, events)
	fmt.Fprintf(&b, "[Incident in Sentinel](%s)\n", IncidentURL(publicURL, in.ID))
	return b.String()
}

// Postmortem is written into the closing comment and kept on the incident:
// timeline, impact, root cause, and what fixed it.
func Postmortem(in store.Incident, events []store.IncidentEvent) string {
	var b strings.Builder
	b.WriteString("## Postmortem\n\n")
	fmt.Fprintf(&b, "**%s** (%s, %s)\n\n", oneLineMD(in.Title), in.Severity, strings.ReplaceAll(string(in.Kind), "_", " "))
	end := time.Now()
	if in.ResolvedAt != nil {
		end = *in.ResolvedAt
	}
	fmt.Fprintf(&b, "**Duration:** %s (opened %s)\n\n", end.Sub(in.OpenedAt).Round(time.Minute), in.OpenedAt.UTC().Format(time.RFC3339))
	b.WriteString("### Impact\n\n" + impactLine(in.Impact) + "\n\n")
	b.WriteString("### Root cause\n\n" + oneLineMD(in.RootCause) + "\n\n")
	if in.FirstBadSHA != "" {
		fmt.Fprintf(&b, "First bad commit `%s`", in.FirstBadSHA)
		if in.LastGoodSHA != "" {
			fmt.Fprintf(&b, ", last good commit `%s`", in.LastGoodSHA)
		}
		b.WriteString(".\n\n")
	}
	b.WriteString("### What fixed it\n\n")
	fix := in.Resolution
	if fix == "" {
		fix = "resolved by hand"
	}
	fmt.Fprintf(&b, "%s. Last seen in run %d.\n\n", strings.TrimSuffix(oneLineMD(fix), "."), in.LastRunID)
	writeTimeline(&b, events)
	return b.String()
}

// maxTimelineEvents bounds the timeline in issue bodies and comments.
const maxTimelineEvents = 30

func writeTimeline(b *strings.Builder, events []store.IncidentEvent) {
	if len(events) == 0 {
		return
	}
	b.WriteString("### Timeline\n\n")
	start := max(0, len(events)-maxTimelineEvents)
	if start > 0 {
		fmt.Fprintf(b, "- … %d earlier events\n", start)
	}
	for _, e := range events[start:] {
		fmt.Fprintf(b, "- %s — **%s** %s\n", e.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"), e.Kind, oneLineMD(e.Message))
	}
	b.WriteString("\n")
}

func impactLine(impact map[string]any) string {
	if len(impact) == 0 {
		return "Not measured."
	}
	num := func(k string) int64 {
		switch v := impact[k].(type) {
		case float64:
			return int64(v)
		case int:
			return int64(v)
		case int64:
			return v
		}
		return 0
	}
	return fmt.Sprintf("%d runs, %d branches, %d pull requests and %d tests affected over %s.",
		num("runs"), num("branches"), num("pull_requests"), num("tests"),
		(time.Duration(num("duration_seconds")) * time.Second).Round(time.Minute))
}
