package jobs

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
)

// TestRunExecuteCacheEviction: with the shell executor, a repository's
// caches over CacheMax are evicted after the run, least recently used
// first, and clearing starts the next run on empty caches and removes the
// old ones.
func TestRunExecuteCacheEviction(t *testing.T) {
	sh := runner.NewShell()
	sh.CacheDir = t.TempDir()
	h := newHarness(t, sh, false)
	cfg := h.cfg
	cfg.CacheMax = 6 << 10
	h.client = newTestClient(t, h.db, cfg, true)
	ctx := context.Background()
	// Each run writes 4 KiB into the cache it is told to, and lists both.
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: none
cache: [small, big]
steps:
  - run: ls small big; head -c 4096 /dev/zero > "$WHICH/$SENTINEL_RUN_ID"
    env: {WHICH: small}
`})
	repoID := h.upsertRepo(cloneURL)
	runOnce := func() (store.Run, string) {
		t.Helper()
		runID := h.enqueueAttempt(cloneURL, sha, "main", 0, "")
		run := h.waitRun(runID, time.Minute)
		return run, h.stepLog(h.steps(runID)[0].ID)
	}
	keys := func() string {
		t.Helper()
		es, err := store.ListCacheEntries(ctx, h.db, repoID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			k := e.Key[:strings.LastIndex(e.Key, "-")]
			out = append(out, e.Scope+"/"+strings.TrimPrefix(k, "path-workspace_"))
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	r1, _ := runOnce()
	if r1.State != store.RunSucceeded {
		t.Fatalf("run 1 %s: %s", r1.State, r1.Error)
	}
	scope := "r" + itoa(repoID)
	if got := keys(); got != scope+"/big "+scope+"/small" {
		t.Errorf("entries after run 1: %s", got)
	}
	r2, log2 := runOnce()
	if !strings.Contains(log2, itoa(r1.ID)) {
		t.Errorf("run 2 did not see run 1's cached file:\n%s", log2)
	}
	// 8 KiB in small > 6 KiB: small goes (both used last by run 2: the larger first).
	dir := func(scope string) []string {
		matches, _ := filepath.Glob(filepath.Join(sh.CacheDir, scope, "path-workspace_small-*", "*"))
		return matches
	}
	if files := dir(scope); len(files) != 0 {
		t.Errorf("small was not evicted after run %d: %v", r2.ID, files)
	}
	if got := keys(); got != scope+"/big" {
		t.Errorf("entries after eviction: %s", got)
	}

	actions := &Actions{DB: h.db, River: h.client}
	if err := actions.ClearCaches(ctx, repoID, "test"); err != nil {
		t.Fatal(err)
	}
	r3, _ := runOnce()
	if r3.State != store.RunSucceeded {
		t.Fatalf("run 3 %s: %s", r3.State, r3.Error)
	}
	if got := keys(); got != scope+"g1/big "+scope+"g1/small" {
		t.Errorf("entries after clearing and run 3: %s", got)
	}
	if _, err := os.Stat(filepath.Join(sh.CacheDir, scope)); err == nil {
		if m, _ := filepath.Glob(filepath.Join(sh.CacheDir, scope, "*")); len(m) != 0 {
			t.Errorf("the cleared generation's caches are still there: %v", m)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
