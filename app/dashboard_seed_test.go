package app

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// dashServer is a Server with its routes (without the request log) on a
// test listener, over a fresh database.
type dashServer struct {
	*Server
	url string
}

func newDashServer(t testing.TB, opts Options) *dashServer {
	t.Helper()
	return newDashServerOn(t, storetest.NewDB(t), opts)
}

// newDashServerOn serves the dashboard over an open database.
func newDashServerOn(t testing.TB, db *store.DB, opts Options) *dashServer {
	t.Helper()
	rc, err := jobs.NewClient(db, nil, jobs.ClientConfig{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if opts.PublicURL == "" {
		opts.PublicURL = "http://sentinel.test"
	}
	s := NewServer(db, rc, slog.New(slog.NewTextHandler(dashLogWriter{t}, nil)), opts)
	r := chi.NewRouter()
	s.routes(r)
	hs := httptest.NewServer(r)
	t.Cleanup(hs.Close)
	return &dashServer{Server: s, url: hs.URL}
}

// seeded names the rows seedDashboard created.
type seeded struct {
	Repo, Lib                                int64
	FailedRun, GreenRun, RunningRun, ForkRun int64
	TestStep, RunningStep                    int64
	Cluster, Incident, FlakyTest, QTest      int64
	DeadJob                                  int64
}

// seedDashboard fills a database with a small, realistic history: two
// repositories, runs in every interesting state, a failed run with an ANSI
// log, tests with retries, a failure with evidence lines, its cluster and
// incident, flaky and quarantined tests, GitHub calls and a dead job.
func seedDashboard(t testing.TB, db *store.DB) seeded {
	t.Helper()
	ctx := context.Background()
	var s seeded
	q := func(dst any, sql string, args ...any) {
		t.Helper()
		var err error
		if dst == nil {
			_, err = db.Exec(ctx, sql, args...)
		} else {
			err = db.QueryRow(ctx, sql, args...).Scan(dst)
		}
		if err != nil {
			t.Fatalf("seed: %v\n%s", err, sql)
		}
	}
	q(&s.Repo, `INSERT INTO repositories (full_name, clone_url, default_branch) VALUES ('octo/app', 'https://example.invalid/octo/app.git', 'main') RETURNING id`)
	q(&s.Lib, `INSERT INTO repositories (full_name, clone_url, default_branch) VALUES ('octo/lib', 'https://example.invalid/octo/lib.git', 'main') RETURNING id`)
	// History on main: green, red, red, green (one recovery of 2 hours), spread over the last days.
	q(nil, `INSERT INTO runs (repository_id, sha, ref, branch, trigger, state, conclusion, commit_message, author, created_at, started_at, finished_at)
		SELECT $1, md5(g::text) || 'abcdefgh', 'refs/heads/main', 'main', 'push', st, CASE WHEN st = 'succeeded' THEN 'success' ELSE 'failure' END,
			'commit ' || g, 'mona', now() - make_interval(hours => (60 - g * 10)::int), now() - make_interval(hours => (60 - g * 10)::int),
			now() - make_interval(hours => (60 - g * 10)::int) + make_interval(secs => (60 + g * 30)::int)
		FROM unnest(ARRAY['succeeded', 'failed', 'failed', 'succeeded']) WITH ORDINALITY AS x(st, g)`, s.Repo)
	q(&s.GreenRun, `SELECT max(id) FROM runs WHERE state = 'succeeded'`)
	q(&s.FailedRun, `INSERT INTO runs (repository_id, sha, ref, branch, trigger, state, conclusion, category, commit_message, author, created_at, started_at, finished_at)
		VALUES ($1, 'f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed', 'refs/heads/main', 'main', 'push', 'failed', 'failure', 'test',
			'Make the cache concurrent', 'mona', now() - interval '1 hour', now() - interval '1 hour', now() - interval '55 minutes') RETURNING id`, s.Repo)
	q(&s.RunningRun, `INSERT INTO runs (repository_id, sha, ref, branch, trigger, state, commit_message, created_at, started_at, job_id)
		VALUES ($1, 'beefbeefbeefbeefbeefbeefbeefbeefbeefbeef', 'refs/heads/feature', 'feature', 'push', 'running', 'Work in progress', now(), now(), NULL) RETURNING id`, s.Repo)
	q(&s.ForkRun, `INSERT INTO runs (repository_id, sha, ref, branch, pr_number, head_repo, trigger, state, commit_message)
		VALUES ($1, 'cafecafecafecafecafecafecafecafecafecafe', 'refs/pull/7/head', 'patch-1', 7, 'stranger/app', 'pull_request', 'awaiting_approval', 'Fix typo') RETURNING id`, s.Repo)
	q(nil, `INSERT INTO steps (run_id, position, name, state, exit_code, command, image, started_at, finished_at)
		VALUES ($1, 0, 'build', 'succeeded', 0, 'go build ./...', 'golang:1.26', now() - interval '1 hour', now() - interval '58 minutes')`, s.FailedRun)
	q(&s.TestStep, `INSERT INTO steps (run_id, position, name, state, exit_code, oom_killed, command, image, started_at, finished_at)
		VALUES ($1, 1, 'test', 'failed', 1, false, 'go test -json ./...', 'golang:1.26', now() - interval '58 minutes', now() - interval '55 minutes') RETURNING id`, s.FailedRun)
	log := "=== RUN   TestCache\n\x1b[32m--- PASS: TestCache (0.01s)\x1b[0m\n=== RUN   TestEvict\n" +
		"    cache_test.go:42: want 3 entries, got 2\n\x1b[1;31m--- FAIL: TestEvict (0.02s)\x1b[0m\nFAIL\nFAIL\texample.com/app/cache\t0.05s\n"
	for i, part := range []string{log[:40], log[40:]} {
		first := 1
		if i == 1 {
			first = 2 // the first part ends inside line 2
		}
		if err := store.AppendLogChunk(ctx, db, s.FailedRun, store.LogChunk{StepID: s.TestStep, Seq: i + 1, FirstLine: first, Data: []byte(part)}); err != nil {
			t.Fatal(err)
		}
	}
	q(&s.RunningStep, `INSERT INTO steps (run_id, position, name, state, command, started_at) VALUES ($1, 0, 'test', 'running', 'make test', now()) RETURNING id`, s.RunningRun)
	if err := store.AppendLogChunk(ctx, db, s.RunningRun, store.LogChunk{StepID: s.RunningStep, Seq: 1, FirstLine: 1, Data: []byte("starting\nstill going")}); err != nil {
		t.Fatal(err)
	}
	// Tests and results, including a retry that passed (flaky) and a quarantined test.
	var cache, evict, retry int64
	q(&cache, `INSERT INTO tests (repository_id, package, name) VALUES ($1, 'example.com/app/cache', 'TestCache') RETURNING id`, s.Repo)
	q(&evict, `INSERT INTO tests (repository_id, package, name, state, score, failure_rate, flip_rate) VALUES ($1, 'example.com/app/cache', 'TestEvict', 'broken', 0.1, 0.5, 0.1) RETURNING id`, s.Repo)
	q(&retry, `INSERT INTO tests (repository_id, package, name, state, score, failure_rate, flip_rate) VALUES ($1, 'example.com/app/net', 'TestRetryDial', 'flaky', 0.72, 0.3, 0.45) RETURNING id`, s.Repo)
	q(&s.QTest, `INSERT INTO tests (repository_id, package, name, state, score, quarantine_owner, quarantine_until) VALUES ($1, 'example.com/app/net', 'TestSlowServer', 'quarantined', 0.5, 'mona', now() + interval '7 days') RETURNING id`, s.Repo)
	s.FlakyTest = retry
	q(nil, `INSERT INTO test_results (run_id, step_id, test_id, attempt, outcome, duration_ms, file, line, message) VALUES
		($1, $2, $3, 1, 'pass', 10, '', 0, ''),
		($1, $2, $4, 1, 'fail', 20, 'cache_test.go', 42, 'want 3 entries, got 2'),
		($1, $2, $4, 2, 'fail', 21, 'cache_test.go', 42, 'want 3 entries, got 2'),
		($1, $2, $5, 1, 'fail', 300, 'dial_test.go', 9, 'connection refused'),
		($1, $2, $5, 2, 'pass', 280, '', 0, '')`, s.FailedRun, s.TestStep, cache, evict, retry)
	q(nil, `INSERT INTO test_results (run_id, test_id, outcome) SELECT id, $2, CASE WHEN id % 2 = 0 THEN 'fail' ELSE 'pass' END FROM runs WHERE repository_id = $1 AND id <> $3`, s.Repo, retry, s.FailedRun)
	q(&s.Cluster, `INSERT INTO clusters (repository_id, fingerprint, category, title, occurrences, run_count, first_seen_at, last_seen_at)
		VALUES ($1, 'f1f2f3', 'test', 'TestEvict failed: want 3 entries, got 2', 3, 3, now() - interval '3 days', now() - interval '1 hour') RETURNING id`, s.Repo)
	q(nil, `INSERT INTO failures (run_id, step_id, cluster_id, test_id, category, title, message, fingerprint, confidence, evidence, file, line, hint, remediation, created_at, diagnostics)
		VALUES ($1, $2, $3, $4, 'test', 'TestEvict failed', 'want 3 entries, got 2', 'f1f2f3', 0.9,
			'[{"line": 4, "text": "    cache_test.go:42: want 3 entries, got 2"}, {"line": 5, "text": "--- FAIL: TestEvict (0.02s)"}]',
			'cache_test.go', 42, 'The eviction test expects three entries after the concurrent change.', 'Run go test -run TestEvict ./cache locally.', now() - interval '1 hour',
			'[{"file": "cache/lru.go", "line": 17, "column": 2, "severity": "warning", "message": "ineffectual assignment to n", "code": "ineffassign", "owner": "golangci-lint", "log_line": 2}]')`,
		s.FailedRun, s.TestStep, s.Cluster, evict)
	q(nil, `UPDATE clusters SET representative_id = (SELECT max(id) FROM failures) WHERE id = $1`, s.Cluster)
	q(&s.Incident, `INSERT INTO incidents (repository_id, cluster_id, title, severity, status, impact, root_cause, first_bad_sha, opened_at, github_issue_number)
		VALUES ($1, $2, 'TestEvict keeps failing on main', 'high', 'open', '{"runs_affected": 3, "branches": 1}',
			'Commit f00dfee changed the cache eviction order.', 'f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed', now() - interval '3 hours', 12) RETURNING id`, s.Repo, s.Cluster)
	q(nil, `INSERT INTO incident_events (incident_id, kind, message, run_id) VALUES ($1, 'opened', 'Failure seen in 3 runs within 24h', $2), ($1, 'github', 'Issue #12 opened', NULL)`, s.Incident, s.FailedRun)
	q(nil, `INSERT INTO outbound_calls (method, path, request, status, run_id, recorded, seq) VALUES
		('POST', '/repos/octo/app/check-runs', '{"name": "Sentinel", "head_sha": "f00dfeed", "status": "queued"}', 201, $1, true, 1),
		('PATCH', '/repos/octo/app/check-runs/1', '{"name": "Sentinel", "conclusion": "failure"}', 200, $1, true, 1)`, s.FailedRun)
	q(nil, `INSERT INTO outbound_calls (method, path, request, status, incident_id, recorded, seq) VALUES ('POST', '/repos/octo/app/issues', '{"title": "TestEvict keeps failing on main"}', 201, $1, true, 1)`, s.Incident)
	q(&s.DeadJob, `INSERT INTO river_job (args, kind, max_attempts, attempt, queue, state, finalized_at, errors)
		VALUES ('{"incident_id": 1}', 'incident.sync', 20, 20, 'github', 'discarded', now(),
			ARRAY['{"at": "2026-01-01T00:00:00Z", "attempt": 20, "error": "GitHub answered 502 Bad Gateway", "trace": ""}'::jsonb]) RETURNING id`)
	return s
}

// dashLogWriter sends the server's log to the test's log.
type dashLogWriter struct{ t testing.TB }

func (w dashLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
