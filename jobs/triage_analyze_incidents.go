package jobs

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// runFacts is what the triage decisions know of a run.
func runFacts(run store.Run, defaultBranch string) triage.RunFacts {
	return triage.RunFacts{ID: run.ID, RepositoryID: run.RepositoryID, SHA: run.SHA, Branch: run.Branch,
		DefaultBranch: defaultBranch, Errored: run.State == store.RunErrored, TimedOut: run.State == store.RunTimedOut,
		Cancelled: run.State == store.RunCancelled, Category: run.Category, Error: run.Error}
}

// applyIncidents runs the incident policy after a run's first analysis:
// it reads the incidents and counts triage.DecideIncidents weighs, and
// applies its decision (occurrences, status changes, new incidents). It
// returns the incidents to sync to GitHub.
func (w *TriageAnalyzeWorker) applyIncidents(ctx context.Context, tx pgx.Tx, run store.Run, rf triage.RunFacts,
	p triage.IncidentPolicy, clusters []triage.SeenCluster, now time.Time) ([]int64, error) {
	in := triage.IncidentInput{Run: rf, Clusters: clusters}
	if !in.Concerned() {
		return nil, nil
	}
	incidents, err := store.LockRepositoryIncidents(ctx, tx, run.RepositoryID, in.ShownClusters())
	if err != nil {
		return nil, err
	}
	for _, i := range incidents {
		in.Incidents = append(in.Incidents, triage.ExistingIncident{ID: i.ID, Kind: i.Kind, ClusterID: i.ClusterID,
			Status: i.Status, CleanRuns: i.CleanRuns})
	}
	if in.Facts, err = incidentFacts(ctx, tx, run, in.FactsNeeded(p), p, now); err != nil {
		return nil, err
	}
	return applyIncidentDecision(ctx, tx, run, triage.DecideIncidents(in, p), now)
}

// incidentFacts reads the counts the decision needs, and no others.
func incidentFacts(ctx context.Context, tx pgx.Tx, run store.Run, need triage.IncidentFactsNeeded,
	p triage.IncidentPolicy, now time.Time) (triage.IncidentFacts, error) {
	var f triage.IncidentFacts
	var err error
	if need.OpenedToday {
		if f.OpenedToday, err = store.IncidentsOpenedSince(ctx, tx, run.RepositoryID, now.Add(-24*time.Hour)); err != nil {
			return f, err
		}
	}
	if need.InfraRate {
		if f.InfraRuns, f.InfraErrored, err = store.InfraFailures(ctx, tx, run.RepositoryID, now.Add(-p.Within)); err != nil {
			return f, err
		}
	}
	if len(need.ClusterRuns) > 0 {
		if f.ClusterRuns, err = store.ClusterRunsSince(ctx, tx, run.RepositoryID, run.Branch, now.Add(-p.Within), need.ClusterRuns); err != nil {
			return f, err
		}
	}
	if need.RedStreak {
		if f.RedStreak, _, err = store.FailingStreak(ctx, tx, run.RepositoryID, run.Branch, p.RedStreak); err != nil {
			return f, err
		}
	}
	return f, nil
}

// applyIncidentDecision writes a decision: the existing incidents first,
// then the new ones in the decision's order. It returns the incidents whose
// GitHub issue must follow.
func applyIncidentDecision(ctx context.Context, tx pgx.Tx, run store.Run, d triage.IncidentDecision, now time.Time) ([]int64, error) {
	var changed []int64
	for _, u := range d.Updates {
		if u.Occurrence {
			var impact map[string]any
			if u.ClusterID != 0 {
				var err error
				if impact, err = store.ClusterImpact(ctx, tx, u.ClusterID, now); err != nil {
					return nil, err
				}
			}
			if err := store.RecordIncidentOccurrence(ctx, tx, u.ID, run.ID, now, impact); err != nil {
				return nil, err
			}
		}
		switch {
		case u.StatusChanged():
			if err := store.SetIncidentStatus(ctx, tx, u.ID, u.From, u.Next.Status, u.Next.CleanRuns, u.Next.Reason, "worker", run.ID, now); err != nil {
				return nil, err
			}
		case u.SaveCleanRuns:
			if err := store.SetIncidentCleanRuns(ctx, tx, u.ID, u.Next.CleanRuns); err != nil {
				return nil, err
			}
		}
		if u.Sync {
			changed = append(changed, u.ID)
		}
	}
	if len(d.Suppressed) > 0 {
		if err := store.Audit(ctx, tx, "worker", "incident.suppressed", "run", run.ID, map[string]any{
			"clusters": d.Suppressed, "reason": d.SuppressedReason}); err != nil {
			return nil, err
		}
	}
	for _, o := range d.Open {
		id, created, err := openIncident(ctx, tx, run, o, now, "worker")
		if err != nil {
			return nil, err
		}
		if created {
			changed = append(changed, id)
		}
	}
	return changed, nil
}
