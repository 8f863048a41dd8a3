package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ProposalKind says what a quarantine proposal changes in the quarantine file.
type ProposalKind string

const (
	ProposalAdd    ProposalKind = "add"    // put the test in quarantine
	ProposalRemove ProposalKind = "remove" // take it out again
)

// ProposalState is where a proposal's pull request stands.
type ProposalState string

const (
	ProposalPending ProposalState = "pending" // the pull request is being opened
	ProposalOpen    ProposalState = "open"
	ProposalMerged  ProposalState = "merged"
	ProposalClosed  ProposalState = "closed"
)

// QuarantineProposal is a pull request Sentinel opens on a test's quarantine.
type QuarantineProposal struct {
	ID           int64
	RepositoryID int64
	TestID       int64
	Kind         ProposalKind
	State        ProposalState
	Branch       string
	Reason       string
	PRNumber     int // 0 until opened
	IssueNumber  int // the issue to fix the test (add), 0 when none
	Note         string
	CreatedAt    time.Time
}

const proposalColumns = `id, repository_id, test_id, kind, state, branch, reason, COALESCE(pr_number, 0), COALESCE(issue_number, 0), note, created_at`

func scanProposal(row pgx.Row) (QuarantineProposal, error) {
	var p QuarantineProposal
	err := row.Scan(&p.ID, &p.RepositoryID, &p.TestID, &p.Kind, &p.State, &p.Branch, &p.Reason, &p.PRNumber, &p.IssueNumber, &p.Note, &p.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, ErrNotFound
	}
	return p, err
}

// InsertProposal records a new proposal unless the test has one pending or
// open; created is false then, and id is that one's.
func InsertProposal(ctx context.Context, q Querier, p QuarantineProposal) (id int64, created bool, err error) {
	err = q.QueryRow(ctx, `INSERT INTO quarantine_proposals (repository_id, test_id, kind, branch, reason)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (test_id) WHERE state IN ('pending', 'open') DO NOTHING RETURNING id`,
		p.RepositoryID, p.TestID, p.Kind, p.Branch, p.Reason).Scan(&id)
	if err == nil {
		return id, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, false, fmt.Errorf("proposal for test %d: %w", p.TestID, err)
	}
	active, err := ActiveProposal(ctx, q, p.TestID)
	if err != nil {
		return 0, false, err
	}
	return active.ID, false, nil
}

// GetProposal returns proposal id, or ErrNotFound.
func GetProposal(ctx context.Context, q Querier, id int64) (QuarantineProposal, error) {
	p, err := scanProposal(q.QueryRow(ctx, `SELECT `+proposalColumns+` FROM quarantine_proposals WHERE id = $1`, id))
	if err != nil {
		return p, fmt.Errorf("proposal %d: %w", id, err)
	}
	return p, nil
}

// ActiveProposal returns the test's pending or open proposal, or ErrNotFound.
func ActiveProposal(ctx context.Context, q Querier, testID int64) (QuarantineProposal, error) {
	p, err := scanProposal(q.QueryRow(ctx, `SELECT `+proposalColumns+` FROM quarantine_proposals
		WHERE test_id = $1 AND state IN ('pending', 'open')`, testID))
	if err != nil {
		return p, fmt.Errorf("active proposal of test %d: %w", testID, err)
	}
	return p, nil
}

// LatestProposal returns the test's newest proposal, or ErrNotFound.
func LatestProposal(ctx context.Context, q Querier, testID int64) (QuarantineProposal, error) {
	p, err := scanProposal(q.QueryRow(ctx, `SELECT `+proposalColumns+` FROM quarantine_proposals
		WHERE test_id = $1 ORDER BY id DESC LIMIT 1`, testID))
	if err != nil {
		return p, fmt.Errorf("latest proposal of test %d: %w", testID, err)
	}
	return p, nil
}

// SetProposalIssue records the issue opened to fix the test.
func SetProposalIssue(ctx context.Context, q Querier, id int64, issue int) error {
	_, err := q.Exec(ctx, `UPDATE quarantine_proposals SET issue_number = $2, updated_at = now() WHERE id = $1`, id, issue)
	if err != nil {
		return fmt.Errorf("proposal %d: %w", id, err)
	}
	return nil
}

// SetProposalState moves a proposal to state, with its pull request (0:
// unchanged) and a note for people.
func SetProposalState(ctx context.Context, q Querier, id int64, state ProposalState, pr int, note string) error {
	_, err := q.Exec(ctx, `UPDATE quarantine_proposals SET state = $2, pr_number = COALESCE(NULLIF($3, 0), pr_number),
		note = $4, updated_at = now() WHERE id = $1`, id, state, pr, note)
	if err != nil {
		return fmt.Errorf("proposal %d: %w", id, err)
	}
	return nil
}

// PassesSince counts the runs in a row, recorded after since, that passed
// the test: those after its last failure (or after since).
func PassesSince(ctx context.Context, q Querier, testID int64, since time.Time) (streak int, err error) {
	err = q.QueryRow(ctx, `SELECT count(DISTINCT r.run_id) FROM test_results r
		WHERE r.test_id = $1 AND r.created_at > $2 AND r.outcome = 'pass'
		AND r.id > COALESCE((SELECT max(f.id) FROM test_results f
			WHERE f.test_id = $1 AND f.created_at > $2 AND f.outcome IN ('fail', 'error')), 0)`, testID, since).Scan(&streak)
	if err != nil {
		return 0, fmt.Errorf("passes of test %d: %w", testID, err)
	}
	return streak, nil
}

// SetRepositoryFlakyActions stores what the default branch's .sentinel.yml
// says under flaky: about quarantine proposals.
func SetRepositoryFlakyActions(ctx context.Context, q Querier, repositoryID int64, autoQuarantine bool, recoverRuns int) error {
	_, err := q.Exec(ctx, `INSERT INTO repository_policies (repository_id, auto_quarantine, recover_runs) VALUES ($1, $2, $3)
		ON CONFLICT (repository_id) DO UPDATE SET auto_quarantine = EXCLUDED.auto_quarantine, recover_runs = EXCLUDED.recover_runs`,
		repositoryID, autoQuarantine, recoverRuns)
	if err != nil {
		return fmt.Errorf("flaky policy of repository %d: %w", repositoryID, err)
	}
	return nil
}

// RepositoryFlakyActions returns them (false and 0 without a policy).
func RepositoryFlakyActions(ctx context.Context, q Querier, repositoryID int64) (autoQuarantine bool, recoverRuns int, err error) {
	err = q.QueryRow(ctx, `SELECT auto_quarantine, recover_runs FROM repository_policies WHERE repository_id = $1`, repositoryID).
		Scan(&autoQuarantine, &recoverRuns)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("flaky policy of repository %d: %w", repositoryID, err)
	}
	return autoQuarantine, recoverRuns, nil
}

// TestFileAndAuthor returns the file of the test's latest failure (as the
// parser recorded it) and the author of that run's commit; "" when unknown.
func TestFileAndAuthor(ctx context.Context, q Querier, testID int64) (file, author string, err error) {
	err = q.QueryRow(ctx, `SELECT f.file, r.author FROM failures f JOIN runs r ON r.id = f.run_id
		WHERE f.test_id = $1 ORDER BY f.id DESC LIMIT 1`, testID).Scan(&file, &author)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("file of test %d: %w", testID, err)
	}
	return file, author, nil
}

// LatestProposals returns the newest proposal of each of the tests that has one.
func LatestProposals(ctx context.Context, q Querier, testIDs []int64) ([]QuarantineProposal, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT ON (test_id) `+proposalColumns+` FROM quarantine_proposals
		WHERE test_id = ANY($1) ORDER BY test_id, id DESC`, testIDs)
	if err != nil {
		return nil, fmt.Errorf("proposals of %d tests: %w", len(testIDs), err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (QuarantineProposal, error) { return scanProposal(row) })
	if err != nil {
		return nil, fmt.Errorf("proposals of %d tests: %w", len(testIDs), err)
	}
	return out, nil
}
