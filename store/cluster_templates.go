package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// RepositoryTemplates returns a repository's stored template miner
// (triage.TemplateMiner's encoding), nil when it has none yet. Callers
// hold LockRepositoryAnalysis, so the miner read is the one they write back.
func RepositoryTemplates(ctx context.Context, q Querier, repositoryID int64) ([]byte, error) {
	var data []byte
	err := q.QueryRow(ctx, `SELECT miner FROM repository_templates WHERE repository_id = $1`, repositoryID).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("templates of repository %d: %w", repositoryID, err)
	}
	return data, nil
}

// SaveRepositoryTemplates stores a repository's template miner.
func SaveRepositoryTemplates(ctx context.Context, q Querier, repositoryID int64, data []byte, templates int) error {
	_, err := q.Exec(ctx, `INSERT INTO repository_templates (repository_id, miner, templates) VALUES ($1, $2, $3)
		ON CONFLICT (repository_id) DO UPDATE SET miner = EXCLUDED.miner, templates = EXCLUDED.templates, updated_at = now()`,
		repositoryID, data, templates)
	if err != nil {
		return fmt.Errorf("save templates of repository %d: %w", repositoryID, err)
	}
	return nil
}

// RepositoriesWithTemplates lists the repositories that have stored
// templates, for the periodic re-fingerprinting.
func RepositoriesWithTemplates(ctx context.Context, q Querier) ([]int64, error) {
	rows, err := q.Query(ctx, `SELECT repository_id FROM repository_templates ORDER BY repository_id`)
	if err != nil {
		return nil, fmt.Errorf("repositories with templates: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("repositories with templates: %w", err)
	}
	return ids, nil
}
