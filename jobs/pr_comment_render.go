package jobs

import (
	"fmt"
	"strings"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// PRCommentMarker opens the body of Sentinel's comment on a pull request, so
// the comment is found again when its id was lost (an answer that never
// arrived, a restored database).
const PRCommentMarker = "<!-- sentinel:pull-request-summary -->"

// maxCommentChars is GitHub's limit on a comment body.
const maxCommentChars = 65536

// RenderPRComment writes the pull request comment for the latest run of the
// pull request: what failed (new or seen before), what is flaky and already
// known, and what Sentinel did. worth is false when the run passed and
// nothing happened on the way, or a person cancelled it: such a pull
// request gets no comment (an existing one is still brought up to date).
//
// proposals are the quarantine proposals of the run's failed tests.
func RenderPRComment(r CheckReport, proposals []store.QuarantineProposal) (body string, worth bool) {
	conclusion := Conclusion(r.Run.State, r.Failures)
	did := prActions(r, proposals)
	worth = (conclusion != "success" && conclusion != "cancelled") || len(r.Failures) > 0 || len(did) > 0

	var b strings.Builder
	b.WriteString(PRCommentMarker + "\n")
	fmt.Fprintf(&b, "### Sentinel · %s at `%s`\n\n", prHeadline(conclusion, r), triage.ShortSHA(r.Run.SHA))

	var fresh, known, flaky []store.ReportFailure
	for _, f := range r.Failures {
		switch {
		case f.Flaky:
			flaky = append(flaky, f)
		case f.SeenBefore == 0:
			fresh = append(fresh, f)
		default:
			known = append(known, f)
		}
	}
	writePRFailures(&b, r, "New failures", "first seen in this run", fresh)
	writePRFailures(&b, r, "Failing before", "", known)
	if len(flaky) > 0 {
		b.WriteString("**Flaky** (these do not say the change is wrong)\n\n")
		seen := map[string]bool{}
		for _, f := range flaky {
			name := failureName(f)
			if seen[name] {
				continue
			}
			seen[name] = true
			var why []string
			if f.FlakyInRun {
				why = append(why, "failed, then passed in this run")
			} else {
				why = append(why, "known flaky")
			}
			if f.Quarantined {
				why = append(why, "quarantined: does not block")
			}
			fmt.Fprintf(&b, "- ⚠️ `%s` — %s\n", codeMD(name), strings.Join(why, "; "))
		}
		b.WriteString("\n")
	}
	if len(did) > 0 {
		b.WriteString("**What Sentinel did**\n\n")
		for _, d := range did {
			b.WriteString("- " + d + "\n")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "[Run #%d](%s) · attempt %d · this comment is updated as runs of the pull request finish.\n",
		r.Run.ID, RunURL(r.PublicURL, r.Run.ID), r.Run.Attempt)
	return truncateMarkdown(b.String(), maxCommentChars-100, RunURL(r.PublicURL, r.Run.ID)), worth
}

func prHeadline(conclusion string, r CheckReport) string {
	switch conclusion {
	case "success":
		return "✅ all steps passed"
	case "neutral":
		return "⚠️ only known flaky tests failed"
	case "cancelled":
		return "⏭️ run cancelled"
	}
	broken := 0
	for _, f := range r.Failures {
		if !f.Flaky {
			broken++
		}
	}
	if broken == 0 {
		return "❌ run failed: " + oneLineMD(checkTitle(conclusion, r))
	}
	return "❌ " + plural(broken, "failure")
}

func writePRFailures(b *strings.Builder, r CheckReport, heading, note string, fs []store.ReportFailure) {
	if len(fs) == 0 {
		return
	}
	fmt.Fprintf(b, "**%s**\n\n", heading)
	for _, f := range fs {
		subject := "`" + codeMD(failureName(f)) + "`"
		if f.TestName == "" && f.StepName != "" {
			subject = "step `" + codeMD(f.StepName) + "`"
		}
		line := fmt.Sprintf("- ❌ %s — %s: %s", subject, f.Category, oneLineMD(f.Title))
		if p, ok := r.paths().Resolve(f); ok && f.Line > 0 {
			line += fmt.Sprintf(" · `%s:%d`", codeMD(p), f.Line)
		}
		switch {
		case f.ClusterID != 0 && f.SeenBefore > 0:
			line += fmt.Sprintf(" · seen in %s before ([cluster #%d](%s))", plural(f.SeenBefore, "run"), f.ClusterID, ClusterURL(r.PublicURL, f.ClusterID))
		case f.ClusterID != 0:
			line += fmt.Sprintf(" · %s ([cluster #%d](%s))", note, f.ClusterID, ClusterURL(r.PublicURL, f.ClusterID))
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("\n")
}

// prActions lists what Sentinel did about the run, in the order it did it.
func prActions(r CheckReport, proposals []store.QuarantineProposal) []string {
	var out []string
	if r.Run.Attempt > 1 {
		out = append(out, fmt.Sprintf("ran the commit again (attempt %d)", r.Run.Attempt))
	}
	attempts := map[int][]store.Step{}
	var positions []int
	for _, s := range r.Steps {
		if attempts[s.Position] == nil {
			positions = append(positions, s.Position)
		}
		attempts[s.Position] = append(attempts[s.Position], s)
	}
	for _, p := range positions {
		as := attempts[p]
		if len(as) < 2 {
			continue
		}
		last := as[len(as)-1]
		out = append(out, fmt.Sprintf("retried step `%s`: %s, the last %s", codeMD(last.Name), plural(len(as), "attempt"), last.State))
	}
	for _, f := range r.Failures {
		if f.Quarantined && f.TestName != "" {
			out = append(out, fmt.Sprintf("kept `%s` from blocking: it is quarantined", codeMD(f.TestName)))
		}
	}
	for _, p := range r.Probes {
		what := p.Message
		switch p.State {
		case store.ProbeQueued, store.ProbeRunning:
			what = fmt.Sprintf("re-running it alone %d times at this commit (this comment is updated with the verdict)", p.Wanted)
		}
		out = append(out, fmt.Sprintf("[`%s`](%s): %s", codeMD(triage.TestID(p.Package, p.Name)), TestURL(r.PublicURL, p.TestID), oneLineMD(what)))
	}
	for _, p := range proposals {
		verb := "proposed quarantining"
		if p.Kind == store.ProposalRemove {
			verb = "proposed taking out of quarantine"
		}
		switch {
		case p.PRNumber != 0:
			out = append(out, fmt.Sprintf("%s a test in #%d (%s)", verb, p.PRNumber, p.State))
		case p.State == store.ProposalPending:
			out = append(out, verb+" a test (the pull request is being opened)")
		}
	}
	return out
}
