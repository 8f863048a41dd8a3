package jobs

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/moby/moby/client"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
)

const cacheTestCommand = "go test ./..."

// TestRunExecuteCaches: a Go repository's second run finds its module and
// build caches (go test reports the package cached, so nothing is compiled
// or run again), a cache: path of the workspace survives too, and a pull
// request from a fork reads the caches but what it writes is discarded.
// It logs the second run's test step beside a docker run of the same
// command with the same volumes mounted by hand.
func TestRunExecuteCaches(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, true)
	name := "acme/cached"
	pipeline := `image: golang:1.26
cache: [.tool-cache]
steps:
  - name: test
    run: ` + cacheTestCommand + `
  - name: marks
    run: |
      ls .tool-cache >&2; echo "fork-mark: $(ls $GOCACHE/fork-was-here 2>/dev/null || echo none)"
      touch .tool-cache/seen-$SENTINEL_RUN_ID
      if [ "$SENTINEL_BRANCH" = fork ]; then touch $GOCACHE/fork-was-here; fi
`
	shas := runnertest.MakeRepo(t, h.gitRoot, name,
		map[string]string{".sentinel.yml": pipeline, "go.mod": goMod,
			"calc/calc.go":      "package calc\n\nfunc Add(a, b int) int { return a + b }\n",
			"calc/calc_test.go": "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal(\"no\")\n\t}\n}\n"},
		map[string]string{"README.md": "second commit\n"})
	url := h.gitURL + "/" + name + ".git"
	repoID := h.upsertRepo(url)
	scope := "r" + strconv.FormatInt(repoID, 10)
	docker := h.rt.(*runner.Docker)
	instance := docker.Instance
	t.Cleanup(func() {
		ctx := context.Background()
		for _, key := range []string{"go-mod", "go-build", cacheKey(t, ".tool-cache")} {
			docker.Client().VolumeRemove(ctx, runner.CacheVolume(instance, scope, key), client.VolumeRemoveOptions{Force: true})
		}
	})

	run := func(sha, branch string, pr int, head string) (store.Run, []store.Step) {
		t.Helper()
		runID := h.enqueueAttempt(url, sha, branch, pr, head)
		r := h.waitRun(runID, 5*time.Minute)
		steps := h.steps(runID)
		if r.State != store.RunSucceeded {
			for _, s := range steps {
				t.Logf("step %s %s:\n%s", s.Name, s.State, h.stepLog(s.ID))
			}
			t.Fatalf("run %s: %s", r.State, r.Error)
		}
		return r, steps
	}
	_, first := run(shas[0], "main", 0, "")
	second, steps := run(shas[1], "main", 0, "")
	if log := h.stepLog(steps[0].ID); !strings.Contains(log, "(cached)") {
		t.Errorf("second run's go test did not find the cache:\n%s", log)
	}
	if log := h.stepLog(steps[1].ID); !strings.Contains(log, "seen-"+strconv.FormatInt(first[0].RunID, 10)) {
		t.Errorf("the cache: path lost the first run's file:\n%s", log)
	}
	stepTime := steps[0].FinishedAt.Sub(*steps[0].StartedAt)

	// The same command, the same image and volumes, by hand.
	ws := t.TempDir()
	runnertest.Git(t, ws, "clone", "-q", h.gitRoot+"/"+name+".git", ".")
	args := []string{"run", "--rm", "-w", "/workspace", "-v", ws + ":/workspace",
		"-v", runner.CacheVolume(instance, scope, "go-mod") + ":/sentinel-cache/go-mod", "-e", "GOMODCACHE=/sentinel-cache/go-mod",
		"-v", runner.CacheVolume(instance, scope, "go-build") + ":/sentinel-cache/go-build", "-e", "GOCACHE=/sentinel-cache/go-build",
		runner.LocalImageGo(), "/bin/sh", "-c", cacheTestCommand}
	startedByHand := time.Now()
	out, err := exec.Command("docker", args...).CombinedOutput()
	byHand := time.Since(startedByHand)
	if err != nil {
		t.Fatalf("docker %v: %v\n%s", args, err, out)
	}
	t.Logf("second run's test step %v (run %d); docker run by hand with the same volumes %v; ratio %.2f",
		stepTime.Round(time.Millisecond), second.ID, byHand.Round(time.Millisecond), float64(stepTime)/float64(byHand))

	// A fork's run reads the cache (its go test is cached too) and leaves
	// no mark in it.
	_, forkSteps := run(shas[1], "fork", 9, "mallory/cached")
	if log := h.stepLog(forkSteps[0].ID); !strings.Contains(log, "(cached)") {
		t.Errorf("the fork's run did not read the cache:\n%s", log)
	}
	_, last := run(shas[1], "main", 0, "")
	if log := h.stepLog(last[1].ID); !strings.Contains(log, "fork-mark: none") {
		t.Errorf("the fork's write reached the cache:\n%s", log)
	}
	left, err := docker.Client().VolumeList(context.Background(), client.VolumeListOptions{
		Filters: client.Filters{}.Add("label", runner.LabelCacheScope+"="+runner.CopyScope(forkSteps[0].RunID))})
	if err != nil || len(left.Items) != 0 {
		t.Errorf("the fork's throwaway caches were not removed: %d (%v)", len(left.Items), err)
	}
}

// enqueueAttempt creates a new attempt of a commit's run (push, or pull
// request from head) and its job.
func (h *harness) enqueueAttempt(cloneURL, sha, branch string, pr int, head string) int64 {
	h.t.Helper()
	ctx := context.Background()
	var runID int64
	err := h.db.InTx(ctx, func(tx pgx.Tx) error {
		trigger := store.TriggerPush
		if pr != 0 {
			trigger = store.TriggerPullRequest
		}
		var err error
		runID, _, err = store.InsertRun(ctx, tx, store.NewRun{RepositoryID: h.upsertRepo(cloneURL), SHA: sha, Branch: branch,
			PRNumber: pr, HeadRepo: head, CloneURL: cloneURL, Trigger: trigger, Attempt: int(h.repos.Add(1))})
		if err != nil {
			return err
		}
		_, err = h.client.InsertTx(ctx, tx, RunExecuteArgs{RunID: runID}, nil)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return runID
}

func cacheKey(t *testing.T, path string) string {
	t.Helper()
	p, err := runner.ParsePipeline(strings.NewReader("image: x\ncache: [" + path + "]\nsteps: [{run: a}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	return p.Caches[0].Key
}
