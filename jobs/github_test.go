package jobs

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

func TestGitHubJobError(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	netErr := &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	tests := []struct {
		name   string
		err    error
		want   string // retry, snooze, cancel
		snooze time.Duration
	}{
		{"network", netErr, "retry", 0},
		{"server error", &GitHubError{Op: "x", StatusCode: 502}, "retry", 0},
		{"bad credentials", &GitHubError{Op: "x", StatusCode: 401}, "retry", 0},
		{"primary rate limit", &GitHubError{Op: "x", StatusCode: 403, RateLimited: true, RetryAfter: 42 * time.Second}, "snooze", 42 * time.Second},
		{"secondary rate limit past reset", &GitHubError{Op: "x", StatusCode: 429, RateLimited: true, RetryAfter: -time.Second}, "snooze", time.Second},
		{"reset far away", &GitHubError{Op: "x", StatusCode: 403, RateLimited: true, RetryAfter: 30 * time.Hour}, "snooze", time.Hour},
		{"repository gone", &GitHubError{Op: "x", StatusCode: 404, Message: "Not Found"}, "cancel", 0},
		{"validation", &GitHubError{Op: "x", StatusCode: 422, Message: "Validation Failed"}, "cancel", 0},
		{"forbidden", &GitHubError{Op: "x", StatusCode: 403, Message: "Resource not accessible by integration"}, "cancel", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := GitHubJobError(tt.err, log)
			var snooze *river.JobSnoozeError
			var cancel *rivertype.JobCancelError
			switch {
			case errors.As(got, &snooze):
				if tt.want != "snooze" || snooze.Duration != tt.snooze {
					t.Errorf("snoozed %s, want %s %s", snooze.Duration, tt.want, tt.snooze)
				}
			case errors.As(got, &cancel):
				if tt.want != "cancel" {
					t.Errorf("cancelled, want %s", tt.want)
				}
				if !errors.Is(got, tt.err) {
					t.Errorf("the cancellation lost the cause: %v", got)
				}
			default:
				if tt.want != "retry" || got != tt.err {
					t.Errorf("returned %v, want %s", got, tt.want)
				}
			}
		})
	}
}
