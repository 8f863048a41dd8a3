package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// incidentPolicy is the worker's defaults with the repository's overrides.
func (w *TriageAnalyzeWorker) incidentPolicy(rp store.RepositoryPolicy) triage.IncidentPolicy {
	p := w.Incidents
	if rp.IncidentsAfter > 0 {
		p.After = rp.IncidentsAfter
	}
	if rp.IncidentsWithin > 0 {
		p.Within = rp.IncidentsWithin
	}
	return p.WithDefaults()
}

// applyIncidents runs the incident policy for a finished default-branch
// run: existing incidents see an occurrence or a clean run (and move
// through open → mitigating → resolved, or reopen), and new incidents open
// within the daily budget. It returns the incidents to sync to GitHub.
func (w *TriageAnalyzeWorker) applyIncidents(ctx context.Context, tx pgx.Tx, run store.Run, rp store.RepositoryPolicy,
	clusters []clusterSeen, first, mass bool, now time.Time) ([]int64, error) {
	if !first || run.State == store.RunCancelled {
		return nil, nil
	}
	p := w.incidentPolicy(rp)
	if run.Branch == "" || run.Branch != rp.DefaultBranch {
		// Other branches open no cluster incident, but an infrastructure
		// failure counts toward the installation's rate wherever it happens.
		if run.State != store.RunErrored && run.Category != CategoryInfrastructure {
			return nil, nil
		}
		incidents, err := store.LockRepositoryIncidents(ctx, tx, run.RepositoryID, nil)
		if err != nil {
			return nil, err
		}
		for _, in := range incidents {
			if in.Kind == "infrastructure" && in.Status != triage.IncidentResolved {
				return nil, nil
			}
		}
		return w.openIncidents(ctx, tx, run, p, nil, nil, map[string]bool{"red_branch": true}, false, true, now)
	}
	seen := map[int64]clusterSeen{}
	var seenIDs []int64
	for _, c := range clusters {
		if !c.Flaky && c.ID != 0 {
			seen[c.ID] = c
			seenIDs = append(seenIDs, c.ID)
		}
	}
	runFailed := len(seen) > 0 || run.State == store.RunErrored || run.State == store.RunTimedOut
	infra := run.State == store.RunErrored || run.Category == CategoryInfrastructure
	incidents, err := store.LockRepositoryIncidents(ctx, tx, run.RepositoryID, seenIDs)
	if err != nil {
		return nil, err
	}
	ref := fmt.Sprintf("run %d (%s)", run.ID, triage.ShortSHA(run.SHA))
	var changed []int64
	tracked := map[int64]bool{}
	openKinds := map[string]bool{}
	for _, in := range incidents {
		var isSeen bool
		switch in.Kind {
		case "cluster":
			_, isSeen = seen[in.ClusterID]
			tracked[in.ClusterID] = true
		case "infrastructure":
			isSeen = infra
		default:
			isSeen = runFailed
		}
		if in.Status == triage.IncidentResolved && (in.Kind != "cluster" || !isSeen) {
			continue
		}
		if in.Status != triage.IncidentResolved {
			openKinds[in.Kind] = true
		}
		step := triage.NextIncidentStatus(in.Status, in.CleanRuns, isSeen, ref, p)
		if isSeen {
			var impact map[string]any
			if in.ClusterID != 0 {
				if impact, err = store.ClusterImpact(ctx, tx, in.ClusterID, now); err != nil {
					return nil, err
				}
			}
			if err := store.RecordIncidentOccurrence(ctx, tx, in.ID, run.ID, now, impact); err != nil {
				return nil, err
			}
		}
		switch {
		case step.Status != in.Status:
			if err := store.SetIncidentStatus(ctx, tx, in.ID, in.Status, step.Status, step.CleanRuns, step.Reason, "worker", run.ID, now); err != nil {
				return nil, err
			}
		case step.CleanRuns != in.CleanRuns && !isSeen:
			if err := store.SetIncidentCleanRuns(ctx, tx, in.ID, step.CleanRuns); err != nil {
				return nil, err
			}
		}
		if isSeen || step.Status != in.Status {
			changed = append(changed, in.ID)
		}
	}
	opened, err := w.openIncidents(ctx, tx, run, p, seen, tracked, openKinds, runFailed, infra, now)
	return append(changed, opened...), err
}

func (w *TriageAnalyzeWorker) openIncidents(ctx context.Context, tx pgx.Tx, run store.Run, p triage.IncidentPolicy,
	seen map[int64]clusterSeen, tracked map[int64]bool, openKinds map[string]bool, runFailed, infra bool, now time.Time) ([]int64, error) {
	openedToday, err := store.IncidentsOpenedSince(ctx, tx, run.RepositoryID, now.Add(-24*time.Hour))
	if err != nil {
		return nil, err
	}
	var opened []int64
	open := func(n store.NewIncident) error {
		n.RepositoryID, n.RunID, n.At = run.RepositoryID, run.ID, now
		id, created, err := store.InsertIncident(ctx, tx, n)
		if err != nil || !created {
			return err
		}
		opened = append(opened, id)
		openedToday++
		return nil
	}
	budgetLeft := func() bool { return openedToday < p.DailyBudget }
	if infra && !openKinds["infrastructure"] && budgetLeft() {
		total, bad, err := store.InfraFailures(ctx, tx, run.InstallationID, run.RepositoryID, now.Add(-p.Within))
		if err != nil {
			return nil, err
		}
		if total >= p.InfraMinRuns && float64(bad) >= p.InfraRate*float64(total) {
			if err := open(store.NewIncident{Kind: "infrastructure", Severity: triage.Severity("infrastructure", ""),
				Title:       fmt.Sprintf("Infrastructure failures: %d of %d runs in %s", bad, total, p.Within),
				Fingerprint: fmt.Sprintf("infrastructure:%d", run.RepositoryID), Category: string(triage.CategoryInfrastructure),
				RootCause:  fmt.Sprintf("The runner errored in %d of the last %d runs: %s", bad, total, triage.Clip(triage.FirstLine(run.Error), 200)),
				Confidence: 0.8}); err != nil {
				return nil, err
			}
		}
	}
	// A failing streak already explained by a cluster incident (open, or
	// opened below) is the same problem: a second issue would be noise.
	redBranch := func() error {
		if !runFailed || openKinds["red_branch"] || !budgetLeft() {
			return nil
		}
		streak, _, err := store.FailingStreak(ctx, tx, run.RepositoryID, run.Branch, p.RedStreak)
		if err != nil {
			return err
		}
		if streak >= p.RedStreak {
			if err := open(store.NewIncident{Kind: "red_branch", Severity: triage.Severity("red_branch", ""),
				Title:       fmt.Sprintf("%s has failed %d runs in a row", run.Branch, streak),
				Fingerprint: fmt.Sprintf("red_branch:%d:%s", run.RepositoryID, run.Branch), NeedsHuman: true,
				RootCause: "Several different failures may be involved; see the runs in the timeline.",
				Category:  "", Confidence: 0}); err != nil {
				return err
			}
		}
		return nil
	}
	covered := false
	for id := range seen {
		covered = covered || tracked[id]
	}
	var cands []triage.ClusterCandidate
	var ids []int64
	for id := range seen {
		if !tracked[id] {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		if covered {
			return opened, nil
		}
		return opened, redBranch()
	}
	counts, err := store.ClusterRunsSince(ctx, tx, run.RepositoryID, run.Branch, now.Add(-p.Within), ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		cands = append(cands, triage.ClusterCandidate{ClusterID: id, RunsWithin: counts[id]})
	}
	d := triage.DecideOpen(cands, openedToday, 0, p)
	if len(d.Suppressed) > 0 {
		if err := store.Audit(ctx, tx, "worker", "incident.suppressed", "run", run.ID, map[string]any{
			"clusters": d.Suppressed, "reason": fmt.Sprintf("daily budget of %d new incidents reached", p.DailyBudget)}); err != nil {
			return nil, err
		}
	}
	if d.Widespread && !openKinds["widespread"] {
		due := 0
		for _, c := range cands {
			if c.RunsWithin >= p.After {
				due++
			}
		}
		if err := open(store.NewIncident{Kind: "widespread", Severity: triage.Severity("widespread", ""),
			Title:       fmt.Sprintf("Widespread failure on %s: %d failure clusters at once", run.Branch, due),
			Fingerprint: fmt.Sprintf("widespread:%d:%d", run.RepositoryID, run.ID), NeedsHuman: true,
			RootCause: "Many unrelated failures appeared together; a shared cause (dependency, environment, a broad change) is likely but not established."}); err != nil {
			return nil, err
		}
	}
	for _, id := range d.Clusters {
		c := seen[id]
		bad, good, err := store.ClusterCommits(ctx, tx, run.RepositoryID, id, run.Branch)
		if err != nil {
			return nil, err
		}
		impact, err := store.ClusterImpact(ctx, tx, id, now)
		if err != nil {
			return nil, err
		}
		f := c.Failure
		if err := open(store.NewIncident{ClusterID: id, Kind: "cluster", Severity: triage.Severity("cluster", f.Category),
			Title:      triage.Clip(fmt.Sprintf("%s on %s: %s", f.Category, run.Branch, f.Title), 200),
			NeedsHuman: triage.NeedsHuman(f.Category, c.Confidence, p), Impact: impact,
			RootCause: triage.RootCause(f, p), FirstBadSHA: bad, LastGoodSHA: good, Fingerprint: f.Fingerprint,
			Category: string(f.Category), Confidence: c.Confidence}); err != nil {
			return nil, err
		}
		covered = true
	}
	if covered {
		return opened, nil
	}
	return opened, redBranch()
}
