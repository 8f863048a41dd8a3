package store

import (
	"context"
	"fmt"
	"time"
)

// FailingStreak counts the consecutive failing finished runs on branch,
// newest first, up to limit: a run fails when it errored, timed out, or has
// a failure that is not a flaky test.
func FailingStreak(ctx context.Context, q Querier, repositoryID int64, branch string, limit int) (int, []int64, error) {
	rows, err := q.Query(ctx, `SELECT r.id, r.state IN ('errored', 'timed_out') OR (r.state = 'failed' AND (
			EXISTS (SELECT 1 FROM failures f WHERE f.run_id = r.id AND NOT f.flaky)
			OR NOT EXISTS (SELECT 1 FROM failures f WHERE f.run_id = r.id)))
		FROM runs r WHERE r.repository_id = $1 AND r.branch = $2
			AND r.state IN ('succeeded', 'failed', 'timed_out', 'errored')
		ORDER BY r.id DESC LIMIT $3`, repositoryID, branch, max(limit, 1))
	if err != nil {
		return 0, nil, fmt.Errorf("failing streak: %w", err)
	}
	defer rows.Close()
	n := 0
	var ids []int64
	broken := false
	for rows.Next() {
		var id int64
		var failed bool
		if err := rows.Scan(&id, &failed); err != nil {
			return 0, nil, err
		}
		if broken || !failed {
			broken = true
			continue
		}
		n++
		ids = append(ids, id)
	}
	return n, ids, rows.Err()
}

// InfraFailures counts one repository's runs finished since a time, and
// those that errored for infrastructure. The count is per repository, as
// the incident it may open is filed (one per repository): counted over the
// installation, every repository of it would file its own incident for one
// condition, and a quiet repository would be blamed for a busy one's errors.
func InfraFailures(ctx context.Context, q Querier, repositoryID int64, since time.Time) (total, infra int, err error) {
	err = q.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE r.state = 'errored' OR r.category = 'infrastructure')
		FROM runs r
		WHERE r.repository_id = $1 AND r.finished_at >= $2 AND r.state IN ('succeeded', 'failed', 'timed_out', 'errored')`,
		repositoryID, since).Scan(&total, &infra)
	if err != nil {
		return 0, 0, fmt.Errorf("infrastructure failures: %w", err)
	}
	return total, infra, nil
}

// PreviousCountedSHA is the commit of the latest run on branch before runID
// whose outcomes counted toward flakiness (analysed, no mass failure).
func PreviousCountedSHA(ctx context.Context, q Querier, repositoryID int64, branch string, runID int64) (string, error) {
	var sha string
	err := q.QueryRow(ctx, `SELECT r.sha FROM runs r JOIN run_analyses a ON a.run_id = r.id
		WHERE r.repository_id = $1 AND r.branch = $2 AND r.id < $3 AND NOT a.mass_failure
		ORDER BY r.id DESC LIMIT 1`, repositoryID, branch, runID).Scan(&sha)
	if err = notFound(err); err != nil && err != ErrNotFound {
		return "", fmt.Errorf("previous run of %s: %w", branch, err)
	}
	return sha, nil
}

// LastSucceededStep returns the latest succeeded step with this name in the
// repository before runID, for a log baseline.
func LastSucceededStep(ctx context.Context, q Querier, repositoryID int64, name string, beforeRunID int64) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `SELECT s.id FROM runs r JOIN steps s ON s.run_id = r.id
		WHERE r.repository_id = $1 AND r.id < $3 AND s.name = $2 AND s.state = 'succeeded'
		ORDER BY r.id DESC, s.attempt DESC LIMIT 1`, repositoryID, name, beforeRunID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("last good step %q: %w", name, notFound(err))
	}
	return id, nil
}
