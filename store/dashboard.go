package store

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
)

// PassRate is how often the runs of one branch of a repository succeeded,
// over the last 24 hours and the last 7 days. Cancelled runs do not count.
type PassRate struct {
	RepositoryID int64
	Repository   string
	Branch       string
	Runs24h      int
	Passed24h    int
	Runs7d       int
	Passed7d     int
	Recoveries   int           // red → green transitions in the last 30 days
	MTTR         time.Duration // mean time from the first red run to the next green one
}

// QueueDepth counts the River jobs of one queue by state.
type QueueDepth struct {
	Queue     string
	Available int
	Scheduled int
	Retryable int
	Running   int
	Discarded int
}

// DurationPoint is the p50/p95 run duration of one day.
type DurationPoint struct {
	Day  time.Time
	Runs int
	P50  time.Duration
	P95  time.Duration
}

// Overview is what the dashboard's front page shows.
type Overview struct {
	TotalRuns        int64 // an estimate is enough: it only decides the empty state
	Repositories     int
	PassRates        []PassRate
	Recoveries       int
	MTTR             time.Duration
	Running          int
	Queued           int
	AwaitingApproval int
	Queues           []QueueDepth
	OpenIncidents    int
	FlakyTests       int
	QuarantinedTests int
	TopClusters      []ClusterSummary
	Durations        []DurationPoint // oldest first, one per day with finished runs
}

// Overview gathers the front page's aggregates as of now. Each query reads
// a bounded window through an index, so the page stays fast however long
// the history is.
func (db *DB) Overview(ctx context.Context, now time.Time) (Overview, error) {
	var o Overview
	// The parts are independent: run them at once on separate connections,
	// so the page waits for the slowest query rather than for their sum.
	var g errgroup.Group
	g.Go(func() error {
		err := db.Pool.QueryRow(ctx, `SELECT
				(SELECT count(*) FROM repositories WHERE active),
				(SELECT COALESCE(max(id), 0) FROM runs),
				(SELECT count(*) FILTER (WHERE state = 'running') FROM runs WHERE state IN ('awaiting_approval', 'queued', 'running')),
				(SELECT count(*) FILTER (WHERE state = 'queued') FROM runs WHERE state IN ('awaiting_approval', 'queued', 'running')),
				(SELECT count(*) FILTER (WHERE state = 'awaiting_approval') FROM runs WHERE state IN ('awaiting_approval', 'queued', 'running')),
				(SELECT count(*) FROM incidents WHERE status <> 'resolved'),
				(SELECT count(*) FROM tests WHERE state = 'flaky'),
				(SELECT count(*) FROM tests WHERE state = 'quarantined')`).
			Scan(&o.Repositories, &o.TotalRuns, &o.Running, &o.Queued, &o.AwaitingApproval, &o.OpenIncidents, &o.FlakyTests, &o.QuarantinedTests)
		if err != nil {
			return fmt.Errorf("overview counts: %w", err)
		}
		return nil
	})
	g.Go(func() (err error) { o.PassRates, err = db.passRates(ctx, now); return err })
	g.Go(func() (err error) { o.Queues, err = db.queueDepths(ctx); return err })
	g.Go(func() (err error) {
		o.TopClusters, err = db.ListClusters(ctx, ClusterFilter{Since: now.Add(-7 * 24 * time.Hour), Limit: 5, ByWeek: true, Now: now})
		return err
	})
	g.Go(func() (err error) { o.Durations, err = db.durationTrend(ctx, now, 14); return err })
	if err := g.Wait(); err != nil {
		return o, err
	}
	var total time.Duration
	for _, p := range o.PassRates {
		o.Recoveries += p.Recoveries
		total += p.MTTR * time.Duration(p.Recoveries)
	}
	if o.Recoveries > 0 {
		o.MTTR = total / time.Duration(o.Recoveries)
	}
	return o, nil
}

// passRates computes pass rates per repository and branch over 7 days and
// the mean time to recovery over 30 days: from a failing run that follows a
// green one (a break) to the next green run of the branch (the recovery).
// Only failing runs are looked at for recovery, each with two probes of
// runs_branch_idx (the run before it, the next green one), so the cost
// follows the number of failures rather than the number of runs.
func (db *DB) passRates(ctx context.Context, now time.Time) ([]PassRate, error) {
	rows, err := db.Pool.Query(ctx, `
		WITH recent AS (
			SELECT id, repository_id, branch, state, created_at, COALESCE(finished_at, created_at) AS t
			FROM runs
			WHERE created_at >= $1::timestamptz - interval '30 days' AND branch <> ''
				AND state IN ('succeeded', 'failed', 'timed_out', 'errored')
		), rates AS (
			SELECT repository_id, branch,
				count(*) FILTER (WHERE created_at >= $1::timestamptz - interval '24 hours') AS runs24,
				count(*) FILTER (WHERE created_at >= $1::timestamptz - interval '24 hours' AND state = 'succeeded') AS passed24,
				count(*) AS runs7,
				count(*) FILTER (WHERE state = 'succeeded') AS passed7
			FROM recent WHERE created_at >= $1::timestamptz - interval '7 days'
			GROUP BY repository_id, branch
		), breaks AS MATERIALIZED (
			SELECT f.repository_id, f.branch, f.t,
				(SELECT COALESCE(g.finished_at, g.created_at) FROM runs g
					WHERE g.repository_id = f.repository_id AND g.branch = f.branch AND g.id > f.id AND g.state = 'succeeded'
					ORDER BY g.id LIMIT 1) AS green
			FROM recent f
			WHERE f.state <> 'succeeded' AND COALESCE((SELECT p.state = 'succeeded' FROM runs p
					WHERE p.repository_id = f.repository_id AND p.branch = f.branch AND p.id < f.id
						AND p.state IN ('succeeded', 'failed', 'timed_out', 'errored')
					ORDER BY p.id DESC LIMIT 1), true)
		), mttr AS (
			SELECT repository_id, branch, count(green) AS recoveries,
				COALESCE(avg(EXTRACT(epoch FROM green - t)) FILTER (WHERE green IS NOT NULL), 0) AS secs
			FROM breaks GROUP BY repository_id, branch
		)
		SELECT r.repository_id, p.full_name, r.branch, r.runs24, r.passed24, r.runs7, r.passed7,
			COALESCE(m.recoveries, 0), COALESCE(m.secs, 0)
		FROM rates r JOIN repositories p ON p.id = r.repository_id
		LEFT JOIN mttr m ON m.repository_id = r.repository_id AND m.branch = r.branch
		ORDER BY p.full_name, (r.branch = p.default_branch) DESC, r.runs7 DESC, r.branch
		LIMIT 40`, now)
	if err != nil {
		return nil, fmt.Errorf("pass rates: %w", err)
	}
	defer rows.Close()
	var out []PassRate
	for rows.Next() {
		var p PassRate
		var mttr float64
		if err := rows.Scan(&p.RepositoryID, &p.Repository, &p.Branch, &p.Runs24h, &p.Passed24h, &p.Runs7d, &p.Passed7d, &p.Recoveries, &mttr); err != nil {
			return nil, fmt.Errorf("pass rates: %w", err)
		}
		p.MTTR = time.Duration(mttr * float64(time.Second))
		out = append(out, p)
	}
	return out, rows.Err()
}

// queueDepths counts River's unfinished and discarded jobs per queue.
func (db *DB) queueDepths(ctx context.Context) ([]QueueDepth, error) {
	rows, err := db.Pool.Query(ctx, `SELECT queue,
			count(*) FILTER (WHERE state = 'available'), count(*) FILTER (WHERE state = 'scheduled'),
			count(*) FILTER (WHERE state = 'retryable'), count(*) FILTER (WHERE state = 'running'),
			count(*) FILTER (WHERE state = 'discarded')
		FROM river_job WHERE state IN ('available', 'scheduled', 'retryable', 'running', 'discarded')
		GROUP BY queue ORDER BY queue`)
	if err != nil {
		return nil, fmt.Errorf("queue depths: %w", err)
	}
	defer rows.Close()
	var out []QueueDepth
	for rows.Next() {
		var q QueueDepth
		if err := rows.Scan(&q.Queue, &q.Available, &q.Scheduled, &q.Retryable, &q.Running, &q.Discarded); err != nil {
			return nil, fmt.Errorf("queue depths: %w", err)
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// durationTrend returns p50/p95 durations of finished runs per day.
func (db *DB) durationTrend(ctx context.Context, now time.Time, days int) ([]DurationPoint, error) {
	rows, err := db.Pool.Query(ctx, `
		SELECT date_trunc('day', created_at) AS day, count(*),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(epoch FROM finished_at - started_at)),
			percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(epoch FROM finished_at - started_at))
		FROM runs
		WHERE created_at >= date_trunc('day', $1::timestamptz) - make_interval(days => $2 - 1)
			AND started_at IS NOT NULL AND finished_at IS NOT NULL
		GROUP BY 1 ORDER BY 1`, now, days)
	if err != nil {
		return nil, fmt.Errorf("duration trend: %w", err)
	}
	defer rows.Close()
	var out []DurationPoint
	for rows.Next() {
		var p DurationPoint
		var p50, p95 float64
		if err := rows.Scan(&p.Day, &p.Runs, &p50, &p95); err != nil {
			return nil, fmt.Errorf("duration trend: %w", err)
		}
		p.P50 = time.Duration(p50 * float64(time.Second))
		p.P95 = time.Duration(p95 * float64(time.Second))
		out = append(out, p)
	}
	return out, rows.Err()
}
