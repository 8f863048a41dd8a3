package jobs

import (
	"context"
	"fmt"
	"strings"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// tellBisect tells an unresolved cluster incident, once, what the latest
// bisection of a test failing in its cluster found: the incident's first
// bad and last good commits become the bisection's, its timeline gets a
// "bisected" entry (which a new issue's body shows), and an issue already
// filed gets a comment. The comment goes first and is found again by its
// marker, so a sync that stops between the two tells GitHub once.
func (w *IncidentSyncWorker) tellBisect(ctx context.Context, repo GitHubRepo, in *store.Incident) error {
	if in.ClusterID == 0 || in.Status == triage.IncidentResolved {
		return nil
	}
	b, ok, err := store.ClusterBisect(ctx, w.DB, in.ClusterID)
	if err != nil || !ok {
		return err
	}
	events, err := store.IncidentEvents(ctx, w.DB, in.ID, 0)
	if err != nil {
		return err
	}
	for _, e := range events {
		if id, _ := e.Data["bisect"].(float64); e.Kind == store.IncidentEventBisected && int64(id) == b.ID {
			return nil
		}
	}
	if in.IssueNumber != 0 {
		if err := CommentIssue(ctx, w.GitHub, repo, in.IssueNumber, fmt.Sprintf("bisect-%d", b.ID), BisectComment(b, w.PublicURL, in.ID)); err != nil {
			return err
		}
	}
	if err := store.SetIncidentCommits(ctx, w.DB, in.ID, b.FirstBadSHA, b.LastGoodSHA); err != nil {
		return err
	}
	in.FirstBadSHA, in.LastGoodSHA = b.FirstBadSHA, b.LastGoodSHA
	data := map[string]any{"bisect": b.ID, "test_id": b.TestID, "found": b.Found, "first_bad_sha": b.FirstBadSHA,
		"last_good_sha": b.LastGoodSHA, "author": b.Author, "pull_request": b.PullRequest}
	msg := fmt.Sprintf("%s bisected: %s", triage.TestID(b.Package, b.Name), b.Message)
	return store.AddIncidentEvent(ctx, w.DB, in.ID, store.IncidentEventBisected, msg, b.RunID, data)
}

// BisectComment is the issue comment that tells a bisection's verdict.
func BisectComment(b store.TestBisect, publicURL string, incidentID int64) string {
	var s strings.Builder
	fmt.Fprintf(&s, "**Bisected** `%s`: ", oneLineMD(triage.TestID(b.Package, b.Name)))
	if b.Found {
		fmt.Fprintf(&s, "the first bad commit is `%s`", b.FirstBadSHA)
	} else {
		fmt.Fprintf(&s, "the breakage is between `%s` and `%s`", b.LastGoodSHA, b.FirstBadSHA)
	}
	if b.Author != "" {
		fmt.Fprintf(&s, ", by %s", oneLineMD(b.Author))
	}
	if b.PullRequest != 0 {
		fmt.Fprintf(&s, ", in #%d", b.PullRequest)
	}
	s.WriteString(".\n\n")
	for i, sha := range b.Tested {
		if i < len(b.Outcomes) {
			fmt.Fprintf(&s, "- `%s` %s\n", triage.ShortSHA(sha), b.Outcomes[i])
		}
	}
	fmt.Fprintf(&s, "\n%d of %d commits tested. [Incident in Sentinel](%s)", len(b.Tested), len(b.Commits), IncidentURL(publicURL, incidentID))
	return s.String()
}
