package runner_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/jobs/runner"
)

// TestShellCaches: the shell runtime keeps caches as directories: a
// variable points at its directory, a workspace path is linked to it, and
// a run with CacheCopy writes into a copy that Cleanup removes.
func TestShellCaches(t *testing.T) {
	sh := runner.NewShell()
	sh.CacheDir = t.TempDir()
	caches := []runner.CacheMount{{Key: "go-build", Target: runner.CacheRoot + "/go-build", Env: "GOCACHE"}, {Key: "p", Target: "/workspace/.c"}}
	ctx := context.Background()
	step := func(runID int64, copy bool, command string) string {
		t.Helper()
		ws := t.TempDir()
		scope := "r1"
		if err := sh.Prepare(ctx, runner.RunSpec{RunID: runID, Workspace: ws, Caches: caches, CacheScope: scope, CacheCopy: copy}); err != nil {
			t.Fatal(err)
		}
		if copy {
			scope = runner.CopyScope(runID)
		}
		var out, errOut bytes.Buffer // one each: the runtime copies them concurrently
		res, err := sh.RunStep(ctx, runner.StepSpec{RunID: runID, StepID: 1, Workspace: ws, Command: command,
			Caches: caches, CacheScope: scope, Stdout: &out, Stderr: &errOut})
		if err != nil || res.Failed() {
			t.Fatalf("step: %v %+v\n%s%s", err, res, out.String(), errOut.String())
		}
		if err := sh.Cleanup(ctx, runID); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	step(1, false, `echo one > "$GOCACHE/a" && echo one > .c/b`)
	if out := step(2, true, `cat "$GOCACHE/a" .c/b && echo fork > "$GOCACHE/a"`); out != "one\none\n" {
		t.Errorf("the copy did not hold the cache: %q", out)
	}
	if out := step(3, false, `cat "$GOCACHE/a"`); strings.TrimSpace(out) != "one" {
		t.Errorf("the copy's write reached the cache: %q", out)
	}
	if _, err := os.Stat(filepath.Join(sh.CacheDir, runner.CopyScope(2))); !os.IsNotExist(err) {
		t.Errorf("the copy was not removed: %v", err)
	}
}
