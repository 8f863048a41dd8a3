package intake

import (
	"fmt"
	"net/url"
	"strings"
)

// What a payload names is used in GitHub API paths, git command lines and
// clone URLs, so it is checked here, before anything is stored or run: a
// delivery that fails is recorded as malformed and acts on nothing.

// validSHA reports whether s is a full commit id: 40 (SHA-1) or 64
// (SHA-256) lower- or upper-case hex digits.
func validSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// validRefName applies git check-ref-format's rules to a ref or branch
// name: no "..", "@{", "//", control characters, space or any of ~^:?*[\;
// no component that starts with "." or ends with ".lock"; no leading "-"
// or "/", no trailing "/" or "."; not "@".
func validRefName(s string) bool {
	if s == "" || s == "@" || len(s) > 1024 || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "/") ||
		strings.HasSuffix(s, "/") || strings.HasSuffix(s, ".") ||
		strings.Contains(s, "..") || strings.Contains(s, "@{") || strings.Contains(s, "//") ||
		strings.ContainsAny(s, " ~^:?*[\\") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	for _, part := range strings.Split(s, "/") {
		if strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return false
		}
	}
	return true
}

// checkCloneURL accepts an absolute http(s) URL without credentials: a
// payload's clone_url is fetched by the runner, and file://, ssh:// or
// ext:: URLs would make it read the host or run commands.
func checkCloneURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return fmt.Errorf("repository clone_url %q is not an http(s) URL", s)
	}
	return nil
}

// checkRun checks the commit, ref and clone URL of a run a payload asks for.
func checkRun(r *EventRun) error {
	if !validSHA(r.SHA) {
		return fmt.Errorf("commit %q is not a 40 or 64 digit hex SHA", r.SHA)
	}
	if !validRefName(r.Ref) || (r.Branch != "" && !validRefName(r.Branch)) {
		return fmt.Errorf("ref %q (branch %q) is not a valid git ref", r.Ref, r.Branch)
	}
	if r.CloneURL != "" {
		return checkCloneURL(r.CloneURL)
	}
	return nil
}

// checkRerun checks the commit and branch of a re-run request; GitHub leaves
// the branch out for some check suites.
func checkRerun(sha, branch string) error {
	if !validSHA(sha) {
		return fmt.Errorf("commit %q is not a 40 or 64 digit hex SHA", sha)
	}
	if branch != "" && !validRefName(branch) {
		return fmt.Errorf("branch %q is not a valid git ref", branch)
	}
	return nil
}

// appendRepo adds a repository an installation event names, once its clone
// URL (when given) passes checkCloneURL.
func appendRepo(ev *Event, r EventRepo) error {
	if r.CloneURL != "" {
		if err := checkCloneURL(r.CloneURL); err != nil {
			return err
		}
	}
	ev.Repos = append(ev.Repos, r)
	return nil
}
