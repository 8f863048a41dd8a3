package triage

import "fmt"

// IncidentKind is what an incident is about. The values are stored in
// incidents.kind and shown in the API; they never change.
type IncidentKind string

// Incident kinds.
const (
	IncidentKindCluster        IncidentKind = "cluster"        // one failure cluster keeps failing the default branch
	IncidentKindRedBranch      IncidentKind = "red_branch"     // the default branch fails run after run, for different reasons
	IncidentKindWidespread     IncidentKind = "widespread"     // many clusters appeared at once
	IncidentKindInfrastructure IncidentKind = "infrastructure" // the runner errors in many of the repository's runs
)

// SeenCluster is a failure cluster one run's failures fell into.
type SeenCluster struct {
	ID         int64
	Failure    Failure // the run's first failure in it
	Flaky      bool    // every failure in it is a flaky or quarantined test: it bears on no incident
	Confidence float64 // the highest confidence among the run's failures in it
	Muted      bool    // a person muted it: it opens no incident
}

// ExistingIncident is an incident a run may bear on: every unresolved
// incident of the repository, and the last resolved incident of each
// cluster the run shows (IncidentInput.ShownClusters), which may regress.
type ExistingIncident struct {
	ID        int64
	Kind      IncidentKind
	ClusterID int64 // cluster incidents only
	Status    IncidentStatus
	CleanRuns int
}

// IncidentFacts are counts over the repository's history the decision
// weighs. The worker reads those IncidentInput.FactsNeeded asks for; the
// others stay zero and are not looked at.
type IncidentFacts struct {
	OpenedToday  int           // the repository's incidents opened in the last 24 hours
	ClusterRuns  map[int64]int // per cluster with no incident: runs of the branch within the policy's Within showing it, this one included
	InfraRuns    int           // the repository's runs finished within Within
	InfraErrored int           // of those, the ones that errored for infrastructure
	RedStreak    int           // consecutive failing runs of the branch, newest first, counted up to the policy's RedStreak
}

// IncidentInput is everything the incident policy weighs after one run.
// The worker builds it in steps: Run and Clusters, then (when Concerned)
// the Incidents it locked, then the Facts FactsNeeded names.
type IncidentInput struct {
	Run       RunFacts
	Clusters  []SeenCluster // in the order of the run's failures
	Incidents []ExistingIncident
	Facts     IncidentFacts
}

// IncidentFactsNeeded names the facts DecideIncidents will read.
type IncidentFactsNeeded struct {
	OpenedToday bool    // IncidentFacts.OpenedToday
	ClusterRuns []int64 // the clusters to count for IncidentFacts.ClusterRuns
	InfraRate   bool    // IncidentFacts.InfraRuns and InfraErrored
	RedStreak   bool    // IncidentFacts.RedStreak
}

// IncidentDecision is what one run does to the repository's incidents.
type IncidentDecision struct {
	Updates          []IncidentUpdate  // existing incidents, in the order given
	Open             []IncidentOpening // new incidents, in the order to open them
	Suppressed       []int64           // clusters over the threshold that the daily budget left without an incident
	SuppressedReason string
}

// IncidentUpdate is what one run does to an existing incident.
type IncidentUpdate struct {
	ID            int64
	ClusterID     int64
	From          IncidentStatus // the status before the run
	Next          IncidentStep   // the status after it
	Occurrence    bool           // the run shows the incident's failure: count an occurrence
	SaveCleanRuns bool           // the status stays but the count of clean runs moved
	Sync          bool           // the incident's GitHub issue must follow (an occurrence or a new status)
}

// StatusChanged reports whether the run moved the incident's status.
func (u IncidentUpdate) StatusChanged() bool { return u.Next.Status != u.From }

// IncidentOpening is a new incident. A cluster incident also gets the
// cluster's impact and first bad / last good commits, which the worker
// reads from the database once the decision is made.
type IncidentOpening struct {
	Kind        IncidentKind
	ClusterID   int64 // cluster incidents only
	Title       string
	Severity    IncidentSeverity
	Fingerprint string
	NeedsHuman  bool
	RootCause   string
	Category    Category
	Confidence  float64
}

// Concerned reports whether the run bears on incidents at all: a cancelled
// run says nothing, and a run of another branch counts only toward the
// infrastructure rate.
func (in IncidentInput) Concerned() bool {
	if in.Run.Cancelled {
		return false
	}
	return in.Run.OnDefaultBranch() || in.Run.Infrastructure()
}

// ShownClusters lists the clusters of a default-branch run that bear on
// incidents (flaky ones do not), in the run's order.
func (in IncidentInput) ShownClusters() []int64 {
	if !in.Run.OnDefaultBranch() {
		return nil
	}
	var ids []int64
	seen := map[int64]bool{}
	for _, c := range in.Clusters {
		if !c.Flaky && c.ID != 0 && !seen[c.ID] {
			seen[c.ID] = true
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// FactsNeeded names the facts DecideIncidents will read for this input
// (with its Incidents set), so that the worker queries no more.
func (in IncidentInput) FactsNeeded(p IncidentPolicy) IncidentFactsNeeded {
	v := in.view(p.WithDefaults())
	n := IncidentFactsNeeded{
		ClusterRuns: v.candidates,
		InfraRate:   v.infra && !v.open[IncidentKindInfrastructure],
		RedStreak:   v.runFailed && !v.open[IncidentKindRedBranch] && !v.covered,
	}
	n.OpenedToday = n.InfraRate || len(n.ClusterRuns) > 0 || n.RedStreak
	return n
}

// incidentView is what the decision derives from the run and the existing
// incidents before it looks at any fact.
type incidentView struct {
	concerned  bool
	shown      map[int64]SeenCluster
	runFailed  bool                  // the run shows a cluster, errored or timed out
	infra      bool                  // the run failed for infrastructure
	open       map[IncidentKind]bool // kinds with an unresolved incident
	tracked    map[int64]bool        // shown clusters with an incident, unresolved or regressing
	covered    bool                  // some shown cluster already has an incident
	candidates []int64               // shown clusters with no incident, in the run's order
}

func (in IncidentInput) view(p IncidentPolicy) incidentView {
	v := incidentView{concerned: in.Concerned(), shown: map[int64]SeenCluster{}, open: map[IncidentKind]bool{}, tracked: map[int64]bool{}}
	if !v.concerned {
		return v
	}
	v.infra = in.Run.Infrastructure()
	ids := in.ShownClusters()
	for _, c := range in.Clusters {
		if _, ok := v.shown[c.ID]; !ok && !c.Flaky && c.ID != 0 {
			v.shown[c.ID] = c
		}
	}
	if in.Run.OnDefaultBranch() {
		v.runFailed = len(ids) > 0 || in.Run.Errored || in.Run.TimedOut
	}
	for _, e := range in.Incidents {
		if e.Status != IncidentResolved {
			v.open[e.Kind] = true
		}
		if e.Kind == IncidentKindCluster {
			if _, ok := v.shown[e.ClusterID]; ok {
				v.tracked[e.ClusterID] = true
			}
		}
	}
	for _, id := range ids {
		switch {
		case v.tracked[id]:
			v.covered = true
		case v.shown[id].Muted:
			// A muted cluster is known to people: it opens no incident,
			// and the branch failing because of it is not news either.
			v.covered = true
		default:
			v.candidates = append(v.candidates, id)
		}
	}
	return v
}

// DecideIncidents applies the incident policy to one finished run.
//
// On the default branch, each existing incident sees an occurrence or a
// clean run (NextIncidentStatus: open → mitigating → resolved, or back to
// open); a cluster incident is seen when the run shows its cluster, an
// infrastructure incident when the run failed for infrastructure, the other
// kinds when the run failed at all. A resolved incident only matters when
// its cluster is back.
//
// Then new incidents open within the daily budget, in this order: an
// infrastructure incident when the repository's error rate reached the
// policy's (on any branch), one incident per cluster shown in After runs
// within Within (or one widespread incident when more than Widespread
// clusters are due at once; DecideOpen), and a red-branch incident when the
// branch failed RedStreak runs in a row and no cluster incident, old or
// new, explains it. No kind opens twice while one is unresolved.
func DecideIncidents(in IncidentInput, p IncidentPolicy) IncidentDecision {
	p = p.WithDefaults()
	v := in.view(p)
	var d IncidentDecision
	if !v.concerned {
		return d
	}
	run, facts := in.Run, in.Facts
	if run.OnDefaultBranch() {
		ref := fmt.Sprintf("run %d (%s)", run.ID, ShortSHA(run.SHA))
		for _, e := range in.Incidents {
			var seen bool
			switch e.Kind {
			case IncidentKindCluster:
				_, seen = v.shown[e.ClusterID]
			case IncidentKindInfrastructure:
				seen = v.infra
			default:
				seen = v.runFailed
			}
			if e.Status == IncidentResolved && (e.Kind != IncidentKindCluster || !seen) {
				continue
			}
			u := IncidentUpdate{ID: e.ID, ClusterID: e.ClusterID, From: e.Status, Occurrence: seen,
				Next: NextIncidentStatus(e.Status, e.CleanRuns, seen, ref, p)}
			u.SaveCleanRuns = !u.StatusChanged() && !seen && u.Next.CleanRuns != e.CleanRuns
			u.Sync = seen || u.StatusChanged()
			d.Updates = append(d.Updates, u)
		}
	}

	opened := facts.OpenedToday
	budgetLeft := func() bool { return opened < p.DailyBudget }
	open := func(o IncidentOpening) {
		d.Open = append(d.Open, o)
		opened++
	}
	if v.infra && !v.open[IncidentKindInfrastructure] && budgetLeft() &&
		facts.InfraRuns >= p.InfraMinRuns && float64(facts.InfraErrored) >= p.InfraRate*float64(facts.InfraRuns) {
		open(infrastructureIncident(run, facts.InfraRuns, facts.InfraErrored, p))
	}
	covered := v.covered
	if len(v.candidates) > 0 {
		cands := make([]ClusterCandidate, 0, len(v.candidates))
		due := 0
		for _, id := range v.candidates {
			n := facts.ClusterRuns[id]
			cands = append(cands, ClusterCandidate{ClusterID: id, RunsWithin: n})
			if n >= p.After {
				due++
			}
		}
		o := DecideOpen(cands, opened, 0, p)
		if len(o.Suppressed) > 0 {
			d.Suppressed = o.Suppressed
			d.SuppressedReason = fmt.Sprintf("daily budget of %d new incidents reached", p.DailyBudget)
		}
		if o.Widespread && !v.open[IncidentKindWidespread] {
			open(IncidentOpening{Kind: IncidentKindWidespread, Severity: Severity(IncidentKindWidespread, ""),
				Title:       fmt.Sprintf("Widespread failure on %s: %d failure clusters at once", run.Branch, due),
				Fingerprint: fmt.Sprintf("widespread:%d:%d", run.RepositoryID, run.ID), NeedsHuman: true,
				RootCause: "Many unrelated failures appeared together; a shared cause (dependency, environment, a broad change) is likely but not established."})
		}
		for _, id := range o.Clusters {
			open(ClusterIncident(v.shown[id], run.Branch, p))
			covered = true
		}
	}
	// A failing streak already explained by a cluster incident (open, or
	// opened above) is the same problem: a second issue would be noise.
	if !covered && v.runFailed && !v.open[IncidentKindRedBranch] && budgetLeft() && facts.RedStreak >= p.RedStreak {
		open(IncidentOpening{Kind: IncidentKindRedBranch, Severity: Severity(IncidentKindRedBranch, ""),
			Title:       fmt.Sprintf("%s has failed %d runs in a row", run.Branch, facts.RedStreak),
			Fingerprint: fmt.Sprintf("red_branch:%d:%s", run.RepositoryID, run.Branch), NeedsHuman: true,
			RootCause: "Several different failures may be involved; see the runs in the timeline."})
	}
	return d
}

// ClusterIncident is the incident of one cluster failing on branch.
func ClusterIncident(c SeenCluster, branch string, p IncidentPolicy) IncidentOpening {
	f := c.Failure
	return IncidentOpening{Kind: IncidentKindCluster, ClusterID: c.ID, Severity: Severity(IncidentKindCluster, f.Category),
		Title:      Clip(fmt.Sprintf("%s on %s: %s", f.Category, branch, f.Title), 200),
		NeedsHuman: NeedsHuman(f.Category, c.Confidence, p), RootCause: RootCause(f, p),
		Fingerprint: f.Fingerprint, Category: f.Category, Confidence: c.Confidence}
}

func infrastructureIncident(run RunFacts, total, bad int, p IncidentPolicy) IncidentOpening {
	return IncidentOpening{Kind: IncidentKindInfrastructure, Severity: Severity(IncidentKindInfrastructure, ""),
		Title:       fmt.Sprintf("Infrastructure failures: %d of %d runs in %s", bad, total, p.Within),
		Fingerprint: fmt.Sprintf("infrastructure:%d", run.RepositoryID), Category: CategoryInfrastructure,
		RootCause:  fmt.Sprintf("The runner errored in %d of the last %d runs: %s", bad, total, Clip(FirstLine(run.Error), 200)),
		Confidence: 0.8}
}
