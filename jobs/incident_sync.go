package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// IncidentSyncWorker brings an incident's GitHub issue in line with the
// incident: it files the issue when the incident opens, comments on new
// occurrences (at most once per Policy.CommentEvery), closes it with a
// postmortem at resolution and reopens it on regression.
//
// Nothing is done twice: the issue number is stored as soon as it is known;
// a job that lost GitHub's answer finds the issue by its fingerprint marker
// among the open issues labelled "sentinel", and each comment carries a
// marker naming its event, checked before posting.
type IncidentSyncWorker struct {
	river.WorkerDefaults[IncidentSyncArgs]
	DB        *store.DB
	GitHub    GitHub
	PublicURL string
	Policy    triage.IncidentPolicy
	Log       *slog.Logger
	Now       func() time.Time
}

func (w *IncidentSyncWorker) Work(ctx context.Context, job *river.Job[IncidentSyncArgs]) error {
	log := w.logger().With("job_id", job.ID, "incident_id", job.Args.IncidentID)
	err := w.Sync(ctx, job.Args.IncidentID)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		log.Warn("incident is gone; nothing to sync")
		return river.JobCancel(err)
	}
	return GitHubJobError(err, log)
}

func (w *IncidentSyncWorker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *IncidentSyncWorker) logger() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.New(slog.DiscardHandler)
}

// IncidentURL is the dashboard page of an incident.
func IncidentURL(publicURL string, id int64) string {
	return fmt.Sprintf("%s/incidents/%d", strings.TrimSuffix(publicURL, "/"), id)
}

// issueMarker is the fingerprint marker value of an incident's issue.
func issueMarker(in store.Incident) string {
	if in.Kind == triage.IncidentKindCluster && markerValue.MatchString(in.Fingerprint) {
		return in.Fingerprint
	}
	return fmt.Sprintf("incident-%d", in.ID)
}

// Sync does one job's work.
func (w *IncidentSyncWorker) Sync(ctx context.Context, id int64) error {
	db := w.DB
	in, err := store.GetIncident(ctx, db, id)
	if err != nil {
		return err
	}
	owner, name, ok := splitRepo(in.Repository)
	if !ok {
		return river.JobCancel(fmt.Errorf("incident %d: repository name %q is not owner/name", in.ID, in.Repository))
	}
	repo := GitHubRepo{InstallationID: in.InstallationID, Owner: owner, Name: name, IncidentID: in.ID}
	p := w.Policy.WithDefaults()
	now := w.now()
	if err := w.tellBisect(ctx, repo, &in); err != nil {
		return err
	}
	if in.IssueNumber == 0 {
		if in.Status == triage.IncidentResolved {
			return nil // resolved before it was ever filed: nothing to tell
		}
		events, err := store.IncidentEvents(ctx, db, in.ID, 0)
		if err != nil {
			return err
		}
		number, created, err := OpenIssue(ctx, w.GitHub, repo, 0, IssueSpec{Fingerprint: issueMarker(in),
			Title: "[Sentinel] " + in.Title, Body: IncidentBody(in, events, w.PublicURL), Labels: incidentLabels(in)})
		if err != nil {
			return err
		}
		if err := store.SetIncidentIssue(ctx, db, in.ID, number, store.IssueOpen); err != nil {
			return err
		}
		verb := "found the existing"
		if created {
			verb = "filed"
		}
		if err := store.AddIncidentEvent(ctx, db, in.ID, store.IncidentEventGitHub, fmt.Sprintf("%s GitHub issue #%d", verb, number), 0, map[string]any{"issue": number}); err != nil {
			return err
		}
		// The body tells every occurrence so far.
		if err := store.SetIncidentCommented(ctx, db, in.ID, in.Occurrences, now); err != nil {
			return err
		}
		in.IssueNumber, in.GitHubState, in.CommentedOccurrences = number, store.IssueOpen, in.Occurrences
		t := now
		in.LastCommentedAt = &t
	}
	switch {
	case in.Status == triage.IncidentResolved && in.GitHubState != store.IssueClosed:
		return w.close(ctx, repo, in)
	case in.Status != triage.IncidentResolved && in.GitHubState == store.IssueClosed:
		if err := w.reopen(ctx, repo, in); err != nil {
			return err
		}
		in.GitHubState = store.IssueOpen
	}
	if in.Status == triage.IncidentResolved || in.Occurrences <= in.CommentedOccurrences {
		return nil
	}
	if in.LastCommentedAt != nil && now.Before(in.LastCommentedAt.Add(p.CommentEvery)) {
		// Throttled. The job ends rather than snoozing, so that a status
		// change meanwhile is synced at once; incident.sweep queues the
		// comment once the throttle has passed.
		return nil
	}
	body := fmt.Sprintf("Seen again: %d default-branch runs so far (latest: run %d). %s\n\n[Incident in Sentinel](%s)",
		in.Occurrences, in.LastRunID, impactLine(in.Impact), IncidentURL(w.PublicURL, in.ID))
	if err := CommentIssue(ctx, w.GitHub, repo, in.IssueNumber, fmt.Sprintf("occurrence-%d", in.Occurrences), body); err != nil {
		return err
	}
	if err := store.SetIncidentCommented(ctx, db, in.ID, in.Occurrences, now); err != nil {
		return err
	}
	return store.AddIncidentEvent(ctx, db, in.ID, store.IncidentEventGitHub, fmt.Sprintf("commented on issue #%d: %d occurrences", in.IssueNumber, in.Occurrences), 0, nil)
}

func (w *IncidentSyncWorker) close(ctx context.Context, repo GitHubRepo, in store.Incident) error {
	db := w.DB
	if in.DuplicateOf != 0 {
		return w.closeDuplicate(ctx, repo, in)
	}
	events, err := store.IncidentEvents(ctx, db, in.ID, 0)
	if err != nil {
		return err
	}
	pm := Postmortem(in, events)
	if err := store.SetIncidentPostmortem(ctx, db, in.ID, pm); err != nil {
		return err
	}
	comment := fmt.Sprintf("Resolved: %s\n\n%s\n\n[Incident in Sentinel](%s)", in.Resolution, pm, IncidentURL(w.PublicURL, in.ID))
	// The key names this resolution: an incident reopened and resolved
	// again (by the policy or by hand) gets a closing comment each time.
	key := fmt.Sprintf("resolved-%d", in.ReopenCount)
	if in.ResolvedAt != nil {
		key = fmt.Sprintf("resolved-%d", in.ResolvedAt.Unix())
	}
	if err := CloseIssue(ctx, w.GitHub, repo, in.IssueNumber, CloseCompleted, key, comment); err != nil {
		return err
	}
	if err := store.SetIncidentGitHubState(ctx, db, in.ID, store.IssueClosed); err != nil {
		return err
	}
	return store.AddIncidentEvent(ctx, db, in.ID, store.IncidentEventGitHub, fmt.Sprintf("closed issue #%d with the postmortem", in.IssueNumber), 0, nil)
}

// closeDuplicate closes the issue of an incident whose cluster was merged
// into another's as a duplicate of the kept incident's issue, linking it.
func (w *IncidentSyncWorker) closeDuplicate(ctx context.Context, repo GitHubRepo, in store.Incident) error {
	kept, err := store.GetIncident(ctx, w.DB, in.DuplicateOf)
	if err != nil {
		return err
	}
	link := fmt.Sprintf("[incident %d in Sentinel](%s)", kept.ID, IncidentURL(w.PublicURL, kept.ID))
	if kept.IssueNumber != 0 {
		link = fmt.Sprintf("#%d (%s)", kept.IssueNumber, link)
	}
	comment := fmt.Sprintf("Duplicate of %s: the failure clusters of the two incidents were merged, and that one is older. "+
		"Occurrences are followed there from now on.\n\n[This incident in Sentinel](%s)", link, IncidentURL(w.PublicURL, in.ID))
	if err := CloseIssue(ctx, w.GitHub, repo, in.IssueNumber, CloseDuplicate, fmt.Sprintf("duplicate-%d", kept.ID), comment); err != nil {
		return err
	}
	if err := store.SetIncidentGitHubState(ctx, w.DB, in.ID, store.IssueClosed); err != nil {
		return err
	}
	return store.AddIncidentEvent(ctx, w.DB, in.ID, store.IncidentEventGitHub,
		fmt.Sprintf("closed issue #%d as a duplicate of incident %d", in.IssueNumber, kept.ID), 0, nil)
}

func (w *IncidentSyncWorker) reopen(ctx context.Context, repo GitHubRepo, in store.Incident) error {
	comment := fmt.Sprintf("Reopened: the failure is back (run %d). It had been resolved before; this is a regression.\n\n[Incident in Sentinel](%s)",
		in.LastRunID, IncidentURL(w.PublicURL, in.ID))
	if err := ReopenIssue(ctx, w.GitHub, repo, in.IssueNumber, fmt.Sprintf("reopened-%d-%d", in.ReopenCount, in.Occurrences), comment); err != nil {
		return err
	}
	if err := store.SetIncidentGitHubState(ctx, w.DB, in.ID, store.IssueOpen); err != nil {
		return err
	}
	return store.AddIncidentEvent(ctx, w.DB, in.ID, store.IncidentEventGitHub, fmt.Sprintf("reopened issue #%d", in.IssueNumber), 0, nil)
}

func incidentLabels(in store.Incident) []string {
	labels := []string{IssueLabel, "incident"}
	switch {
	case in.Category != "":
		labels = append(labels, string(in.Category))
	default:
		labels = append(labels, strings.ReplaceAll(string(in.Kind), "_", "-"))
	}
	if in.NeedsHuman {
		labels = append(labels, "needs-human")
	}
	return labels
}
