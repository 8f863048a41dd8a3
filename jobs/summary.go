package jobs

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// CheckName is the name of Sentinel's check run on every commit.
const CheckName = "Sentinel"

// Requested-action identifiers on the completed check run (≤20 characters).
const (
	ActionRerunFailed     = "rerun_failed"
	ActionQuarantineFlaky = "quarantine_flaky"
	ActionOpenIncident    = "open_incident"
)

// GitHub's limits on a check run's output.
const (
	maxOutputChars          = 65535
	maxAnnotationTitle      = 255
	maxAnnotationMessage    = 64 * 1024
	maxAnnotationsPerUpdate = 50
)

// CheckReport is everything the completed check run says about a run.
type CheckReport struct {
	Run       store.Run
	Steps     []store.Step
	Failures  []store.ReportFailure
	PublicURL string   // base of dashboard links, e.g. http://localhost:8080
	Roots     []string // workspace directories stripped from absolute paths
	// GoModules maps the checkout's Go modules to their directories, used
	// to place the bare file names go test prints (relative to the package
	// directory); nil: guessed from the repository's name (see PathResolver).
	GoModules map[string]string
	Probes    []store.TestProbe // confirmation re-runs of its failed tests
}

// CheckOutput is the rendered completion of a check run.
type CheckOutput struct {
	Conclusion  string
	Title       string
	Summary     string
	Text        string
	Annotations []*github.CheckRunAnnotation // all of them; sent in batches of 50
	Actions     []*github.CheckRunAction
}

func (r CheckReport) paths() PathResolver {
	return PathResolver{Roots: r.Roots, GoModules: r.GoModules, Repository: r.Run.Repository}
}

// RunURL is the dashboard page of a run.
func RunURL(publicURL string, runID int64) string {
	return fmt.Sprintf("%s/runs/%d", strings.TrimSuffix(publicURL, "/"), runID)
}

// ClusterURL is the dashboard page of a failure cluster.
func ClusterURL(publicURL string, clusterID int64) string {
	return fmt.Sprintf("%s/clusters/%d", strings.TrimSuffix(publicURL, "/"), clusterID)
}

// TestURL is the dashboard page of a test.
func TestURL(publicURL string, testID int64) string {
	return fmt.Sprintf("%s/tests/%d", strings.TrimSuffix(publicURL, "/"), testID)
}

// Conclusion decides the check run's conclusion from the run's final state
// and its failures. A run whose every failure is a known flaky test is
// neutral: it does not block a merge, and the summary says why.
func Conclusion(state store.RunState, failures []store.ReportFailure) string {
	switch state {
	case store.RunCancelled:
		return "cancelled"
	case store.RunTimedOut:
		return "timed_out"
	}
	if len(failures) > 0 && allFlaky(failures) {
		return "neutral"
	}
	if state == store.RunSucceeded && len(failures) == 0 {
		return "success"
	}
	return "failure"
}

func allFlaky(fs []store.ReportFailure) bool {
	for _, f := range fs {
		if !f.Flaky {
			return false
		}
	}
	return true
}

// RenderCheck turns a finished run into its check run completion.
func RenderCheck(r CheckReport) CheckOutput {
	out := CheckOutput{Conclusion: Conclusion(r.Run.State, r.Failures)}
	if filteredOut(r.Run) {
		// Nothing ran: neither a pass nor a failure, and the summary says why.
		out.Conclusion = "neutral"
		out.Title = "Every step was filtered out by when:"
		out.Summary = truncateMarkdown(renderFilteredOut(r), maxOutputChars, RunURL(r.PublicURL, r.Run.ID))
		return out
	}
	out.Title = plainText(checkTitle(out.Conclusion, r))
	out.Summary = truncateMarkdown(renderSummary(out.Conclusion, r), maxOutputChars, RunURL(r.PublicURL, r.Run.ID))
	if text := renderEvidence(r); text != "" {
		out.Text = truncateMarkdown(text, maxOutputChars, RunURL(r.PublicURL, r.Run.ID))
	}
	out.Annotations = Annotations(r.Failures, r.paths())
	if a := configAnnotation(r.Run); a != nil {
		out.Annotations = append([]*github.CheckRunAnnotation{a}, out.Annotations...)
	}
	out.Actions = checkActions(out.Conclusion, r.Failures)
	return out
}

func checkTitle(conclusion string, r CheckReport) string {
	n := len(r.Failures)
	switch conclusion {
	case "success":
		return "All steps passed"
	case "cancelled":
		return "Run cancelled"
	case "timed_out":
		if n > 0 {
			return fmt.Sprintf("Run timed out with %s", plural(n, "failure"))
		}
		return "Run timed out"
	case "neutral":
		return fmt.Sprintf("Only known flaky tests failed (%d)", n)
	}
	if n == 0 {
		if r.Run.Error != "" {
			return triage.Clip("Run failed: "+triage.FirstLine(r.Run.Error), 120)
		}
		return "Run failed"
	}
	first := r.Failures[0]
	for _, f := range r.Failures {
		if !f.Flaky {
			first = f
			break
		}
	}
	name := first.TestName
	if name == "" {
		name = first.Title
	}
	title := fmt.Sprintf("%s: %s (%s)", plural(n, "failure"), name, first.Category)
	return triage.Clip(title, 120)
}

func checkActions(conclusion string, fs []store.ReportFailure) []*github.CheckRunAction {
	if len(fs) == 0 || conclusion == "cancelled" {
		return nil
	}
	actions := []*github.CheckRunAction{{Label: "Re-run failed", Description: "Run the failing tests again", Identifier: ActionRerunFailed}}
	hasFlaky, hasBroken := false, false
	for _, f := range fs {
		if f.Flaky {
			hasFlaky = hasFlaky || !f.Quarantined
		} else {
			hasBroken = true
		}
	}
	if hasFlaky {
		actions = append(actions, &github.CheckRunAction{Label: "Quarantine flaky", Description: "Quarantine the flaky tests named here", Identifier: ActionQuarantineFlaky})
	}
	if hasBroken {
		actions = append(actions, &github.CheckRunAction{Label: "Open incident", Description: "File a GitHub issue for this failure", Identifier: ActionOpenIncident})
	}
	return actions
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// FormatDuration prints a duration the way people read them: 850ms, 42s,
// 3m05s, 2h10m; "–" when there is none. The check-run report and the
// dashboard both show durations with it.
func FormatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.0fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// filteredOut reports a run whose when: filters skipped every step.
func filteredOut(run store.Run) bool {
	return run.State == store.RunSucceeded && strings.HasPrefix(run.Error, FilteredOutPrefix)
}

func renderFilteredOut(r CheckReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**Conclusion: neutral** — no step ran: the `when:` filters of `.sentinel.yml` leave out this %s of branch `%s`. [Run #%d in Sentinel](%s)\n\n",
		strings.ReplaceAll(string(r.Run.Trigger), "_", " "), r.Run.Branch, r.Run.ID, RunURL(r.PublicURL, r.Run.ID))
	writeSteps(&b, r.Steps)
	return b.String()
}
