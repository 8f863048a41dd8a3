package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sentinel-ci/sentinel/app"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// demo pushes sample repositories to a local git server and tells Sentinel
// about each push with a signed webhook delivery, as GitHub would.
type demo struct {
	m       *Main
	p       *progress
	gitRoot string // bare repositories, served over smart HTTP at gitURL
	gitURL  string
	samples string
	workDir string // working copies the demo commits in
	webhook string
	// dashboard is the base URL of the summary's links.
	dashboard string

	mu      sync.Mutex
	playing map[string]waiting // scenario → what it waits for, while it plays
	runs    int                // runs concluded so far
}

// waiting is the run a scenario waits for: "run 2/3" of commit sha.
type waiting struct{ what, sha string }

type scenarioResult struct {
	sc    scenario
	runs  []store.Run
	cats  [][]string // each run's failure categories
	flaky bool
	err   error
}

func (d *demo) say(format string, a ...any) { d.p.say(format, a...) }

// setPlaying records what a scenario waits for ("" once it is over: a
// scenario counts as finished only then), for the progress line.
func (d *demo) setPlaying(name, what, sha string, concluded bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.playing == nil {
		d.playing = map[string]waiting{}
	}
	if what == "" {
		delete(d.playing, name)
	} else {
		d.playing[name] = waiting{what, sha}
	}
	if concluded {
		d.runs++
	}
}

// status is the progress line while scenarios play: how far along, and
// what each unfinished scenario waits for.
func (d *demo) status(total int) string {
	d.mu.Lock()
	playing := maps.Clone(d.playing)
	runs := d.runs
	d.mu.Unlock()
	names := slices.Sorted(maps.Keys(playing))
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + " " + playing[n].what + d.runPhase(n, playing[n].sha)
	}
	return fmt.Sprintf("%d of %d scenarios finished, %d runs concluded; waiting for %s", total-len(names), total, runs, strings.Join(parts, ", "))
}

// runPhase says where the run of a scenario's commit is: queued, in which
// step, or being triaged and reported.
func (d *demo) runPhase(name, sha string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	repo, err := store.RepositoryByName(ctx, d.m.DB, "demo/"+name)
	if err != nil {
		return ""
	}
	id, err := store.LatestRunOfCommit(ctx, d.m.DB, repo.ID, sha)
	if err != nil {
		return ""
	}
	run, err := store.GetRun(ctx, d.m.DB, id)
	if err != nil {
		return ""
	}
	switch {
	case run.State == store.RunQueued:
		return " (queued)"
	case store.IsFinalRunState(run.State):
		return " (triage and report)"
	}
	steps, _ := store.ListSteps(ctx, d.m.DB, id) // every step, pending ones too, and retry attempts
	total := 0
	for _, st := range steps {
		total = max(total, st.Position+1)
	}
	for _, st := range steps {
		if st.State == triage.StepRunning {
			return fmt.Sprintf(" (step %d of %d: %s)", st.Position+1, total, st.Name)
		}
	}
	if total == 0 {
		return " (checkout)"
	}
	return " (between steps)"
}

// play pushes one sample `pushes` times, waiting for each run to be fully
// reported before the next push (a newer push would supersede it).
func (d *demo) play(ctx context.Context, sc scenario, index int) scenarioResult {
	res := scenarioResult{sc: sc}
	d.setPlaying(sc.name, "its repository", "", false)
	defer d.setPlaying(sc.name, "", "", false)
	repo, err := d.prepareRepo(ctx, sc.name)
	if err != nil {
		res.err = err
		d.say("✖ %-8s could not prepare the repository: %v", sc.name, err)
		return res
	}
	// The repositories persist in the data directory: a test found flaky
	// by an earlier demo is still flaky.
	known := false
	if repo, err := store.RepositoryByName(ctx, d.m.DB, "demo/"+sc.name); err == nil && sc.untilFlaky {
		known = d.hasFlakyTest(ctx, repo.ID)
	}
	for i := 1; i <= sc.pushes && ctx.Err() == nil; i++ {
		sha, err := d.commit(ctx, repo, fmt.Sprintf("demo push %d of %s", i, sc.name))
		if err == nil {
			err = d.deliver(ctx, sc.name, int64(9000+index), sha, i)
		}
		var run store.Run
		if err == nil {
			d.setPlaying(sc.name, fmt.Sprintf("run %d/%d", i, sc.pushes), sha, false)
			run, err = d.waitForRun(ctx, sha)
		}
		if err != nil {
			res.err = err
			d.say("✖ %-8s push %d: %v", sc.name, i, err)
			return res
		}
		d.setPlaying(sc.name, "its next push", "", true)
		cats, _ := store.RunFailureCategories(ctx, d.m.DB, run.ID)
		res.runs = append(res.runs, run)
		res.cats = append(res.cats, cats)
		d.say("%s %-8s push %d/%d → run %d %s%s", mark(run), sc.name, i, sc.pushes, run.ID, run.State, parenthesised(cats))
		if sc.untilFlaky {
			if res.flaky = d.hasFlakyTest(ctx, run.RepositoryID); res.flaky {
				if known {
					d.say("  %-8s the flaky test is known from an earlier demo in this data directory (make reset starts afresh)", sc.name)
				} else {
					d.say("  %-8s flaky test detected after %d push%s", sc.name, i, map[bool]string{true: "es"}[i > 1])
				}
				break
			}
		}
	}
	return res
}

func mark(r store.Run) string {
	if r.State == store.RunSucceeded {
		return "✔"
	}
	return "✖"
}

// prepareRepo copies the sample into a working copy (once) whose origin is a
// bare repository on the demo's git server.
func (d *demo) prepareRepo(ctx context.Context, name string) (string, error) {
	work := filepath.Join(d.workDir, name)
	bare := filepath.Join(d.gitRoot, name+".git")
	if _, err := os.Stat(filepath.Join(work, ".git")); err == nil {
		return work, nil
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return "", err
	}
	if err := os.CopyFS(work, os.DirFS(filepath.Join(d.samples, name))); err != nil {
		return "", fmt.Errorf("copy sample: %w", err)
	}
	for _, args := range [][]string{
		{"init", "--bare", "--initial-branch=main", bare},
		{"-C", work, "init", "--initial-branch=main"},
		{"-C", work, "remote", "add", "origin", bare},
	} {
		if _, err := git(ctx, args...); err != nil {
			return "", err
		}
	}
	// http-backend serves only repositories that allow it.
	if _, err := git(ctx, "-C", bare, "config", "http.receivepack", "false"); err != nil {
		return "", err
	}
	os.WriteFile(filepath.Join(bare, "git-daemon-export-ok"), nil, 0o644)
	return work, nil
}

func (d *demo) commit(ctx context.Context, work, message string) (string, error) {
	stamp := fmt.Sprintf("%s\n", time.Now().UTC().Format(time.RFC3339Nano))
	if err := os.WriteFile(filepath.Join(work, ".demo-push"), []byte(stamp), 0o644); err != nil {
		return "", err
	}
	for _, args := range [][]string{
		{"-C", work, "add", "-A"},
		{"-C", work, "-c", "user.name=Sentinel Demo", "-c", "user.email=demo@sentinel.invalid", "commit", "-q", "-m", message},
		{"-C", work, "push", "-q", "origin", "main"},
	} {
		if _, err := git(ctx, args...); err != nil {
			return "", err
		}
	}
	sha, err := git(ctx, "-C", work, "rev-parse", "HEAD")
	return strings.TrimSpace(sha), err
}

func git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// deliver sends the push webhook GitHub would send for this commit.
func (d *demo) deliver(ctx context.Context, name string, repoID int64, sha string, n int) error {
	fullName := "demo/" + name
	payload := map[string]any{
		"ref": "refs/heads/main", "before": strings.Repeat("0", 40), "after": sha,
		"created": n == 1, "deleted": false, "forced": false, "base_ref": nil,
		"compare": d.gitURL + "/" + name + ".git",
		"commits": []any{},
		"head_commit": map[string]any{
			"id": sha, "message": fmt.Sprintf("demo push %d of %s", n, name), "timestamp": time.Now().UTC().Format(time.RFC3339),
			"author": map[string]any{"name": "Sentinel Demo", "email": "demo@sentinel.invalid", "username": "sentinel-demo"},
		},
		"repository": map[string]any{
			"id": repoID, "name": name, "full_name": fullName, "private": false,
			"owner":     map[string]any{"login": "demo", "type": "Organization"},
			"clone_url": d.gitURL + "/" + name + ".git", "default_branch": "main",
		},
		"pusher":       map[string]any{"name": "sentinel-demo"},
		"sender":       map[string]any{"login": "sentinel-demo"},
		"installation": map[string]any{"id": 1},
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", d.webhook, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", randomSecret()[:32])
	req.Header.Set("X-Hub-Signature-256", app.Sign(d.m.Config.WebhookSecret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("webhook answered %d: %s", resp.StatusCode, b)
	}
	return nil
}

// waitForRun waits until the run of sha is over and its check run completed
// (the conclusion is set after triage and reporting).
func (d *demo) waitForRun(ctx context.Context, sha string) (store.Run, error) {
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		run, err := store.LatestConcludedRun(ctx, d.m.DB, sha)
		if err == nil {
			return run, nil
		}
		select {
		case <-ctx.Done():
			return store.Run{}, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return store.Run{}, fmt.Errorf("run of %s not reported within 10 minutes (see the dashboard and the log)", sha[:8])
}

func parenthesised(cats []string) string {
	if len(cats) == 0 {
		return ""
	}
	return " (" + strings.Join(cats, ", ") + ")"
}

func (d *demo) hasFlakyTest(ctx context.Context, repoID int64) bool {
	n, _ := store.CountTests(ctx, d.m.DB, repoID, []triage.TestState{triage.TestFlaky, triage.TestQuarantined})
	return n > 0
}
