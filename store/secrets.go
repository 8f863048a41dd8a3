package store

import (
	"context"
	"fmt"
	"time"
)

// SecretScope is where a secret belongs: one repository, or one
// installation (then every repository of it). Exactly one is set.
type SecretScope struct {
	RepositoryID   int64
	InstallationID int64
}

// Kind names the scope for the audit log and for the additional data that
// binds a sealed value to its row.
func (s SecretScope) Kind() string {
	if s.RepositoryID != 0 {
		return "repository"
	}
	return "installation"
}

// ID is the repository's or the installation's id.
func (s SecretScope) ID() int64 {
	if s.RepositoryID != 0 {
		return s.RepositoryID
	}
	return s.InstallationID
}

func (s SecretScope) args() (repo, inst *int64) {
	if s.RepositoryID != 0 {
		return &s.RepositoryID, nil
	}
	return nil, &s.InstallationID
}

// SecretName is what a read may show of a secret: never its value.
type SecretName struct {
	Name      string
	Scope     string // "repository" or "installation"
	UpdatedAt time.Time
}

// SealedSecret is a secret as stored, for the runner to open.
type SealedSecret struct {
	Scope  SecretScope
	Name   string
	Sealed []byte
}

// PutSecret creates or replaces a secret's sealed value. It reports
// whether the secret existed, for the audit log.
func PutSecret(ctx context.Context, q Querier, scope SecretScope, name string, sealed []byte) (replaced bool, err error) {
	repo, inst := scope.args()
	conflict := "(repository_id, name) WHERE repository_id IS NOT NULL"
	if inst != nil {
		conflict = "(installation_id, name) WHERE installation_id IS NOT NULL"
	}
	err = q.QueryRow(ctx, `INSERT INTO secrets (repository_id, installation_id, name, sealed) VALUES ($1, $2, $3, $4)
		ON CONFLICT `+conflict+` DO UPDATE SET sealed = EXCLUDED.sealed, updated_at = now()
		RETURNING xmax <> 0`, repo, inst, name, sealed).Scan(&replaced)
	if err != nil {
		return false, fmt.Errorf("put secret %s of %s %d: %w", name, scope.Kind(), scope.ID(), err)
	}
	return replaced, nil
}

// DeleteSecret removes a secret; ErrNotFound when there is none.
func DeleteSecret(ctx context.Context, q Querier, scope SecretScope, name string) error {
	repo, inst := scope.args()
	tag, err := q.Exec(ctx, `DELETE FROM secrets WHERE repository_id IS NOT DISTINCT FROM $1
		AND installation_id IS NOT DISTINCT FROM $2 AND name = $3`, repo, inst, name)
	if err != nil {
		return fmt.Errorf("delete secret %s of %s %d: %w", name, scope.Kind(), scope.ID(), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("secret %s of %s %d: %w", name, scope.Kind(), scope.ID(), ErrNotFound)
	}
	return nil
}

// ListSecretNames lists the names of a scope's secrets, by name.
func ListSecretNames(ctx context.Context, q Querier, scope SecretScope) ([]SecretName, error) {
	repo, inst := scope.args()
	rows, err := q.Query(ctx, `SELECT name, updated_at FROM secrets
		WHERE repository_id IS NOT DISTINCT FROM $1 AND installation_id IS NOT DISTINCT FROM $2 ORDER BY name`, repo, inst)
	if err != nil {
		return nil, fmt.Errorf("list secrets of %s %d: %w", scope.Kind(), scope.ID(), err)
	}
	defer rows.Close()
	var out []SecretName
	for rows.Next() {
		n := SecretName{Scope: scope.Kind()}
		if err := rows.Scan(&n.Name, &n.UpdatedAt); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// RunSecrets returns the sealed secrets a run of the repository may use:
// the repository's and its installation's, the repository's winning where
// both have a name.
func RunSecrets(ctx context.Context, q Querier, repositoryID int64) ([]SealedSecret, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT ON (s.name) COALESCE(s.repository_id, 0), COALESCE(s.installation_id, 0), s.name, s.sealed
		FROM repositories r JOIN secrets s ON s.repository_id = r.id OR s.installation_id = r.installation_id
		WHERE r.id = $1 ORDER BY s.name, s.repository_id NULLS LAST`, repositoryID)
	if err != nil {
		return nil, fmt.Errorf("secrets of repository %d: %w", repositoryID, err)
	}
	defer rows.Close()
	var out []SealedSecret
	for rows.Next() {
		var s SealedSecret
		if err := rows.Scan(&s.Scope.RepositoryID, &s.Scope.InstallationID, &s.Name, &s.Sealed); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// InstallationExists reports whether Sentinel knows the installation.
func InstallationExists(ctx context.Context, q Querier, id int64) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM installations WHERE id = $1)`, id).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("installation %d: %w", id, err)
	}
	return ok, nil
}

// PullRequestApproved reports whether a run of the repository's pull
// request was ever approved to run, which only runs from forks need: a
// later attempt of such a pull request is still a fork's code.
func PullRequestApproved(ctx context.Context, q Querier, repositoryID int64, prNumber int) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM runs r JOIN audit_log a
			ON a.subject_type = 'run' AND a.subject_id = r.id AND a.action = 'run.approve'
		WHERE r.repository_id = $1 AND r.pr_number = $2)`, repositoryID, prNumber).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("approvals of pull request %d: %w", prNumber, err)
	}
	return ok, nil
}
