package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// OutboundCall is one GitHub API call: recorded instead of sent when
// Sentinel runs without App credentials (Recorded), so the dashboard can
// show what would have been posted.
type OutboundCall struct {
	ID             int64
	InstallationID int64 // 0: none
	Method         string
	Path           string // as GitHub's REST path, e.g. /repos/o/r/check-runs/12
	Request        json.RawMessage
	Status         int
	Response       json.RawMessage
	RunID          int64 // 0: not about a run
	IncidentID     int64 // 0: not about an incident
	Recorded       bool
	CreatedAt      time.Time
}

// RecordOutboundCall stores a call whose answer is made up from the call
// itself: in one transaction, serialised per method and path, it draws the
// row's id and counts the earlier calls with the same method and path, and
// respond turns (id, seq = earlier calls + 1) into the status and answer.
// The recorder uses id as a check run id and seq as an issue number, so the
// flow continues with realistic, unique ids. It takes the pool, not a
// Querier, because the lock must be held by a transaction of its own.
func RecordOutboundCall(ctx context.Context, db *DB, c OutboundCall, respond func(id int64, seq int) (int, json.RawMessage, error)) (OutboundCall, error) {
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('outbound:' || $1 || ' ' || $2))`, c.Method, c.Path); err != nil {
			return err
		}
		var seq int
		err := tx.QueryRow(ctx, `
			SELECT nextval(pg_get_serial_sequence('outbound_calls', 'id')),
				(SELECT count(*) + 1 FROM outbound_calls WHERE method = $1 AND path = $2)`,
			c.Method, c.Path).Scan(&c.ID, &seq)
		if err != nil {
			return err
		}
		if c.Status, c.Response, err = respond(c.ID, seq); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `
			INSERT INTO outbound_calls (id, installation_id, method, path, request, status, response, run_id, incident_id, recorded)
			VALUES ($1, NULLIF($2, 0), $3, $4, $5, $6, $7, NULLIF($8, 0), NULLIF($9, 0), $10)
			RETURNING created_at`,
			c.ID, c.InstallationID, c.Method, c.Path, jsonOrEmpty(c.Request), c.Status, jsonOrEmpty(c.Response),
			c.RunID, c.IncidentID, c.Recorded).Scan(&c.CreatedAt)
	})
	if err != nil {
		return OutboundCall{}, fmt.Errorf("record %s %s: %w", c.Method, c.Path, err)
	}
	return c, nil
}

func jsonOrEmpty(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage(`{}`)
	}
	return b
}

const outboundColumns = `id, COALESCE(installation_id, 0), method, path, request, status, response,
	COALESCE(run_id, 0), COALESCE(incident_id, 0), recorded, created_at`

func scanOutbound(rows pgx.Rows) ([]OutboundCall, error) {
	defer rows.Close()
	var out []OutboundCall
	for rows.Next() {
		var c OutboundCall
		if err := rows.Scan(&c.ID, &c.InstallationID, &c.Method, &c.Path, &c.Request, &c.Status, &c.Response,
			&c.RunID, &c.IncidentID, &c.Recorded, &c.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// OutboundCallsAt returns the calls made with method to exactly path, oldest first.
func OutboundCallsAt(ctx context.Context, q Querier, method, path string) ([]OutboundCall, error) {
	rows, err := q.Query(ctx, `SELECT `+outboundColumns+` FROM outbound_calls
		WHERE method = $1 AND path = $2 ORDER BY id`, method, path)
	if err != nil {
		return nil, fmt.Errorf("outbound calls %s %s: %w", method, path, err)
	}
	out, err := scanOutbound(rows)
	if err != nil {
		return nil, fmt.Errorf("outbound calls %s %s: %w", method, path, err)
	}
	return out, nil
}

// OutboundFilter selects calls for the dashboard; zero fields do not filter.
type OutboundFilter struct {
	RunID      int64
	IncidentID int64
	Limit      int // default and maximum 500
}

// ListOutboundCalls returns calls newest first.
func ListOutboundCalls(ctx context.Context, q Querier, f OutboundFilter) ([]OutboundCall, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 500
	}
	rows, err := q.Query(ctx, `SELECT `+outboundColumns+` FROM outbound_calls
		WHERE ($1 = 0 OR run_id = $1) AND ($2 = 0 OR incident_id = $2)
		ORDER BY id DESC LIMIT $3`, f.RunID, f.IncidentID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list outbound calls: %w", err)
	}
	out, err := scanOutbound(rows)
	if err != nil {
		return nil, fmt.Errorf("list outbound calls: %w", err)
	}
	return out, nil
}

// DeleteOldOutboundCalls deletes at most limit calls recorded longer than
// age ago and returns how many it deleted (see DeleteOldLogChunks).
func DeleteOldOutboundCalls(ctx context.Context, q Querier, age time.Duration, limit int) (int64, error) {
	tag, err := q.Exec(ctx, `DELETE FROM outbound_calls WHERE id = ANY (ARRAY(
		SELECT id FROM outbound_calls WHERE created_at < now() - $1::interval LIMIT $2))`, intervalSeconds(age), limit)
	if err != nil {
		return 0, fmt.Errorf("delete old outbound calls: %w", err)
	}
	return tag.RowsAffected(), nil
}
