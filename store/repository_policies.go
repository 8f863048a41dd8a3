package store

import (
	"context"
	"fmt"
	"time"

	"github.com/sentinel-ci/sentinel/triage"
)

// RepositoryPolicy is what triage needs to know about a repository: its
// default branch and what its .sentinel.yml says about quarantine and
// incidents (zero values: the defaults).
type RepositoryPolicy struct {
	RepositoryID    int64
	FullName        string
	InstallationID  int64
	DefaultBranch   string
	Quarantine      []string
	IncidentsAfter  int
	IncidentsWithin time.Duration
	// ConfirmRuns is how many times a test that failed is re-run to
	// confirm it (0: never); ConfirmPullRequests extends that to pull
	// requests (flaky: in .sentinel.yml).
	ConfirmRuns         int
	ConfirmPullRequests bool
}

// GetRepositoryPolicy returns a repository's triage policy.
func GetRepositoryPolicy(ctx context.Context, q Querier, repositoryID int64) (RepositoryPolicy, error) {
	p := RepositoryPolicy{RepositoryID: repositoryID}
	var within *time.Duration
	err := q.QueryRow(ctx, `SELECT r.full_name, COALESCE(r.installation_id, 0), r.default_branch,
			COALESCE(p.quarantine, '{}'), COALESCE(p.incidents_after, 0), p.incidents_within,
			COALESCE(p.confirm_runs, $2), COALESCE(p.confirm_pull_requests, false)
		FROM repositories r LEFT JOIN repository_policies p ON p.repository_id = r.id
		WHERE r.id = $1`, repositoryID, triage.DefaultConfirmRuns).Scan(&p.FullName, &p.InstallationID, &p.DefaultBranch, &p.Quarantine,
		&p.IncidentsAfter, &within, &p.ConfirmRuns, &p.ConfirmPullRequests)
	if err != nil {
		return p, fmt.Errorf("policy of repository %d: %w", repositoryID, notFound(err))
	}
	if within != nil {
		p.IncidentsWithin = *within
	}
	return p, nil
}

// SetRepositoryPolicy stores what a repository's .sentinel.yml says about
// quarantine and incidents. The runner calls it when it reads the file.
func SetRepositoryPolicy(ctx context.Context, q Querier, repositoryID int64, quarantine []string, incidentsAfter int, incidentsWithin time.Duration) error {
	if quarantine == nil {
		quarantine = []string{}
	}
	var within *time.Duration
	if incidentsWithin > 0 {
		within = &incidentsWithin
	}
	_, err := q.Exec(ctx, `INSERT INTO repository_policies (repository_id, quarantine, incidents_after, incidents_within)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (repository_id) DO UPDATE SET quarantine = EXCLUDED.quarantine,
			incidents_after = EXCLUDED.incidents_after, incidents_within = EXCLUDED.incidents_within, updated_at = now()`,
		repositoryID, quarantine, max(incidentsAfter, 0), within)
	if err != nil {
		return fmt.Errorf("policy of repository %d: %w", repositoryID, err)
	}
	return nil
}

// SetConfirmPolicy stores what a repository's .sentinel.yml says about
// confirmation re-runs (flaky: {confirm_runs, confirm_pull_requests}).
func SetConfirmPolicy(ctx context.Context, q Querier, repositoryID int64, runs int, pullRequests bool) error {
	_, err := q.Exec(ctx, `INSERT INTO repository_policies (repository_id, confirm_runs, confirm_pull_requests)
		VALUES ($1, $2, $3)
		ON CONFLICT (repository_id) DO UPDATE SET confirm_runs = EXCLUDED.confirm_runs,
			confirm_pull_requests = EXCLUDED.confirm_pull_requests, updated_at = now()`,
		repositoryID, max(runs, 0), pullRequests)
	if err != nil {
		return fmt.Errorf("confirmation policy of repository %d: %w", repositoryID, err)
	}
	return nil
}
