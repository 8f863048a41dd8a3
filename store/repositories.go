package store

import (
	"context"
	"fmt"
	"time"
)

// Repository is a repository Sentinel runs CI for.
type Repository struct {
	ID             int64
	GitHubID       int64 // 0 for repositories added by hand
	InstallationID int64 // 0 when not installed through the App
	FullName       string
	CloneURL       string
	DefaultBranch  string
	Private        bool
	Active         bool
	CreatedAt      time.Time
}

// Owner and Name split FullName.
func (r Repository) Owner() string { o, _ := splitFullName(r.FullName); return o }

func (r Repository) Name() string { _, n := splitFullName(r.FullName); return n }

func splitFullName(full string) (string, string) {
	for i := 0; i < len(full); i++ {
		if full[i] == '/' {
			return full[:i], full[i+1:]
		}
	}
	return full, ""
}

const repositoryColumns = `id, COALESCE(github_id, 0), COALESCE(installation_id, 0), full_name, clone_url, default_branch, private, active, created_at`

func scanRepository(row interface{ Scan(...any) error }) (Repository, error) {
	var r Repository
	err := row.Scan(&r.ID, &r.GitHubID, &r.InstallationID, &r.FullName, &r.CloneURL, &r.DefaultBranch, &r.Private, &r.Active, &r.CreatedAt)
	return r, err
}

// GetRepository returns one repository by id.
func GetRepository(ctx context.Context, q Querier, id int64) (Repository, error) {
	r, err := scanRepository(q.QueryRow(ctx, `SELECT `+repositoryColumns+` FROM repositories WHERE id = $1`, id))
	if err != nil {
		return Repository{}, fmt.Errorf("repository %d: %w", id, notFound(err))
	}
	return r, nil
}

// RepositoryByName returns one repository by its owner/name.
func RepositoryByName(ctx context.Context, q Querier, fullName string) (Repository, error) {
	r, err := scanRepository(q.QueryRow(ctx, `SELECT `+repositoryColumns+` FROM repositories WHERE full_name = $1`, fullName))
	if err != nil {
		return Repository{}, fmt.Errorf("repository %s: %w", fullName, notFound(err))
	}
	return r, nil
}

// ListRepositories returns every repository, active first, by name.
func ListRepositories(ctx context.Context, q Querier) ([]Repository, error) {
	rows, err := q.Query(ctx, `SELECT `+repositoryColumns+` FROM repositories ORDER BY active DESC, full_name`)
	if err != nil {
		return nil, fmt.Errorf("list repositories: %w", err)
	}
	defer rows.Close()
	var out []Repository
	for rows.Next() {
		r, err := scanRepository(rows)
		if err != nil {
			return nil, fmt.Errorf("list repositories: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// UpsertRepository records a repository by its GitHub id (or, for
// repositories added by hand, its full name) and returns its id. A rename on
// GitHub updates the full name of the same row.
func UpsertRepository(ctx context.Context, q Querier, r Repository) (int64, error) {
	// Read first: every delivery of a repository names it, and an upsert
	// would lock its row until the delivery's transaction commits,
	// serialising all concurrent deliveries of that repository.
	cur, err := scanRepository(q.QueryRow(ctx, `SELECT `+repositoryColumns+` FROM repositories
		WHERE ($1 <> 0 AND github_id = $1) OR ($1 = 0 AND full_name = $2)`, r.GitHubID, r.FullName))
	if err != nil && notFound(err) != ErrNotFound {
		return 0, fmt.Errorf("repository %s: %w", r.FullName, err)
	}
	known := &cur
	if err != nil {
		known = nil
	}
	return UpsertRepositoryKnown(ctx, q, r, known)
}

// UpsertRepositoryKnown is UpsertRepository when the caller has read the
// current row already (cur, nil when there is none): it writes only when
// something changed.
func UpsertRepositoryKnown(ctx context.Context, q Querier, r Repository, cur *Repository) (int64, error) {
	if r.DefaultBranch == "" {
		r.DefaultBranch = "main"
	}
	if RepositoryUpToDate(r, cur) {
		return cur.ID, nil
	}
	var id int64
	var err error
	if r.GitHubID != 0 {
		err = q.QueryRow(ctx, `
			INSERT INTO repositories (github_id, installation_id, full_name, clone_url, default_branch, private, active)
			VALUES ($1, NULLIF($2, 0), $3, $4, $5, $6, true)
			ON CONFLICT (github_id) DO UPDATE SET
				installation_id = COALESCE(EXCLUDED.installation_id, repositories.installation_id),
				full_name = EXCLUDED.full_name,
				clone_url = CASE WHEN EXCLUDED.clone_url <> '' THEN EXCLUDED.clone_url ELSE repositories.clone_url END,
				default_branch = EXCLUDED.default_branch, private = EXCLUDED.private,
				active = true, updated_at = now()
			RETURNING id`,
			r.GitHubID, r.InstallationID, r.FullName, r.CloneURL, r.DefaultBranch, r.Private).Scan(&id)
	} else {
		err = q.QueryRow(ctx, `
			INSERT INTO repositories (installation_id, full_name, clone_url, default_branch, private, active)
			VALUES (NULLIF($1, 0), $2, $3, $4, $5, true)
			ON CONFLICT (full_name) DO UPDATE SET
				clone_url = CASE WHEN EXCLUDED.clone_url <> '' THEN EXCLUDED.clone_url ELSE repositories.clone_url END,
				default_branch = EXCLUDED.default_branch, active = true, updated_at = now()
			RETURNING id`,
			r.InstallationID, r.FullName, r.CloneURL, r.DefaultBranch, r.Private).Scan(&id)
	}
	if err != nil {
		return 0, fmt.Errorf("upsert repository %s: %w", r.FullName, err)
	}
	return id, nil
}

// RepositoryUpToDate reports whether cur (nil when unknown) already holds
// what r says, so that recording r would write nothing.
func RepositoryUpToDate(r Repository, cur *Repository) bool {
	if r.DefaultBranch == "" {
		r.DefaultBranch = "main"
	}
	return cur != nil && cur.Active && cur.FullName == r.FullName && cur.DefaultBranch == r.DefaultBranch && cur.Private == r.Private &&
		(r.CloneURL == "" || cur.CloneURL == r.CloneURL) && (r.InstallationID == 0 || cur.InstallationID == r.InstallationID)
}

// DeactivateRepository marks a repository removed from its installation.
func DeactivateRepository(ctx context.Context, q Querier, githubID int64) error {
	_, err := q.Exec(ctx, `UPDATE repositories SET active = false, updated_at = now() WHERE github_id = $1`, githubID)
	if err != nil {
		return fmt.Errorf("deactivate repository %d: %w", githubID, err)
	}
	return nil
}
