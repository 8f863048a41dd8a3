package jobs

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/sentinel-ci/sentinel/triage"
)

// The issue operations incidents use. Every one is addressed by the issue
// number stored in the database; hidden markers in bodies let a job that
// lost GitHub's answer find what it already did instead of doing it twice.
// Errors are GitHub's; pass them through GitHubJobError.

// IssueLabel is on every issue Sentinel files; recovery lists by it.
const IssueLabel = "sentinel"

const (
	issueLabelColor       = "b60205"
	issueLabelDescription = "Recurring CI failure filed by Sentinel"
	maxIssueTitle         = 256
	maxIssueBody          = 65536
)

// FingerprintMarker is the hidden marker carried by the body of the issue of
// the failure cluster with fingerprint fp.
func FingerprintMarker(fp string) string { return "<!-- sentinel:fingerprint=" + fp + " -->" }

// CommentMarker is the hidden marker carried by a comment posted under key.
func CommentMarker(key string) string { return "<!-- sentinel:comment=" + key + " -->" }

var markerValue = regexp.MustCompile(`^[A-Za-z0-9._:-]+$`)

// IssueSpec is a new incident issue.
type IssueSpec struct {
	Fingerprint string // required; letters, digits and . _ : - only
	Title       string
	Body        string   // markdown; the marker is appended
	Labels      []string // created when missing; IssueLabel is always added
}

// OpenIssue returns the number of the issue for spec. With known > 0 (the
// number stored in the database) it is returned as is. Otherwise an open
// issue labelled IssueLabel whose body carries the fingerprint marker is
// taken (a create whose answer was lost), else the labels are ensured and
// the issue is created. The caller must store the number at once.
func OpenIssue(ctx context.Context, gh GitHub, repo GitHubRepo, known int, spec IssueSpec) (number int, created bool, err error) {
	if known > 0 {
		return known, false, nil
	}
	if !markerValue.MatchString(spec.Fingerprint) {
		return 0, false, fmt.Errorf("open issue: fingerprint %q is not a marker value", spec.Fingerprint)
	}
	marker := FingerprintMarker(spec.Fingerprint)
	open, err := gh.ListIssues(ctx, repo, IssueLabel, "open")
	if err != nil {
		return 0, false, err
	}
	for _, is := range open {
		if strings.Contains(is.GetBody(), marker) {
			return is.GetNumber(), false, nil
		}
	}
	labels := []string{IssueLabel}
	for _, l := range spec.Labels {
		if l != "" && !strings.EqualFold(l, IssueLabel) {
			labels = append(labels, l)
		}
	}
	for _, l := range labels {
		if err := gh.EnsureLabel(ctx, repo, l, issueLabelColor, issueLabelDescription); err != nil {
			return 0, false, err
		}
	}
	body := clipIssueBody(spec.Body, marker)
	is, err := gh.CreateIssue(ctx, repo, github.IssueRequest{
		Title:  github.String(triage.Clip(spec.Title, maxIssueTitle)),
		Body:   &body,
		Labels: &labels,
	})
	if err != nil {
		return 0, false, err
	}
	return is.GetNumber(), true, nil
}

// clipIssueBody keeps body and its marker within GitHub's limit; the marker survives.
func clipIssueBody(body, marker string) string {
	suffix := "\n\n" + marker + "\n"
	return truncateMarkdown(body, maxIssueBody-len([]rune(suffix)), "the incident page in Sentinel") + suffix
}

// CommentIssue posts body on the issue unless a comment posted under the
// same key is already there. Keys name the event (e.g. "occurrence-812").
func CommentIssue(ctx context.Context, gh GitHub, repo GitHubRepo, number int, key, body string) error {
	if !markerValue.MatchString(key) {
		return fmt.Errorf("comment on issue #%d: key %q is not a marker value", number, key)
	}
	marker := CommentMarker(key)
	comments, err := gh.ListComments(ctx, repo, number)
	if err != nil {
		return err
	}
	for _, c := range comments {
		if strings.Contains(c.GetBody(), marker) {
			return nil
		}
	}
	_, err = gh.CreateComment(ctx, repo, number, clipIssueBody(body, marker))
	return err
}

// Reasons an incident issue is closed with, as GitHub names them.
const (
	CloseCompleted  = "completed"   // the failure stopped: resolved
	CloseNotPlanned = "not_planned" // dismissed by a person
	CloseDuplicate  = "duplicate"   // its cluster was merged into another incident's
)

// CloseIssue comments why (under key) and closes the issue with reason.
// Closing a closed issue changes nothing.
func CloseIssue(ctx context.Context, gh GitHub, repo GitHubRepo, number int, reason, key, comment string) error {
	if reason != CloseCompleted && reason != CloseNotPlanned && reason != CloseDuplicate {
		return fmt.Errorf("close issue #%d: reason %q is not %q, %q or %q", number, reason, CloseCompleted, CloseNotPlanned, CloseDuplicate)
	}
	if comment != "" {
		if err := CommentIssue(ctx, gh, repo, number, key, comment); err != nil {
			return err
		}
	}
	_, err := gh.EditIssue(ctx, repo, number, github.IssueRequest{State: github.String("closed"), StateReason: github.String(reason)})
	return err
}

// ReopenIssue comments why (under key) and reopens the issue (a regression).
func ReopenIssue(ctx context.Context, gh GitHub, repo GitHubRepo, number int, key, comment string) error {
	if comment != "" {
		if err := CommentIssue(ctx, gh, repo, number, key, comment); err != nil {
			return err
		}
	}
	_, err := gh.EditIssue(ctx, repo, number, github.IssueRequest{State: github.String("open"), StateReason: github.String("reopened")})
	return err
}
