package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// AuditEntry is one row of the audit log: who did what to which subject.
type AuditEntry struct {
	ID          int64
	Actor       string
	Action      string
	SubjectType string
	SubjectID   int64
	Details     map[string]any
	CreatedAt   time.Time
}

// Audit appends an entry to the audit log, inside the caller's transaction
// when q is one, so the record and the change commit together.
func Audit(ctx context.Context, q Querier, actor, action, subjectType string, subjectID int64, details map[string]any) error {
	b, err := auditDetails(details)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	_, err = q.Exec(ctx, insertAuditSQL, actor, action, subjectType, subjectID, b)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

const insertAuditSQL = `INSERT INTO audit_log (actor, action, subject_type, subject_id, details)
	VALUES ($1, $2, $3, NULLIF($4, 0), $5)`

func auditDetails(details map[string]any) ([]byte, error) {
	if details == nil {
		details = map[string]any{}
	}
	return json.Marshal(details)
}

// ListAudit returns the newest audit entries, optionally for one subject.
func ListAudit(ctx context.Context, q Querier, subjectType string, subjectID int64, limit int) ([]AuditEntry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := q.Query(ctx, `SELECT id, actor, action, subject_type, COALESCE(subject_id, 0), details, created_at
		FROM audit_log WHERE ($1 = '' OR subject_type = $1) AND ($2 = 0 OR subject_id = $2)
		ORDER BY id DESC LIMIT $3`, subjectType, subjectID, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var details []byte
		if err := rows.Scan(&e.ID, &e.Actor, &e.Action, &e.SubjectType, &e.SubjectID, &details, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		json.Unmarshal(details, &e.Details) //nolint:errcheck // written by Audit as a JSON object
		out = append(out, e)
	}
	return out, rows.Err()
}

// AuditFilter selects audit entries for SearchAudit; zero fields do not
// filter.
type AuditFilter struct {
	Actor       string // "dashboard:mona", or its kind before the colon: "dashboard"
	Action      string // "run.rerun", or its family before the dot: "run"
	SubjectType string // "run", "incident", "test", ...
	SubjectID   int64
	Before      int64 // entries with a smaller id: the cursor of the next page
	Limit       int   // default 50, at most 500
}

// SearchAudit returns audit entries matching f, newest first, through the
// primary key (the log is appended to in id order).
func SearchAudit(ctx context.Context, q Querier, f AuditFilter) ([]AuditEntry, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	rows, err := q.Query(ctx, `SELECT id, actor, action, subject_type, COALESCE(subject_id, 0), details, created_at
		FROM audit_log
		WHERE ($1 = '' OR actor = $1 OR split_part(actor, ':', 1) = $1)
			AND ($2 = '' OR action = $2 OR split_part(action, '.', 1) = $2)
			AND ($3 = '' OR subject_type = $3) AND ($4 = 0 OR subject_id = $4)
			AND ($5 = 0 OR id < $5)
		ORDER BY id DESC LIMIT $6`, f.Actor, f.Action, f.SubjectType, f.SubjectID, f.Before, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("search audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var details []byte
		if err := rows.Scan(&e.ID, &e.Actor, &e.Action, &e.SubjectType, &e.SubjectID, &details, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("search audit: %w", err)
		}
		json.Unmarshal(details, &e.Details) //nolint:errcheck // written by Audit as a JSON object
		out = append(out, e)
	}
	return out, rows.Err()
}
