package githubapp

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v62/github"

	"github.com/sentinel-ci/sentinel/jobs"
)

// defaultSecondaryWait is how long to wait after a secondary rate limit that
// names no time: GitHub asks for "at least one minute".
const defaultSecondaryWait = time.Minute

// gitHubError turns what go-github or ghinstallation returned into a
// *jobs.GitHubError when GitHub answered, so the jobs can decide between
// retry, snooze and cancel; network errors are wrapped unchanged.
func gitHubError(op string, err error) error {
	if err == nil {
		return nil
	}
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		return &jobs.GitHubError{Op: op, StatusCode: statusOf(rl.Response), Message: rl.Message, RateLimited: true, RetryAfter: time.Until(rl.Rate.Reset.Time)}
	}
	var ab *github.AbuseRateLimitError
	if errors.As(err, &ab) {
		wait := defaultSecondaryWait
		if ab.RetryAfter != nil {
			wait = *ab.RetryAfter
		}
		return &jobs.GitHubError{Op: op, StatusCode: statusOf(ab.Response), Message: ab.Message, RateLimited: true, RetryAfter: wait}
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		ge := &jobs.GitHubError{Op: op, StatusCode: er.Response.StatusCode, Message: errorMessage(er)}
		limitedByHeaders(ge, er.Response)
		return ge
	}
	var he *ghinstallation.HTTPError
	if errors.As(err, &he) && he.Response != nil {
		ge := &jobs.GitHubError{Op: op + " (installation token)", StatusCode: he.Response.StatusCode, Message: he.Message}
		limitedByHeaders(ge, he.Response)
		return ge
	}
	return fmt.Errorf("github: %s: %w", op, err)
}

func statusOf(r *http.Response) int {
	if r == nil {
		return http.StatusForbidden
	}
	return r.StatusCode
}

// limitedByHeaders marks 403 and 429 answers that carry rate-limit headers
// (go-github only recognises some of them).
func limitedByHeaders(ge *jobs.GitHubError, r *http.Response) {
	if r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusTooManyRequests {
		return
	}
	if s := r.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			ge.RateLimited, ge.RetryAfter = true, time.Duration(n)*time.Second
			return
		}
	}
	if r.Header.Get("X-RateLimit-Remaining") == "0" {
		if n, err := strconv.ParseInt(r.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			ge.RateLimited, ge.RetryAfter = true, time.Until(time.Unix(n, 0))
			return
		}
	}
	if r.StatusCode == http.StatusTooManyRequests {
		ge.RateLimited, ge.RetryAfter = true, defaultSecondaryWait
	}
}

// errorMessage is GitHub's message with its validation errors, as GitHub put them.
func errorMessage(er *github.ErrorResponse) string {
	parts := []string{er.Message}
	for _, e := range er.Errors {
		switch {
		case e.Message != "":
			parts = append(parts, e.Message)
		default:
			parts = append(parts, fmt.Sprintf("%s.%s: %s", e.Resource, e.Field, e.Code))
		}
	}
	return strings.Join(parts, "; ")
}
