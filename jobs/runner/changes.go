package runner

import (
	"context"
	"fmt"
	"strings"
)

// ChangedPaths lists the paths that differ between base and the checked-out
// commit (c.SHA), in the checkout c made. With mergeBase, as for a pull
// request, it diffs from where the head left base when the fetched history
// shows it, else from base itself (then changes made on base since count
// too: a filter then runs a step more often, never less). The fetches are
// shallow: only as much history as the answer needs.
func (c Checkout) ChangedPaths(ctx context.Context, base string, mergeBase bool) ([]string, error) {
	if !fullSHA.MatchString(base) {
		return nil, fmt.Errorf("changed paths: base %q is not a full commit SHA", base)
	}
	depth := "--depth=1"
	if mergeBase {
		depth = "--depth=200"
	}
	if _, err := c.git(ctx, "fetch", "-q", "--no-tags", depth, "origin", base); err != nil {
		return nil, err
	}
	from := base
	if mergeBase {
		// Deepen the head too, so that the common ancestor can be found.
		if _, err := c.git(ctx, "fetch", "-q", "--no-tags", depth, "origin", c.SHA); err == nil {
			if out, err := c.git(ctx, "merge-base", base, c.SHA); err == nil {
				from = strings.TrimSpace(out)
			}
		}
	}
	out, err := c.git(ctx, "-c", "core.quotePath=false", "diff", "--no-renames", "--name-only", "-z", from, c.SHA)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, p := range strings.Split(out, "\x00") {
		if p != "" {
			paths = append(paths, p)
		}
	}
	return paths, nil
}
