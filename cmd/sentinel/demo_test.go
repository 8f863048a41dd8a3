package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// TestDemo runs `sentinel demo` as a user would (every scenario, the real
// pipeline, Docker when available) and checks each scenario's outcome in the
// database it used.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo runs every sample through the pipeline (minutes)")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is required")
	}
	dbURL := storetest.URL(t)
	env := map[string]string{"DATABASE_URL": dbURL, "SENTINEL_ADDR": "127.0.0.1:0", "SENTINEL_DATA_DIR": t.TempDir()}
	var out strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	code := run(ctx, []string{"demo", "--exit", "--samples", "../../samples"}, &out, testWriter{t}, func(k string) string { return env[k] })
	// The demo's Docker instance is named in its data directory; its cache
	// volumes outlive it by design, and this test's database.
	if b, err := os.ReadFile(filepath.Join(env["SENTINEL_DATA_DIR"], instanceFile)); err == nil {
		if d, err := runner.NewDocker(); err == nil {
			t.Cleanup(func() { runnertest.RemoveCacheVolumes(t, d, strings.TrimSpace(string(b))) })
		}
	}
	t.Log(out.String())
	if code != 0 {
		t.Fatalf("demo exited %d", code)
	}
	if !strings.Contains(out.String(), fmt.Sprintf("%d of %d scenarios concluded as expected", len(scenarios), len(scenarios))) {
		t.Error("the summary does not say every scenario concluded as expected")
	}

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	count := func(sql string, args ...any) int {
		t.Helper()
		var n int
		if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	// Every run of a scenario ends as the scenario intends.
	for repo, want := range map[string]struct{ state, category string }{
		"demo/success":  {"succeeded", ""},
		"demo/testfail": {"failed", "test"},
		"demo/timeout":  {"timed_out", "timeout"},
		"demo/dns":      {"failed", "network"},
		"demo/disk":     {"failed", "disk"},
		"demo/oom":      {"failed", "oom"},
		"demo/compile":  {"failed", "compile"},
	} {
		total := count(`SELECT count(*) FROM runs r JOIN repositories p ON p.id = r.repository_id WHERE p.full_name = $1`, repo)
		matching := count(`SELECT count(*) FROM runs r JOIN repositories p ON p.id = r.repository_id
			WHERE p.full_name = $1 AND r.state = $2 AND ($3 = '' OR EXISTS (SELECT 1 FROM failures f WHERE f.run_id = r.id AND f.category = $3))`,
			repo, want.state, want.category)
		if total == 0 || matching != total {
			t.Errorf("%s: %d of %d runs %s with a %q failure", repo, matching, total, want.state, want.category)
		}
	}
	if n := count(`SELECT count(*) FROM tests t JOIN repositories p ON p.id = t.repository_id WHERE p.full_name = 'demo/flaky' AND t.state IN ('flaky', 'quarantined')`); n == 0 {
		t.Error("the flaky sample's test was not detected as flaky")
	}
	// The failing test is annotated at its file and line on the recorded check run.
	if n := count(`SELECT count(*) FROM outbound_calls WHERE path LIKE '%/check-runs/%' AND request::text LIKE '%pricing/pricing_test.go%'`); n == 0 {
		t.Error("no recorded check run annotation at pricing/pricing_test.go")
	}
	if n := count(`SELECT count(*) FROM incidents`); n == 0 {
		t.Error("no incident opened")
	}
	if n := count(`SELECT count(*) FROM outbound_calls WHERE method = 'POST' AND path ~ '/issues$'`); n == 0 {
		t.Error("no incident issue recorded")
	}
	if n := count(`SELECT count(*) FROM outbound_calls WHERE method = 'POST' AND path ~ '/check-runs$'`); n < 8 {
		t.Errorf("%d check runs recorded, want one per run", n)
	}
}
