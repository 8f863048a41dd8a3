package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
)

const whenPipeline = `image: busybox
steps:
  - name: always
    run: echo always
  - name: release-only
    run: echo release
    when:
      branches: ["release/**"]
  - name: docs
    run: echo docs
    when: {paths: ["docs/**"]}
  - name: on-pr
    run: echo pr
    when: {events: [pull_request]}
`

// enqueueDelivered creates a run as the intake would for a delivery with
// this payload, and its job.
func (h *harness) enqueueDelivered(cloneURL, sha, branch, event string, pr int, payload any) int64 {
	h.t.Helper()
	ctx := context.Background()
	body, err := json.Marshal(payload)
	if err != nil {
		h.t.Fatal(err)
	}
	delivery := fmt.Sprintf("d-%d", time.Now().UnixNano())
	var runID int64
	err = h.db.InTx(ctx, func(tx pgx.Tx) error {
		repoID := h.upsertRepo(cloneURL)
		if _, err := tx.Exec(ctx, `INSERT INTO deliveries (delivery_id, event, payload) VALUES ($1, $2, $3)`, delivery, event, body); err != nil {
			return err
		}
		head := ""
		if pr != 0 {
			head = "acme/" + strings.TrimSuffix(cloneURL[strings.LastIndex(cloneURL, "/")+1:], "")
		}
		runID, _, err = store.InsertRun(ctx, tx, store.NewRun{RepositoryID: repoID, SHA: sha, Branch: branch, PRNumber: pr,
			HeadRepo: head, CloneURL: cloneURL, Trigger: store.Trigger(event), DeliveryID: delivery,
			Attempt: int(h.repos.Add(1))}) // runs of one commit differ by attempt
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

type commitFiles struct {
	Added    []string `json:"added"`
	Removed  []string `json:"removed"`
	Modified []string `json:"modified"`
}

// TestRunExecuteWhen: steps filtered by branch, path and event are skipped
// on the right runs with the reason; unknown changes let a path filter run;
// a pull request's changes come from its diff against the base.
func TestRunExecuteWhen(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, true)
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": whenPipeline, "docs/a.md": "a\n"})

	states := func(runID int64) string {
		run := h.waitRun(runID, 2*time.Minute)
		var parts []string
		for _, s := range h.steps(runID) {
			parts = append(parts, s.Name+"="+string(s.State))
		}
		return string(run.State) + " " + strings.Join(parts, " ")
	}
	push := func(files ...string) map[string]any {
		return map[string]any{"before": strings.Repeat("1", 40), "after": sha, "commits": []commitFiles{{Modified: files}}}
	}
	tests := []struct {
		name, branch, event string
		pr                  int
		payload             any
		want                string
	}{
		{"push to main touching code", "main", "push", 0, push("main.go"),
			"succeeded always=succeeded release-only=skipped docs=skipped on-pr=skipped"},
		{"push to a release branch touching docs", "release/1.2", "push", 0, push("docs/a.md"),
			"succeeded always=succeeded release-only=succeeded docs=succeeded on-pr=skipped"},
		{"new branch: changes unknown", "main", "push", 0, map[string]any{"created": true, "before": strings.Repeat("0", 40), "after": sha, "commits": []commitFiles{{Modified: []string{"x"}}}},
			"succeeded always=succeeded release-only=skipped docs=succeeded on-pr=skipped"},
		{"force-push: changes unknown", "main", "push", 0, map[string]any{"forced": true, "before": strings.Repeat("2", 40), "after": sha, "commits": []commitFiles{{Modified: []string{"x"}}}},
			"succeeded always=succeeded release-only=skipped docs=succeeded on-pr=skipped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runID := h.enqueueDelivered(cloneURL, sha, tc.branch, tc.event, tc.pr, tc.payload)
			if got := states(runID); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}

	t.Run("reason recorded", func(t *testing.T) {
		runID := h.enqueueDelivered(cloneURL, sha, "main", "push", 0, push("main.go"))
		h.waitRun(runID, 2*time.Minute)
		s := h.steps(runID)[1]
		if s.Error != "filtered out: when.branches [release/**] does not match branch main" {
			t.Errorf("skipped step error %q", s.Error)
		}
	})

	t.Run("pull request diff against its base", func(t *testing.T) {
		name := "acme/prdiff"
		shas := runnertest.MakeRepo(t, h.gitRoot, name,
			map[string]string{".sentinel.yml": whenPipeline, "docs/a.md": "a\n"},
			map[string]string{"main.go": "package main\n"})
		url := h.gitURL + "/" + name + ".git"
		base, head := shas[0], shas[1]
		payload := map[string]any{"pull_request": map[string]any{"base": map[string]any{"sha": base}}}
		runID := h.enqueueDelivered(url, head, "feature", "pull_request", 3, payload)
		if got := states(runID); got != "succeeded always=succeeded release-only=skipped docs=skipped on-pr=succeeded" {
			t.Errorf("got %s", got)
		}
	})

	t.Run("everything filtered out", func(t *testing.T) {
		cloneURL, sha := h.repo(map[string]string{".sentinel.yml": "image: busybox\nwhen: {branches: [main]}\nsteps:\n  - run: echo hi\n" +
			// never started when no step runs: its image does not exist
			"services:\n  - name: db\n    image: sentinel-test/no-such-image:1\n"})
		runID := h.enqueueDelivered(cloneURL, sha, "feature/x", "push", 0, push("a"))
		run := h.waitRun(runID, 2*time.Minute)
		if run.State != store.RunSucceeded || !strings.HasPrefix(run.Error, FilteredOutPrefix) ||
			!strings.Contains(run.Error, "pipeline: when.branches [main] does not match branch feature/x") {
			t.Errorf("run %s: %q", run.State, run.Error)
		}
		if s := h.steps(runID)[0]; s.State != "skipped" {
			t.Errorf("step %s", s.State)
		}
	})
}
