package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// PRComment is the comment Sentinel keeps on a pull request.
type PRComment struct {
	CommentID int64
	BodySHA   string // SHA-256 (hex) of the body last sent
}

// GetPRComment returns the pull request's comment, or ErrNotFound when
// Sentinel has not commented (or lost track of its comment).
func GetPRComment(ctx context.Context, q Querier, repositoryID int64, pr int) (PRComment, error) {
	var c PRComment
	err := q.QueryRow(ctx, `SELECT comment_id, body_sha FROM pr_comments WHERE repository_id = $1 AND pr_number = $2`,
		repositoryID, pr).Scan(&c.CommentID, &c.BodySHA)
	if errors.Is(err, pgx.ErrNoRows) {
		return PRComment{}, ErrNotFound
	}
	if err != nil {
		return PRComment{}, fmt.Errorf("comment of pull request #%d: %w", pr, err)
	}
	return c, nil
}

// SavePRComment records the pull request's comment after GitHub accepted it.
func SavePRComment(ctx context.Context, q Querier, repositoryID int64, pr int, c PRComment) error {
	_, err := q.Exec(ctx, `INSERT INTO pr_comments (repository_id, pr_number, comment_id, body_sha) VALUES ($1, $2, $3, $4)
		ON CONFLICT (repository_id, pr_number) DO UPDATE SET comment_id = excluded.comment_id, body_sha = excluded.body_sha, updated_at = now()`,
		repositoryID, pr, c.CommentID, c.BodySHA)
	if err != nil {
		return fmt.Errorf("save comment of pull request #%d: %w", pr, err)
	}
	return nil
}

// RepositoryHasPullRequest tells whether a run was made for pull request
// number pr of the repository (full name): the recorder's stand-in for
// GitHub's knowledge of pull requests.
func RepositoryHasPullRequest(ctx context.Context, q Querier, fullName string, pr int) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM runs r JOIN repositories p ON p.id = r.repository_id
		WHERE p.full_name = $1 AND r.pr_number = $2)`, fullName, pr).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("pull request #%d of %s: %w", pr, fullName, err)
	}
	return ok, nil
}

// LatestPRRun returns the newest run of the pull request that was not
// superseded (it may still be running), or ErrNotFound.
func LatestPRRun(ctx context.Context, q Querier, repositoryID int64, pr int) (Run, error) {
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM runs WHERE repository_id = $1 AND pr_number = $2
		AND superseded_by IS NULL ORDER BY id DESC LIMIT 1`, repositoryID, pr).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Run{}, ErrNotFound
	}
	if err != nil {
		return Run{}, fmt.Errorf("latest run of pull request #%d: %w", pr, err)
	}
	return GetRun(ctx, q, id)
}

// LatestBranchSHA returns the commit of the newest run on branch of the
// repository (full name), or ErrNotFound: what the recorder answers for a
// branch's head, having no repository of its own.
func LatestBranchSHA(ctx context.Context, q Querier, fullName, branch string) (string, error) {
	var sha string
	err := q.QueryRow(ctx, `SELECT r.sha FROM runs r JOIN repositories p ON p.id = r.repository_id
		WHERE p.full_name = $1 AND r.branch = $2 AND r.pr_number IS NULL ORDER BY r.id DESC LIMIT 1`, fullName, branch).Scan(&sha)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("head of %s on %s: %w", branch, fullName, err)
	}
	return sha, nil
}

// PullRequestOfSHA is the newest pull request of a repository (by full
// name) whose runs tested the commit, 0 if none did: the recorder's answer,
// without GitHub, to which pull request brought a commit.
func PullRequestOfSHA(ctx context.Context, q Querier, fullName, sha string) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT r.pr_number FROM runs r JOIN repositories p ON p.id = r.repository_id
		WHERE p.full_name = $1 AND r.sha = $2 AND r.pr_number IS NOT NULL ORDER BY r.id DESC LIMIT 1`, fullName, sha).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("pull request of %s on %s: %w", sha, fullName, err)
	}
	return n, nil
}
