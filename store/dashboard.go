package store

import (
	"context"
	"fmt"
	"time"
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
		return o, fmt.Errorf("overview counts: %w", err)
	}
	if o.PassRates, err = db.passRates(ctx, now); err != nil {
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
	if o.Queues, err = db.queueDepths(ctx); err != nil {
		return o, err
	}
	if o.TopClusters, err = db.ListClusters(ctx, ClusterFilter{Since: now.Add(-7 * 24 * time.Hour), Limit: 5, ByWeek: true, Now: now}); err != nil {
		return o, err
	}
	if o.Durations, err = db.durationTrend(ctx, now, 14); err != nil {
		return o, err
	}
	return o, nil
}

// passRates computes pass rates per repository and branch over 7 days and
// the mean time to recovery over 30 days (the time from the first failing
// run after a green one to the next green run of the same branch).
func (db *DB) passRates(ctx context.Context, now time.Time) ([]PassRate, error) {
	rows, err := db.Pool.Query(ctx, `
		WITH fin AS (
			SELECT r.repository_id, r.branch, r.id, r.state, r.created_at, COALESCE(r.finished_at, r.created_at) AS t
			FROM runs r
			WHERE r.created_at >= $1::timestamptz - interval '30 days' AND r.branch <> ''
				AND r.state IN ('succeeded', 'failed', 'timed_out', 'errored')
		), seq AS (
			SELECT *, lag(state) OVER (PARTITION BY repository_id, branch ORDER BY t, id) AS prev,
				min(CASE WHEN state = 'succeeded' THEN t END)
					OVER (PARTITION BY repository_id, branch ORDER BY t DESC, id DESC ROWS UNBOUNDED PRECEDING) AS next_green
			FROM fin
		)
		SELECT s.repository_id, p.full_name, s.branch,
			count(*) FILTER (WHERE s.created_at >= $1::timestamptz - interval '24 hours'),
			count(*) FILTER (WHERE s.created_at >= $1::timestamptz - interval '24 hours' AND s.state = 'succeeded'),
			count(*) FILTER (WHERE s.created_at >= $1::timestamptz - interval '7 days'),
			count(*) FILTER (WHERE s.created_at >= $1::timestamptz - interval '7 days' AND s.state = 'succeeded'),
			count(*) FILTER (WHERE s.state <> 'succeeded' AND (s.prev IS NULL OR s.prev = 'succeeded') AND s.next_green IS NOT NULL),
			COALESCE(avg(EXTRACT(epoch FROM s.next_green - s.t))
				FILTER (WHERE s.state <> 'succeeded' AND (s.prev IS NULL OR s.prev = 'succeeded') AND s.next_green IS NOT NULL), 0)
		FROM seq s JOIN repositories p ON p.id = s.repository_id
		GROUP BY s.repository_id, p.full_name, s.branch
		HAVING count(*) FILTER (WHERE s.created_at >= $1::timestamptz - interval '7 days') > 0
		ORDER BY p.full_name, (s.branch = max(p.default_branch)) DESC, 6 DESC, s.branch
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
