package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
)

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
	TopClusters      []Cluster
	Durations        []DurationPoint // oldest first, one per day with finished runs
	RecentRuns       []Run           // the latest runs, newest first
	ActiveIncidents  []Incident      // open and mitigating, newest first
	NewlyFlaky       []Test          // tests that became flaky in the last 7 days, newest first
}

// FailingBranches are the branches whose latest finished run failed.
func (o Overview) FailingBranches() []PassRate {
	var out []PassRate
	for _, p := range o.PassRates {
		if p.Failing {
			out = append(out, p)
		}
	}
	return out
}

// GetOverview gathers the front page's aggregates as of now. Each query
// reads a bounded window through an index, so the page stays fast however
// long the history is. It takes the pool, not a Querier: its parts run at
// once on separate connections, which a transaction cannot offer.
func GetOverview(ctx context.Context, db *DB, now time.Time) (Overview, error) {
	var o Overview
	// The parts are independent: run them at once on separate connections,
	// so the page waits for the slowest query rather than for their sum.
	var g errgroup.Group
	g.Go(func() error {
		err := db.QueryRow(ctx, `SELECT
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
	g.Go(func() (err error) { o.PassRates, err = passRates(ctx, db, now); return err })
	g.Go(func() (err error) { o.Queues, err = QueueDepths(ctx, db); return err })
	g.Go(func() (err error) {
		o.TopClusters, err = ListClusters(ctx, db, ClusterFilter{Since: now.Add(-7 * 24 * time.Hour), Limit: 5, ByWeek: true, Now: now})
		return err
	})
	g.Go(func() (err error) { o.Durations, err = durationTrend(ctx, db, now, 14); return err })
	g.Go(func() (err error) { o.RecentRuns, err = ListRuns(ctx, db, RunFilter{Limit: 8}); return err })
	g.Go(func() (err error) {
		o.ActiveIncidents, err = ListIncidents(ctx, db, IncidentFilter{Status: IncidentsActive, Limit: 5})
		return err
	})
	g.Go(func() (err error) { o.NewlyFlaky, err = newlyFlaky(ctx, db, now.Add(-7*24*time.Hour), 5); return err })
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
	Failing      bool          // the latest finished run failed
	FailingSince time.Time     // when the current red streak began
	LastRunID    int64         // the latest finished run
}

// passRates computes pass rates per repository and branch over 24 hours
// and 7 days, and the mean time to recovery over 30 days: from a failing
// run that follows a green one (a break) to the next green run of the
// branch (the recovery). One index-only scan (runs_created_cover_idx)
// reads the window; the ordering and counting happen here, which is
// cheaper than sorting and windowing in SQL for a few thousand rows.
func passRates(ctx context.Context, q Querier, now time.Time) ([]PassRate, error) {
	rows, err := q.Query(ctx, `SELECT repository_id, branch, id, state = 'succeeded', created_at, COALESCE(finished_at, created_at)
		FROM runs
		WHERE created_at >= $1::timestamptz - interval '30 days' AND branch <> ''
			AND state IN ('succeeded', 'failed', 'timed_out', 'errored')`, now)
	if err != nil {
		return nil, fmt.Errorf("pass rates: %w", err)
	}
	type run struct {
		id       int64
		green    bool
		created  time.Time
		finished time.Time
	}
	type key struct {
		repo   int64
		branch string
	}
	byBranch := map[key][]run{}
	// One set of targets for every row: thousands of rows, each allocating
	// its own, were a good part of the overview's time.
	var k key
	var r run
	targets := []any{&k.repo, &k.branch, &r.id, &r.green, &r.created, &r.finished}
	for rows.Next() {
		if err := rows.Scan(targets...); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pass rates: %w", err)
		}
		byBranch[k] = append(byBranch[k], r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pass rates: %w", err)
	}
	day, week := now.Add(-24*time.Hour), now.Add(-7*24*time.Hour)
	var out []PassRate
	var repoIDs []int64
	seenRepo := map[int64]bool{}
	for k, runs := range byBranch {
		slices.SortFunc(runs, func(a, b run) int { return cmp.Compare(a.id, b.id) })
		p := PassRate{RepositoryID: k.repo, Branch: k.branch}
		var total time.Duration
		var brokeAt *time.Time // finish of the first failing run of the current red streak
		for i, r := range runs {
			if !r.created.Before(week) {
				p.Runs7d++
				if r.green {
					p.Passed7d++
				}
				if !r.created.Before(day) {
					p.Runs24h++
					if r.green {
						p.Passed24h++
					}
				}
			}
			switch {
			case !r.green && brokeAt == nil && (i == 0 || runs[i-1].green):
				at := r.finished
				brokeAt = &at
			case r.green && brokeAt != nil:
				p.Recoveries++
				total += r.finished.Sub(*brokeAt)
				brokeAt = nil
			}
		}
		if p.Runs7d == 0 {
			continue
		}
		p.LastRunID = runs[len(runs)-1].id
		if brokeAt != nil {
			p.Failing, p.FailingSince = true, *brokeAt
		}
		if p.Recoveries > 0 {
			p.MTTR = total / time.Duration(p.Recoveries)
		}
		out = append(out, p)
		if !seenRepo[k.repo] {
			seenRepo[k.repo] = true
			repoIDs = append(repoIDs, k.repo)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	names := map[int64][2]string{}
	rrows, err := q.Query(ctx, `SELECT id, full_name, default_branch FROM repositories WHERE id = ANY($1)`, repoIDs)
	if err != nil {
		return nil, fmt.Errorf("pass rates: %w", err)
	}
	for rrows.Next() {
		var id int64
		var name, def string
		if err := rrows.Scan(&id, &name, &def); err != nil {
			rrows.Close()
			return nil, fmt.Errorf("pass rates: %w", err)
		}
		names[id] = [2]string{name, def}
	}
	rrows.Close()
	if err := rrows.Err(); err != nil {
		return nil, fmt.Errorf("pass rates: %w", err)
	}
	for i := range out {
		out[i].Repository = names[out[i].RepositoryID][0]
	}
	// By repository; its default branch first, then the busiest branches.
	slices.SortFunc(out, func(a, b PassRate) int {
		if c := cmp.Compare(a.Repository, b.Repository); c != 0 {
			return c
		}
		ad, bd := a.Branch == names[a.RepositoryID][1], b.Branch == names[b.RepositoryID][1]
		if ad != bd {
			if ad {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.Runs7d, a.Runs7d); c != 0 {
			return c
		}
		return cmp.Compare(a.Branch, b.Branch)
	})
	if len(out) > 40 {
		out = out[:40]
	}
	return out, nil
}

// DurationPoint is the p50/p95 run duration of one day.
type DurationPoint struct {
	Day  time.Time
	Runs int
	P50  time.Duration
	P95  time.Duration
}

// durationTrend returns p50/p95 durations of finished runs per day.
func durationTrend(ctx context.Context, q Querier, now time.Time, days int) ([]DurationPoint, error) {
	rows, err := q.Query(ctx, `
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

// Totals counts what Sentinel holds, for the demo's closing summary.
type Totals struct {
	Runs             int
	Clusters         int
	FlakyTests       int // flaky or quarantined
	OpenIncidents    int
	OutboundCalls    int
	CheckRunsCreated int
	IssuesCreated    int
}

// CountTotals counts every run, cluster, flaky test, open incident and
// recorded GitHub call.
func CountTotals(ctx context.Context, q Querier) (Totals, error) {
	var t Totals
	err := q.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM runs), (SELECT count(*) FROM clusters),
			(SELECT count(*) FROM tests WHERE state IN ('flaky', 'quarantined')),
			(SELECT count(*) FROM incidents WHERE status <> 'resolved'),
			(SELECT count(*) FROM outbound_calls),
			(SELECT count(*) FROM outbound_calls WHERE path LIKE '%/check-runs%' AND method = 'POST'),
			(SELECT count(*) FROM outbound_calls WHERE path ~ '/issues$' AND method = 'POST')`).Scan(
		&t.Runs, &t.Clusters, &t.FlakyTests, &t.OpenIncidents, &t.OutboundCalls, &t.CheckRunsCreated, &t.IssuesCreated)
	if err != nil {
		return Totals{}, fmt.Errorf("count totals: %w", err)
	}
	return t, nil
}

// newlyFlaky returns the tests that became flaky since the given time,
// newest first.
func newlyFlaky(ctx context.Context, q Querier, since time.Time, limit int) ([]Test, error) {
	rows, err := q.Query(ctx, `SELECT `+testColumns+` FROM tests t JOIN repositories r ON r.id = t.repository_id
		WHERE t.state = 'flaky' AND t.state_changed_at >= $1 ORDER BY t.state_changed_at DESC, t.id DESC LIMIT $2`, since, limit)
	if err != nil {
		return nil, fmt.Errorf("newly flaky tests: %w", err)
	}
	defer rows.Close()
	var out []Test
	for rows.Next() {
		t, err := scanTest(rows)
		if err != nil {
			return nil, fmt.Errorf("newly flaky tests: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
