package runner

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/sentinel-ci/sentinel/triage"
)

// Commit is one commit of a range of history.
type Commit struct {
	SHA    string
	Author string // the author's name, as the commit records it
}

// History fetches the whole history of c.SHA into c.Dir (which it creates,
// as Run does) and returns the commits after good up to c.SHA on the
// first-parent line, oldest first: the pushes and merges of a default
// branch, in the order they landed. A good commit that is not an ancestor
// of c.SHA (a force-push rewrote history) is a *DataError.
func (c Checkout) History(ctx context.Context, good string) ([]Commit, error) {
	if !fullSHA.MatchString(c.SHA) || !fullSHA.MatchString(good) {
		return nil, fmt.Errorf("history: %q..%q are not full commit SHAs", good, c.SHA)
	}
	remote, err := cleanRemote(c.CloneURL)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, infra("create history directory", err)
	}
	if _, err := c.git(ctx, "init", "-q"); err != nil {
		return nil, err
	}
	if err := addOrigin(c.Dir, remote); err != nil {
		return nil, infra("history", err)
	}
	// Commits and trees only: the range's files are never read here
	// (a server that does not filter sends them, and git says so).
	if _, err := c.git(ctx, "fetch", "-q", "--no-tags", "--filter=blob:none", "origin", c.SHA); err != nil {
		if de := c.unreachable(ctx, remote, err); de != nil {
			return nil, de
		}
		// Servers that refuse wants by SHA, as in Run.
		if _, err2 := c.git(ctx, "fetch", "-q", "--no-tags", "--filter=blob:none", "origin", "+refs/heads/*:refs/remotes/origin/*"); err2 != nil {
			return nil, err2
		}
	}
	for _, sha := range []string{c.SHA, good} {
		if _, err := c.git(ctx, "cat-file", "-e", sha+"^{commit}"); err != nil && context.Cause(ctx) == nil {
			return nil, &DataError{Msg: fmt.Sprintf("history: commit %s is not in %s", sha, remote)}
		}
	}
	if _, err := c.git(ctx, "merge-base", "--is-ancestor", good, c.SHA); err != nil && context.Cause(ctx) == nil {
		return nil, &DataError{Msg: fmt.Sprintf("history: %s is not an ancestor of %s", triage.ShortSHA(good), triage.ShortSHA(c.SHA))}
	}
	out, err := c.git(ctx, "log", "--first-parent", "--ancestry-path", "--reverse", "--format=%H%x1f%an", good+".."+c.SHA)
	if err != nil {
		return nil, err
	}
	var commits []Commit
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		sha, author, ok := strings.Cut(line, "\x1f")
		if ok {
			commits = append(commits, Commit{SHA: sha, Author: author})
		}
	}
	return commits, nil
}
