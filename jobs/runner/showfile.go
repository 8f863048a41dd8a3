package runner

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os/exec"
)

// ErrNoLocalCopy is ShowFile's answer for a repository Sentinel has no
// copy of on this machine: one cloned over the network exists here only
// while a run checks it out.
var ErrNoLocalCopy = errors.New("no copy of the repository on this server")

// ShowFile reads a file as it is at commit sha from a repository on this
// machine (a file:// clone URL). ok is false when the commit has no such
// file (or the commit is not there).
func ShowFile(ctx context.Context, cloneURL, sha, name string) (data []byte, ok bool, err error) {
	u, err := url.Parse(cloneURL)
	if err != nil || u.Scheme != "file" || u.Path == "" {
		return nil, false, ErrNoLocalCopy
	}
	if !fullSHA.MatchString(sha) {
		return nil, false, errors.New("show file: the commit must be a full SHA")
	}
	cmd := exec.CommandContext(ctx, "git", "-C", u.Path, "show", "--no-textconv", sha+":"+name)
	cmd.Env = Checkout{}.env()
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return nil, false, nil // no such file, commit or repository
		}
		return nil, false, err
	}
	return out.Bytes(), true, nil
}
