package store

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"
)

// LogChannel is the Postgres NOTIFY channel announcing new log chunks, for
// the dashboard's live tail. The payload is "run_id step_id seq".
const LogChannel = "sentinel_logs"

// LogChunk is a piece of a step's log, in order of Seq.
type LogChunk struct {
	StepID    int64
	Seq       int
	FirstLine int // 1-based number of the chunk's first line
	Data      []byte
	CreatedAt time.Time
}

// AppendLogChunk stores a chunk and notifies LogChannel in the same statement.
// Storing the same (step, seq) again is a no-op, so a retried flush is safe.
func AppendLogChunk(ctx context.Context, q Querier, runID int64, c LogChunk) error {
	_, err := q.Exec(ctx, `
		WITH ins AS (
			INSERT INTO log_chunks (step_id, seq, first_line, data) VALUES ($1, $2, $3, $4)
			ON CONFLICT (step_id, seq) DO NOTHING
			RETURNING step_id)
		SELECT pg_notify($5, $6) FROM ins`,
		c.StepID, c.Seq, c.FirstLine, c.Data, LogChannel,
		strconv.FormatInt(runID, 10)+" "+strconv.FormatInt(c.StepID, 10)+" "+strconv.Itoa(c.Seq))
	if err != nil {
		return fmt.Errorf("append log chunk %d of step %d: %w", c.Seq, c.StepID, err)
	}
	return nil
}

// LogChunks returns a step's chunks with seq > afterSeq, in order, at most
// limit of them (0: all). A live tail passes the last seq it has.
func LogChunks(ctx context.Context, q Querier, stepID int64, afterSeq, limit int) ([]LogChunk, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := q.Query(ctx, `SELECT step_id, seq, first_line, data, created_at FROM log_chunks
		WHERE step_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, stepID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("log of step %d: %w", stepID, err)
	}
	defer rows.Close()
	var out []LogChunk
	for rows.Next() {
		var c LogChunk
		if err := rows.Scan(&c.StepID, &c.Seq, &c.FirstLine, &c.Data, &c.CreatedAt); err != nil {
			return nil, fmt.Errorf("log of step %d: %w", stepID, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// StepLog returns a step's whole stored log.
func StepLog(ctx context.Context, q Querier, stepID int64) ([]byte, error) {
	chunks, err := LogChunks(ctx, q, stepID, -1, 0)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for _, c := range chunks {
		buf.Write(c.Data)
	}
	return buf.Bytes(), nil
}
