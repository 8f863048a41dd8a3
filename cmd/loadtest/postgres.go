package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sentinel-ci/sentinel/store"
)

// The load test reads and writes PostgreSQL itself only to observe: the
// settings it ran with, the deliveries stored, the runs' states, and the
// bare INSERT rate that anchors the intake's. The server's SQL stays in store.

// database is where one load test runs: a fresh database, dropped after.
type database struct {
	url     string
	stop    func()
	pgPID   int    // the postmaster of a cluster the load test started, else 0
	logFile string // that cluster's server log, else ""
}

// openDatabase starts a throwaway durable cluster in dir (the managed
// PostgreSQL serve runs without DATABASE_URL: fsync on, as the postgres user
// when run as root), or, given a server's URL, creates a fresh database in
// it.
func openDatabase(ctx context.Context, serverURL, dir string, log *slog.Logger) (*database, error) {
	if serverURL == "" {
		pg, err := store.StartManagedPostgres(ctx, dir, store.ManagedOptions{}, log)
		if err != nil {
			return nil, err
		}
		return &database{url: pg.URL(), stop: func() { pg.Stop() }, pgPID: postmasterPID(filepath.Join(dir, "data")), //nolint:errcheck // best effort at exit
			logFile: filepath.Join(dir, "server.log")}, nil
	}
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL %s: %w", store.Redact(serverURL), err)
	}
	name := fmt.Sprintf("sentinel_loadtest_%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close(ctx)
		return nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		admin.Close(ctx)
		return nil, err
	}
	u.Path = "/" + name
	return &database{url: u.String(), stop: func() {
		admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") //nolint:errcheck // best effort at exit
		admin.Close(context.Background())
	}}, nil
}

// postgresProblems counts the problems in the server log of a cluster the
// load test started; nil for a server of the user's, whose log it cannot
// read.
func (d *database) postgresProblems() (*problemLog, error) {
	if d.logFile == "" {
		return nil, nil
	}
	f, err := os.Open(d.logFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l := newProblemLog(postgresProblems)
	if _, err := io.Copy(l, f); err != nil {
		return nil, err
	}
	l.Write([]byte("\n")) //nolint:errcheck // ends a last line without one; never fails
	return l, nil
}

// durability names the settings that decide what a commit costs.
func durability(ctx context.Context, db *store.DB) (string, error) {
	var parts []string
	for _, name := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
		var v string
		if err := db.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil {
			return "", err
		}
		parts = append(parts, name+"="+v)
	}
	return strings.Join(parts, " "), nil
}

// bareInsertSenders is the anchor's concurrency: BenchmarkIntake's.
const bareInsertSenders = 64

// bareInsertRate measures for d the rate of single-row INSERTs, each its own
// transaction, from 64 concurrent connections: what the PostgreSQL under the
// server commits when nothing else is asked of it (BenchmarkIntake's
// anchor).
func bareInsertRate(ctx context.Context, db *store.DB, d time.Duration) (float64, error) {
	if _, err := db.Exec(ctx, `CREATE TABLE IF NOT EXISTS loadtest_bare_insert (id bigserial PRIMARY KEY, v text)`); err != nil {
		return 0, err
	}
	defer db.Exec(context.Background(), `DROP TABLE IF EXISTS loadtest_bare_insert`) //nolint:errcheck // scratch table
	// Every sender holds a connection before the clock starts: opening 64
	// connections is not what the anchor measures.
	var ready, wg sync.WaitGroup
	var firstErr atomic.Value
	ready.Add(bareInsertSenders)
	for range bareInsertSenders {
		go func() {
			defer ready.Done()
			if _, err := db.Exec(ctx, `SELECT 1`); err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
		}()
	}
	ready.Wait()
	var n atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	for range bareInsertSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for firstErr.Load() == nil && time.Now().Before(deadline) {
				if _, err := db.Exec(ctx, `INSERT INTO loadtest_bare_insert (v) VALUES ($1)`, "x"); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, fmt.Errorf("bare insert: %w", err)
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}

// countDeliveries counts the deliveries stored so far.
func countDeliveries(ctx context.Context, db *store.DB) (int, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT count(*) FROM deliveries`).Scan(&n)
	return n, err
}

// storedDeliveries counts the deliveries the server stored, and those of
// acked (delivery ids it acknowledged) it did not.
func storedDeliveries(ctx context.Context, db *store.DB, acked []string) (stored, lost int, err error) {
	err = db.QueryRow(ctx, `SELECT (SELECT count(*) FROM deliveries),
		(SELECT count(*) FROM unnest($1::text[]) a (id) WHERE NOT EXISTS (SELECT FROM deliveries d WHERE d.delivery_id = a.id))`,
		acked).Scan(&stored, &lost)
	return stored, lost, err
}

// runStates counts the runs by state and says why the first that failed
// did: a run of the no-op pipeline has no reason to fail.
func runStates(ctx context.Context, db *store.DB) (states map[string]int, firstFailure string, err error) {
	rows, err := db.Query(ctx, `SELECT state::text, count(*) FROM runs GROUP BY state`)
	if err != nil {
		return nil, "", err
	}
	states = map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, "", err
		}
		states[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	var run int64
	var why string
	err = db.QueryRow(ctx, `SELECT r.id, concat_ws(' · ', nullif(r.category, ''), nullif(r.error, ''),
			(SELECT string_agg(format('step %s %s exit %s %s', s.name, s.state, s.exit_code, s.error), '; ') FROM steps s WHERE s.run_id = r.id),
			(SELECT convert_from(c.data, 'UTF8') FROM steps s JOIN log_chunks c ON c.step_id = s.id WHERE s.run_id = r.id ORDER BY s.position, c.seq LIMIT 1))
		FROM runs r WHERE r.state::text IN ('failed', 'errored', 'timed_out') ORDER BY r.id LIMIT 1`).Scan(&run, &why)
	if errors.Is(err, pgx.ErrNoRows) {
		return states, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	return states, fmt.Sprintf("run %d: %s", run, why), nil
}

// backlog counts River's unfinished jobs (available, scheduled, retryable,
// running, pending), by queue.
func backlog(ctx context.Context, db *store.DB) (total int64, byQueue map[string]int64, err error) {
	counts, err := store.CountJobs(ctx, db)
	if err != nil {
		return 0, nil, err
	}
	byQueue = map[string]int64{}
	for _, c := range counts {
		switch c.State {
		case "available", "scheduled", "retryable", "running", "pending":
			total += c.Count
			byQueue[c.Queue] += c.Count
		}
	}
	return total, byQueue, nil
}

// openObserved opens the load test's database (see openDatabase) and a pool
// of the anchor's size to observe it through.
func openObserved(ctx context.Context, serverURL, dir string, log *slog.Logger) (*database, *store.DB, error) {
	db, err := openDatabase(ctx, serverURL, filepath.Join(dir, "postgres"), log)
	if err != nil {
		return nil, nil, err
	}
	obs, err := store.Open(ctx, db.url, bareInsertSenders, log)
	if err != nil {
		db.stop()
		return nil, nil, err
	}
	if db.logFile != "" {
		// Lock waits past deadlock_timeout in the server log: what a
		// batch stalled for a second waited on.
		for _, sql := range []string{`ALTER SYSTEM SET log_lock_waits = on`, `SELECT pg_reload_conf()`} {
			if _, err := obs.Exec(ctx, sql); err != nil {
				obs.Close()
				db.stop()
				return nil, nil, fmt.Errorf("log lock waits: %w", err)
			}
		}
	}
	return db, obs, nil
}
