package store

import (
	"context"
	"fmt"
)

// Installation is a GitHub App installation on an account.
type Installation struct {
	ID           int64
	AccountLogin string
	AccountType  string
	State        string // active, suspended, deleted
}

// UpsertInstallation records an installation, keeping its state current.
func UpsertInstallation(ctx context.Context, q Querier, in Installation) error {
	// Most deliveries repeat what we know: read first, so that concurrent
	// deliveries of one installation do not queue on its row lock.
	cur, err := scanInstallation(q.QueryRow(ctx, `SELECT `+installationColumns+` FROM installations WHERE id = $1`, in.ID))
	if err != nil && notFound(err) != ErrNotFound {
		return fmt.Errorf("installation %d: %w", in.ID, err)
	}
	known := &cur
	if err != nil {
		known = nil
	}
	return UpsertInstallationKnown(ctx, q, in, known)
}

// UpsertInstallationKnown is UpsertInstallation when the caller has read
// the current row already (cur, nil when there is none): it writes only
// when something changed.
func UpsertInstallationKnown(ctx context.Context, q Querier, in Installation, cur *Installation) error {
	in = in.withDefaults()
	if InstallationUpToDate(in, cur) {
		return nil
	}
	_, err := q.Exec(ctx, `
		INSERT INTO installations (id, account_login, account_type, state)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET account_login = EXCLUDED.account_login,
			account_type = EXCLUDED.account_type, state = EXCLUDED.state, updated_at = now()`,
		in.ID, in.AccountLogin, in.AccountType, in.State)
	if err != nil {
		return fmt.Errorf("upsert installation %d: %w", in.ID, err)
	}
	return nil
}

// InstallationUpToDate reports whether cur (nil when unknown) already holds
// what in says, so that recording in would write nothing.
func InstallationUpToDate(in Installation, cur *Installation) bool {
	in = in.withDefaults()
	return cur != nil && cur.AccountLogin == in.AccountLogin && cur.AccountType == in.AccountType
}

func (in Installation) withDefaults() Installation {
	if in.State == "" {
		in.State = "active"
	}
	if in.AccountType == "" {
		in.AccountType = "User"
	}
	return in
}

const installationColumns = `id, account_login, account_type, state`

func scanInstallation(row interface{ Scan(...any) error }) (Installation, error) {
	var in Installation
	err := row.Scan(&in.ID, &in.AccountLogin, &in.AccountType, &in.State)
	return in, err
}

// SetInstallationState marks an installation (and, when deleted, its
// repositories) without deleting history.
func SetInstallationState(ctx context.Context, q Querier, installationID int64, state string) error {
	if _, err := q.Exec(ctx, `UPDATE installations SET state = $2, updated_at = now() WHERE id = $1`, installationID, state); err != nil {
		return fmt.Errorf("installation %d state: %w", installationID, err)
	}
	if state == "deleted" {
		if _, err := q.Exec(ctx, `UPDATE repositories SET active = false, updated_at = now() WHERE installation_id = $1`, installationID); err != nil {
			return fmt.Errorf("installation %d repositories: %w", installationID, err)
		}
	}
	return nil
}
