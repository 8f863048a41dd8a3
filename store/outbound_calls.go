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
	Seq            int // 1 for the first call to Method and Path, then 2, ...
	CreatedAt      time.Time
}

// RecordOutboundCall stores a call whose answer is made up from the call
// itself: in one transaction, serialised per method and path, it draws the
// row's id and the next sequence number of the method and path (the last
// one's plus one, read through an index: its cost does not grow with
// history), and respond turns (id, seq) into the status and answer.
// The recorder uses id as a check run id and seq as an issue number, so the
// flow continues with realistic, unique ids. It takes the pool, not a
// Querier, because the lock must be held by a transaction of its own.
func RecordOutboundCall(ctx context.Context, db *DB, c OutboundCall, respond func(id int64, seq int) (int, json.RawMessage, error)) (OutboundCall, error) {
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('outbound:' || $1 || ' ' || $2))`, c.Method, c.Path); err != nil {
			return err
		}
		var seq int
		err := tx.QueryRow(ctx, sqlNextOutbound, c.Method, c.Path).Scan(&c.ID, &seq)
		if err != nil {
			return err
		}
		c.Seq = seq
		if c.Status, c.Response, err = respond(c.ID, seq); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `
			INSERT INTO outbound_calls (id, installation_id, method, path, request, status, response, run_id, incident_id, recorded, seq)
			VALUES ($1, NULLIF($2, 0), $3, $4, $5, $6, $7, NULLIF($8, 0), NULLIF($9, 0), $10, $11)
			RETURNING created_at`,
			c.ID, c.InstallationID, c.Method, c.Path, jsonOrEmpty(c.Request), c.Status, jsonOrEmpty(c.Response),
			c.RunID, c.IncidentID, c.Recorded, c.Seq).Scan(&c.CreatedAt)
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
	COALESCE(run_id, 0), COALESCE(incident_id, 0), recorded, seq, created_at`

// The look-ups of recorded GitHub mode, each an index read whatever the
// history (TestOutboundLookupsUseIndexes pins that): by method, path and seq
// through outbound_calls_path_seq_idx; a commit's check runs through
// outbound_calls_check_run_sha_idx, whose predicate the query repeats word
// for word so that the planner can use it.
const (
	sqlNextOutbound = `SELECT nextval(pg_get_serial_sequence('outbound_calls', 'id')),
		COALESCE((SELECT seq FROM outbound_calls WHERE method = $1 AND path = $2
			ORDER BY seq DESC LIMIT 1), 0) + 1`
	sqlOutboundAt = `SELECT ` + outboundColumns + ` FROM outbound_calls
		WHERE method = $1 AND path = $2 ORDER BY seq`
	sqlLastOutboundAt = `SELECT ` + outboundColumns + ` FROM outbound_calls
		WHERE method = $1 AND path = $2 ORDER BY seq DESC LIMIT 1`
	sqlOutboundAtSeq = `SELECT ` + outboundColumns + ` FROM outbound_calls
		WHERE method = $1 AND path = $2 AND seq = $3`
	sqlOutboundAtID = `SELECT ` + outboundColumns + ` FROM outbound_calls
		WHERE id = $1 AND method = $2 AND path = $3`
	sqlOutboundCheckRuns = `SELECT ` + outboundColumns + ` FROM outbound_calls
		WHERE method = 'POST' AND request ? 'head_sha' AND path = $1 AND request->>'head_sha' = $2
		ORDER BY id`
)

func scanOutbound(rows pgx.Rows) ([]OutboundCall, error) {
	defer rows.Close()
	var out []OutboundCall
	for rows.Next() {
		var c OutboundCall
		if err := rows.Scan(&c.ID, &c.InstallationID, &c.Method, &c.Path, &c.Request, &c.Status, &c.Response,
			&c.RunID, &c.IncidentID, &c.Recorded, &c.Seq, &c.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// OutboundCallsAt returns the calls made with method to exactly path, oldest first.
func OutboundCallsAt(ctx context.Context, q Querier, method, path string) ([]OutboundCall, error) {
	rows, err := q.Query(ctx, sqlOutboundAt, method, path)
	if err != nil {
		return nil, fmt.Errorf("outbound calls %s %s: %w", method, path, err)
	}
	out, err := scanOutbound(rows)
	if err != nil {
		return nil, fmt.Errorf("outbound calls %s %s: %w", method, path, err)
	}
	return out, nil
}

// LastOutboundCallAt returns the latest call made with method to exactly
// path, or ErrNotFound.
func LastOutboundCallAt(ctx context.Context, q Querier, method, path string) (OutboundCall, error) {
	return oneOutbound(q.Query(ctx, sqlLastOutboundAt, method, path))
}

// OutboundCallAtSeq returns call number seq made with method to exactly
// path, or ErrNotFound.
func OutboundCallAtSeq(ctx context.Context, q Querier, method, path string, seq int) (OutboundCall, error) {
	return oneOutbound(q.Query(ctx, sqlOutboundAtSeq, method, path, seq))
}

// OutboundCallAtID returns call id if it was made with method to exactly
// path, or ErrNotFound.
func OutboundCallAtID(ctx context.Context, q Querier, method, path string, id int64) (OutboundCall, error) {
	return oneOutbound(q.Query(ctx, sqlOutboundAtID, id, method, path))
}

// OutboundCallByID returns call id, or ErrNotFound.
func OutboundCallByID(ctx context.Context, q Querier, id int64) (OutboundCall, error) {
	return oneOutbound(q.Query(ctx, `SELECT `+outboundColumns+` FROM outbound_calls WHERE id = $1`, id))
}

// OutboundCheckRunsFor returns the POSTs to path (a repository's
// .../check-runs) whose request created a check run on headSHA, oldest first.
func OutboundCheckRunsFor(ctx context.Context, q Querier, path, headSHA string) ([]OutboundCall, error) {
	rows, err := q.Query(ctx, sqlOutboundCheckRuns, path, headSHA)
	if err != nil {
		return nil, fmt.Errorf("check runs recorded on %s for %s: %w", path, headSHA, err)
	}
	out, err := scanOutbound(rows)
	if err != nil {
		return nil, fmt.Errorf("check runs recorded on %s for %s: %w", path, headSHA, err)
	}
	return out, nil
}

func oneOutbound(rows pgx.Rows, err error) (OutboundCall, error) {
	if err != nil {
		return OutboundCall{}, fmt.Errorf("outbound call: %w", err)
	}
	calls, err := scanOutbound(rows)
	if err != nil {
		return OutboundCall{}, fmt.Errorf("outbound call: %w", err)
	}
	if len(calls) == 0 {
		return OutboundCall{}, ErrNotFound
	}
	return calls[0], nil
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
