package triage

import (
	"fmt"
	"strings"
	"time"
)

// IncidentPolicy says when failures become an incident and when it ends.
// The zero value means the defaults documented on each field; a
// repository's .sentinel.yml `incidents: {after, within}` overrides After
// and Within.
type IncidentPolicy struct {
	After       int           // default-branch runs showing a cluster within Within that open an incident (3)
	Within      time.Duration // (24h)
	RedStreak   int           // consecutive failing default-branch runs that open a "red branch" incident (3)
	CleanRuns   int           // consecutive clean default-branch runs that resolve an incident (3)
	DailyBudget int           // new incidents per repository per 24 h (5)
	Widespread  int           // more clusters than this opening at once become one "widespread failure" incident (5)
	// InfraRate is the share of the installation's runs in the last Within
	// that errored for infrastructure above which an infrastructure incident
	// opens (0.3), counted over at least InfraMinRuns runs (10).
	InfraRate    float64
	InfraMinRuns int
	// CommentEvery throttles occurrence comments on the issue (1h).
	CommentEvery time.Duration
	// MinConfidence is the triage confidence below which the root cause is
	// called a guess and the incident needs a human (0.6).
	MinConfidence float64
	// StaleAfter resolves an incident nobody has seen for that long (7 days).
	StaleAfter time.Duration
}

// WithDefaults fills the zero fields with the documented defaults.
func (p IncidentPolicy) WithDefaults() IncidentPolicy {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&p.After, 3)
	def(&p.RedStreak, 3)
	def(&p.CleanRuns, 3)
	def(&p.DailyBudget, 5)
	def(&p.Widespread, 5)
	def(&p.InfraMinRuns, 10)
	if p.Within <= 0 {
		p.Within = 24 * time.Hour
	}
	if p.InfraRate <= 0 || p.InfraRate > 1 {
		p.InfraRate = 0.3
	}
	if p.CommentEvery <= 0 {
		p.CommentEvery = time.Hour
	}
	if p.MinConfidence <= 0 || p.MinConfidence > 1 {
		p.MinConfidence = 0.6
	}
	if p.StaleAfter <= 0 {
		p.StaleAfter = 7 * 24 * time.Hour
	}
	return p
}

// WithRepository is the policy with a repository's own overrides (its
// .sentinel.yml `incidents: {after, within}`; zero keeps the policy's) and
// the defaults filled in.
func (p IncidentPolicy) WithRepository(after int, within time.Duration) IncidentPolicy {
	if after > 0 {
		p.After = after
	}
	if within > 0 {
		p.Within = within
	}
	return p.WithDefaults()
}

// IncidentStatus is where an incident stands. The values are stored in
// incidents.status and shown in the API; they never change.
type IncidentStatus string

// Incident statuses.
const (
	IncidentOpen       IncidentStatus = "open"
	IncidentMitigating IncidentStatus = "mitigating"
	IncidentResolved   IncidentStatus = "resolved"
)

// IncidentStatuses lists every status in the order of an incident's life.
var IncidentStatuses = []IncidentStatus{IncidentOpen, IncidentMitigating, IncidentResolved}

// IncidentSeverity grades an incident. The values are stored in
// incidents.severity and shown in the API; they never change.
type IncidentSeverity string

// Incident severities, gravest first.
const (
	SeverityCritical IncidentSeverity = "critical"
	SeverityHigh     IncidentSeverity = "high"
	SeverityMedium   IncidentSeverity = "medium"
	SeverityLow      IncidentSeverity = "low"
)

// IncidentSeverities lists every severity, gravest first.
var IncidentSeverities = []IncidentSeverity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow}

// IncidentStep is the status change one default-branch run causes to an
// existing incident.
type IncidentStep struct {
	Status    IncidentStatus
	CleanRuns int
	Reason    string // empty when the status did not change
}

// NextIncidentStatus moves an incident for one finished default-branch run:
// seen says whether the run shows the incident's failure. Seen again, a
// mitigating or resolved incident is open again (a regression); not seen,
// an open incident is mitigating, and after CleanRuns clean runs in a row
// it is resolved.
func NextIncidentStatus(status IncidentStatus, cleanRuns int, seen bool, runRef string, p IncidentPolicy) IncidentStep {
	p = p.WithDefaults()
	if seen {
		switch status {
		case IncidentResolved:
			return IncidentStep{Status: IncidentOpen, Reason: fmt.Sprintf("reopened: the failure is back in %s", runRef)}
		case IncidentMitigating:
			return IncidentStep{Status: IncidentOpen, Reason: fmt.Sprintf("the failure is back in %s", runRef)}
		}
		return IncidentStep{Status: status}
	}
	if status == IncidentResolved {
		return IncidentStep{Status: status, CleanRuns: cleanRuns}
	}
	cleanRuns++
	if cleanRuns >= p.CleanRuns {
		return IncidentStep{Status: IncidentResolved, CleanRuns: cleanRuns,
			Reason: fmt.Sprintf("resolved: %d consecutive default-branch runs without the failure (latest %s)", cleanRuns, runRef)}
	}
	if status == IncidentOpen {
		return IncidentStep{Status: IncidentMitigating, CleanRuns: cleanRuns,
			Reason: fmt.Sprintf("mitigating: %s no longer shows the failure", runRef)}
	}
	return IncidentStep{Status: status, CleanRuns: cleanRuns}
}

// ClusterCandidate is a cluster seen in a default-branch run with no
// incident open for it.
type ClusterCandidate struct {
	ClusterID  int64
	RunsWithin int // default-branch runs showing it within the policy's window, this one included
}

// OpenDecision is what the policy decides to open after one run.
type OpenDecision struct {
	Clusters   []int64 // clusters that get an incident of their own
	Widespread bool    // one "widespread failure" incident instead of many
	Suppressed []int64 // clusters over threshold left out by the daily budget
	Budget     int     // incidents still allowed today after this decision
}

// DecideOpen applies the thresholds, the widespread rule and the daily
// budget. openedToday counts the repository's incidents opened in the last
// 24 hours; extra is how many other incidents (red branch, infrastructure)
// this run opens as well.
func DecideOpen(cands []ClusterCandidate, openedToday, extra int, p IncidentPolicy) OpenDecision {
	p = p.WithDefaults()
	var due []int64
	for _, c := range cands {
		if c.RunsWithin >= p.After {
			due = append(due, c.ClusterID)
		}
	}
	budget := max(0, p.DailyBudget-openedToday-extra)
	d := OpenDecision{}
	if len(due) > p.Widespread {
		if budget > 0 {
			d.Widespread = true
			budget--
		} else {
			d.Suppressed = due
		}
		d.Budget = budget
		return d
	}
	for _, id := range due {
		if budget > 0 {
			d.Clusters = append(d.Clusters, id)
			budget--
		} else {
			d.Suppressed = append(d.Suppressed, id)
		}
	}
	d.Budget = budget
	return d
}

// Severity grades an incident by its kind and failure category.
func Severity(kind IncidentKind, c Category) IncidentSeverity {
	switch kind {
	case IncidentKindWidespread, IncidentKindInfrastructure:
		return SeverityCritical
	case IncidentKindRedBranch:
		return SeverityHigh
	}
	switch c {
	case CategoryOOM, CategoryInfrastructure, CategoryDisk, CategoryNetwork:
		return SeverityHigh
	case CategoryTest, CategoryLint:
		return SeverityMedium
	}
	return SeverityMedium
}

// NeedsHuman reports whether a root cause found with this confidence and
// category is a guess that a person must confirm.
func NeedsHuman(c Category, confidence float64, p IncidentPolicy) bool {
	p = p.WithDefaults()
	return c == CategoryUnknown || confidence < p.MinConfidence
}

// RootCause words the suspected root cause of a cluster, plainly saying
// when it is a guess.
func RootCause(f Failure, p IncidentPolicy) string {
	cause := f.Hint
	if cause == "" {
		cause = f.Title
	}
	s := fmt.Sprintf("Classified as %s (confidence %.2f): %s", f.Category, f.Confidence, cause)
	if f.Rule != "" {
		s += fmt.Sprintf(" [rule %s]", f.Rule)
	}
	for _, e := range f.Evidence {
		if t := strings.TrimSpace(e.Text); t != "" {
			s += fmt.Sprintf(". Evidence: %q", Clip(t, 200))
			break
		}
	}
	if NeedsHuman(f.Category, f.Confidence, p) {
		s = "Root cause not established: triage's confidence is low, so this needs a human to investigate. Best guess — " + s
	}
	return s
}
