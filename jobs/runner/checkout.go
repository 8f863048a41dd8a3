package runner

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
)

// Checkout describes one commit to materialise in a workspace.
type Checkout struct {
	CloneURL string // https://github.com/owner/repo.git, or http(s)/file URL of any git server
	SHA      string // full commit id
	Token    string // installation token; empty for public or local repositories
	Dir      string // workspace directory; created, must be empty if it exists
}

var fullSHA = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// Run clones exactly c.SHA into c.Dir, shallow when the server allows
// fetching a commit by id (GitHub does), full otherwise. The token travels
// only in the git processes' environment as an HTTP header: never in argv,
// never in .git/config, never in the workspace the steps see. A commit or
// repository that is not there is a *DataError (the run's problem, not
// retried); other failures are *InfraError, the machinery's problem.
func (c Checkout) Run(ctx context.Context) error {
	if !fullSHA.MatchString(c.SHA) {
		return fmt.Errorf("checkout: %q is not a full commit SHA", c.SHA)
	}
	remote, err := cleanRemote(c.CloneURL)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return infra("create workspace", err)
	}
	if _, err := c.git(ctx, "init", "-q"); err != nil {
		return err
	}
	// The remote is written directly rather than with `git remote add`: one
	// process less on every run, and the URL stored is the plain one.
	if err := addOrigin(c.Dir, remote); err != nil {
		return infra("checkout", err)
	}
	if _, err := c.git(ctx, "fetch", "-q", "--no-tags", "--depth=1", "origin", c.SHA); err != nil {
		if de := c.unreachable(ctx, remote, err); de != nil {
			return de
		}
		// Servers that refuse wants by SHA: fetch the branches and pull
		// requests, then find the commit among them.
		if _, err2 := c.git(ctx, "fetch", "-q", "--no-tags", "origin",
			"+refs/heads/*:refs/remotes/origin/*", "+refs/pull/*/head:refs/remotes/origin/pr/*"); err2 != nil {
			if de := c.unreachable(ctx, remote, err2); de != nil {
				return de
			}
			return errors.Join(err, err2)
		}
	}
	// Checking out a full SHA either fails or leaves HEAD exactly there.
	_, err = c.git(ctx, "-c", "advice.detachedHead=false", "checkout", "-q", "--detach", c.SHA)
	if err != nil && context.Cause(ctx) == nil {
		// The server answered and gave what it has: a commit that is not
		// among it is not there.
		if _, missing := c.git(ctx, "cat-file", "-e", c.SHA+"^{commit}"); missing != nil && context.Cause(ctx) == nil {
			return &DataError{Msg: fmt.Sprintf("checkout: commit %s is not in %s", c.SHA, remote)}
		}
	}
	return err
}

// unreachable turns a fetch error that names the clone URL as the problem
// (no such host, nothing listening, no repository there) into a
// *DataError; nil for anything else (time-outs, server errors, refused
// credentials, a full disk), which stays an infrastructure error.
func (c Checkout) unreachable(ctx context.Context, remote string, err error) error {
	if context.Cause(ctx) != nil || errors.Is(err, syscall.ENOSPC) {
		return nil
	}
	m := strings.ToLower(err.Error())
	why := ""
	switch {
	case strings.Contains(m, "timed out") || strings.Contains(m, "returned error: 5"):
		return nil
	case strings.Contains(m, "could not resolve host"):
		why = "its host name does not resolve"
	case strings.Contains(m, "connection refused") || strings.Contains(m, "couldn't connect") ||
		strings.Contains(m, "could not connect") || strings.Contains(m, "failed to connect"):
		why = "nothing answers at its host"
	case strings.Contains(m, "returned error: 404") || strings.Contains(m, "repository not found") ||
		(strings.Contains(m, "repository '") && strings.Contains(m, "' not found")) ||
		strings.Contains(m, "does not appear to be a git repository"):
		why = "no repository is there"
	default:
		return nil
	}
	var ie *InfraError
	if errors.As(err, &ie) {
		err = ie.Err // git's words, without the infrastructure label
	}
	return &DataError{Msg: fmt.Sprintf("checkout: clone URL %s is unreachable: %s", remote, why), Err: err}
}

// addOrigin appends the origin remote to a fresh repository's config.
func addOrigin(dir, remote string) error {
	if strings.ContainsAny(remote, "\"\n\\") {
		return fmt.Errorf("clone URL %q has characters git config cannot hold", remote)
	}
	f, err := os.OpenFile(filepath.Join(dir, ".git", "config"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "[remote \"origin\"]\n\turl = \"%s\"\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n", remote)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// cleanRemote refuses URLs that carry credentials or could be read as an
// option, so that what lands in .git/config is the plain clone URL.
func cleanRemote(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || strings.HasPrefix(raw, "-") {
		return "", fmt.Errorf("checkout: bad clone URL %q", raw)
	}
	switch u.Scheme {
	case "https", "http", "file":
	default:
		return "", fmt.Errorf("checkout: clone URL scheme %q is not http(s) or file", u.Scheme)
	}
	if u.User != nil {
		return "", errors.New("checkout: clone URL must not carry credentials; pass the token separately")
	}
	return u.String(), nil
}

func (c Checkout) git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = c.Dir
	cmd.Env = c.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return "", fmt.Errorf("git %s: %w", args[0], cause)
		}
		msg := strings.TrimSpace(stderr.String())
		if c.Token != "" {
			msg = strings.ReplaceAll(msg, c.Token, "***")
		}
		if strings.Contains(msg, "No space left on device") {
			err = syscall.ENOSPC
		}
		return "", infra("git "+args[0], fmt.Errorf("%w: %s", err, msg))
	}
	return stdout.String(), nil
}

// env is the host environment without any git configuration of its own,
// plus the credentials as an http.extraHeader given through GIT_CONFIG_*.
func (c Checkout) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "GIT_CONFIG_NOSYSTEM=1")
	keys := [][2]string{{"credential.helper", ""}, {"protocol.version", "2"}}
	if c.Token != "" {
		basic := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + c.Token))
		keys = append(keys, [2]string{"http.extraHeader", "Authorization: Basic " + basic})
	}
	env = append(env, fmt.Sprintf("GIT_CONFIG_COUNT=%d", len(keys)))
	for i, kv := range keys {
		env = append(env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
	}
	return env
}
