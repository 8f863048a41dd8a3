// Package store is Sentinel's PostgreSQL access and holds all of its SQL:
// hand-written queries over pgx, one file per table or aggregate, one Go
// type per table. Functions take a Querier, which *DB, a transaction and
// the live tail's connection all satisfy, so a caller composes one
// transaction with db.InTx (River's InsertTx included) or runs a function
// on the pool directly. Only what needs the pool itself is a method of
// *DB. A missing row is always ErrNotFound.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// ErrNotFound is returned when a row the caller asked for does not exist.
var ErrNotFound = errors.New("not found")

// DB is the connection pool. It is a Querier, so a store function runs on
// it directly or, through InTx, in a transaction; the pool itself stays
// here, so that nothing outside store writes SQL or holds a connection.
type DB struct {
	pool *pgxpool.Pool
}

// Open connects to databaseURL, retrying briefly so that a database that is
// still starting (compose, a managed cluster) does not fail the process.
func Open(ctx context.Context, databaseURL string, maxConns int32, log *slog.Logger) (*DB, error) {
	cfg, err := poolConfig(databaseURL, maxConns)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", Redact(databaseURL), err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for attempt := 1; ; attempt++ {
		pingCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = pool.Ping(pingCtx)
		cancel()
		if err == nil {
			return &DB{pool: pool}, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			pool.Close()
			return nil, fmt.Errorf("database at %s is unreachable: %w", hostOf(cfg.ConnConfig), err)
		}
		log.Warn("database not reachable yet, retrying", "host", hostOf(cfg.ConnConfig), "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 300 * time.Millisecond):
		}
	}
}

// poolConfig is the pool's configuration: databaseURL's, with at most
// maxConns connections (when > 0) and their lifetimes spread.
//
// pgx closes each connection an hour (pool_max_conn_lifetime) after it
// opened, with no jitter by default, so every connection opened at start
// would be replaced in the same moment, every hour. A new connection is a
// cold backend that parses and plans each statement again; replacing them
// all at once under load stalled the intake as its first seconds do (in
// the load test with a 20 s lifetime: p99 514 ms in the two seconds after
// the 20th against 50-110 ms around it; 177 ms with the jitter). Spread
// over half the lifetime, the replacements come one by one. A
// pool_max_conn_lifetime_jitter in the URL is kept.
func poolConfig(databaseURL string, maxConns int32) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	if !strings.Contains(databaseURL, "pool_max_conn_lifetime_jitter") {
		cfg.MaxConnLifetimeJitter = cfg.MaxConnLifetime / 2
	}
	return cfg, nil
}

// Close releases every connection.
func (db *DB) Close() { db.pool.Close() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.pool.Ping(ctx) }

// InTx runs fn in a transaction that is committed when fn returns nil and
// rolled back otherwise.
func (db *DB) InTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.pool, fn)
}

// Exec runs sql on a connection of the pool (Querier).
func (db *DB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return db.pool.Exec(ctx, sql, args...)
}

// Query runs sql on a connection of the pool (Querier).
func (db *DB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return db.pool.Query(ctx, sql, args...)
}

// QueryRow runs sql on a connection of the pool (Querier).
func (db *DB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return db.pool.QueryRow(ctx, sql, args...)
}

// RiverDriver is River's driver over the same pool, for the River client
// and its migrations: River's jobs and Sentinel's rows share transactions.
func (db *DB) RiverDriver() *riverpgxv5.Driver { return riverpgxv5.New(db.pool) }

// DatabaseIdentity names the database the pool works on: its name, server
// address and port ("sentinel@10.0.0.5:5432").
func DatabaseIdentity(ctx context.Context, q Querier) (string, error) {
	var ident string
	err := q.QueryRow(ctx, `SELECT current_database() || '@' || COALESCE(host(inet_server_addr()), 'socket')
		|| ':' || COALESCE(inet_server_port(), 0)`).Scan(&ident)
	if err != nil {
		return "", fmt.Errorf("database identity: %w", err)
	}
	return ident, nil
}

// notFound turns pgx's "no rows" into ErrNotFound, in one place.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// IsUniqueViolation reports whether err is a unique-constraint violation.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// IsDataException reports whether PostgreSQL refused a value itself
// (SQLSTATE class 22: bad encoding, out of range, invalid text): the data
// is at fault, not the database.
func IsDataException(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22")
}

// Redact removes the password from a connection string for messages and logs.
func Redact(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil || u.User == nil {
		return databaseURL
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func hostOf(c *pgx.ConnConfig) string {
	if strings.HasPrefix(c.Host, "/") {
		return fmt.Sprintf("unix socket %s/.s.PGSQL.%d", c.Host, c.Port)
	}
	return fmt.Sprintf("%s:%d", c.Host, c.Port)
}

// intervalSeconds is d as a PostgreSQL interval literal, whole seconds.
func intervalSeconds(d time.Duration) string {
	return fmt.Sprintf("%d seconds", int64(d.Seconds()))
}

// int64ArrayLiteral is xs in PostgreSQL's array literal form ("{1,2}"), so
// that a list of variable-length arrays can travel as one text[] parameter:
// unnest cannot take a ragged two-dimensional array.
func int64ArrayLiteral(xs []int64) string {
	b := make([]byte, 0, 2+len(xs)*8)
	b = append(b, '{')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "%d", x)
	}
	return string(append(b, '}'))
}
