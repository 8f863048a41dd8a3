package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
)

// maxPushCommits is how many commits GitHub lists in a push delivery; a
// push listing that many may have had more, so its changes come from git.
const maxPushCommits = 20

// pushChanges is what a push or pull_request delivery says about changes.
type pushChanges struct {
	Created bool   `json:"created"`
	Deleted bool   `json:"deleted"`
	Forced  bool   `json:"forced"`
	Before  string `json:"before"`
	After   string `json:"after"`
	Commits []struct {
		Added    []string `json:"added"`
		Removed  []string `json:"removed"`
		Modified []string `json:"modified"`
	} `json:"commits"`
	PullRequest *struct {
		Base struct {
			SHA string `json:"sha"`
		} `json:"base"`
	} `json:"pull_request"`
}

// facts are what the run's when: filters decide on. The changed paths are
// worked out only when a filter asks for them.
func (ex *execution) facts(ctx context.Context, p *runner.Pipeline, co runner.Checkout) runner.Facts {
	f := runner.Facts{Branch: ex.run.Branch, Event: string(ex.run.Trigger)}
	needs := p.When.NeedsChanges()
	for _, s := range p.Steps {
		needs = needs || s.When.NeedsChanges()
	}
	if needs {
		changed, known, err := ex.changedPaths(ctx, co)
		if err != nil {
			// Not knowing costs only that path filters let their steps run.
			ex.log.Warn("working out the changed paths; path filters will not skip", "err", runner.MaskString(err.Error(), ex.secrets))
		}
		f.Changed, f.ChangedKnown = changed, known && err == nil
	}
	return f
}

// changedPaths reads the changes from the run's delivery: a push's commits
// (git when GitHub may have left some out), a pull request's diff against
// its base. known is false for a new branch, a force-push, a deletion, or
// a run no delivery started (API, re-runs).
func (ex *execution) changedPaths(ctx context.Context, co runner.Checkout) (paths []string, known bool, err error) {
	if ex.run.DeliveryID == "" {
		return nil, false, nil
	}
	d, err := store.GetDelivery(ctx, ex.w.DB, ex.run.DeliveryID)
	if err != nil {
		return nil, false, err
	}
	var pc pushChanges
	if err := json.Unmarshal(d.Payload, &pc); err != nil {
		return nil, false, fmt.Errorf("delivery %s: %w", d.DeliveryID, err)
	}
	switch d.Event {
	case "push":
		if pc.Created || pc.Deleted || pc.Forced || len(pc.Commits) == 0 || zeroSHA(pc.Before) || pc.After != ex.run.SHA {
			return nil, false, nil
		}
		if len(pc.Commits) >= maxPushCommits {
			paths, err := co.ChangedPaths(ctx, pc.Before, false)
			return paths, err == nil, err
		}
		seen := map[string]bool{}
		for _, c := range pc.Commits {
			for _, list := range [][]string{c.Added, c.Removed, c.Modified} {
				for _, p := range list {
					if !seen[p] {
						seen[p] = true
						paths = append(paths, p)
					}
				}
			}
		}
		return paths, true, nil
	case "pull_request":
		if pc.PullRequest == nil || zeroSHA(pc.PullRequest.Base.SHA) {
			return nil, false, nil
		}
		paths, err := co.ChangedPaths(ctx, pc.PullRequest.Base.SHA, true)
		return paths, err == nil, err
	}
	return nil, false, nil
}

func zeroSHA(s string) bool { return strings.Trim(s, "0") == "" }
