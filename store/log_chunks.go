package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
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

// LogTailStart finds where a live tail that needs line fromLine onwards
// starts reading: the chunks after the returned seq, whose first byte
// belongs to line firstLine. Starting at a chunk that begins before
// fromLine means a chunk that starts mid-line never yields a fragment.
func LogTailStart(ctx context.Context, q Querier, stepID int64, fromLine int) (afterSeq, firstLine int, err error) {
	err = q.QueryRow(ctx, `SELECT seq - 1, first_line FROM log_chunks WHERE step_id = $1 AND first_line < $2
		ORDER BY seq DESC LIMIT 1`, stepID, fromLine).Scan(&afterSeq, &firstLine)
	if notFound(err) == ErrNotFound {
		return 0, 1, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("log tail of step %d: %w", stepID, err)
	}
	return afterSeq, firstLine, nil
}

// DeleteOldLogChunks deletes at most limit chunks stored longer than age
// ago and returns how many it deleted: a caller pruning a large backlog
// calls it until it deletes fewer, so that no transaction is long.
func DeleteOldLogChunks(ctx context.Context, q Querier, age time.Duration, limit int) (int64, error) {
	tag, err := q.Exec(ctx, `DELETE FROM log_chunks WHERE ctid = ANY (ARRAY(
		SELECT ctid FROM log_chunks WHERE created_at < now() - $1::interval LIMIT $2))`, intervalSeconds(age), limit)
	if err != nil {
		return 0, fmt.Errorf("delete old log chunks: %w", err)
	}
	return tag.RowsAffected(), nil
}

// ErrTooManyListeners means that live tails already hold half of the pool's
// connections; the rest is kept for everything else.
var ErrTooManyListeners = errors.New("too many live tails at once")

// LogListener is a connection of its own that LISTENs on LogChannel, for a
// live tail: notifications arrive only on the connection that asked for
// them, so it stays out of the pool while the tail lasts. It is a Querier
// too, so the tail reads the chunks it is told about on the same connection.
type LogListener struct {
	conn *pgxpool.Conn
}

// ListenLogs takes a connection from the pool and LISTENs on LogChannel.
// Close gives the connection back.
func (db *DB) ListenLogs(ctx context.Context) (*LogListener, error) {
	// Each tail holds a connection while it lasts: keep half of the pool for
	// everything else.
	if st := db.pool.Stat(); st.AcquiredConns() >= max(st.MaxConns()/2, 1) {
		return nil, ErrTooManyListeners
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	l := &LogListener{conn: conn}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{LogChannel}.Sanitize()); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Exec runs sql on the listener's connection (Querier).
func (l *LogListener) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return l.conn.Exec(ctx, sql, args...)
}

// Query runs sql on the listener's connection (Querier).
func (l *LogListener) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return l.conn.Query(ctx, sql, args...)
}

// QueryRow runs sql on the listener's connection (Querier).
func (l *LogListener) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return l.conn.QueryRow(ctx, sql, args...)
}

// WaitForNotification blocks until a notification arrives or ctx ends. The
// payload is "run_id step_id seq".
func (l *LogListener) WaitForNotification(ctx context.Context) (*pgconn.Notification, error) {
	return l.conn.Conn().WaitForNotification(ctx)
}

// Close stops listening and gives the connection back to the pool.
func (l *LogListener) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := l.conn.Exec(ctx, "UNLISTEN *"); err != nil {
		l.conn.Conn().Close(ctx) // the pool drops a closed connection
	}
	l.conn.Release()
}
