package intake

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// CloneHosts says where the runner may fetch code from: the web host of the
// GitHub Sentinel serves (a payload naming another host would make the
// runner fetch, and so run, code from anywhere), and loopback hosts only
// when local repositories are allowed (SENTINEL_ALLOW_LOCAL_REPOS).
type CloneHosts struct {
	GitHub     string // host[:port], as WebHost gives it; "" is github.com
	AllowLocal bool
}

// WebHost is the host that serves a GitHub's repositories, from its REST
// base URL (GITHUB_API_URL): github.com for api.github.com, the same host
// for GitHub Enterprise Server (https://HOST/api/v3/).
func WebHost(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil || u.Host == "" {
		return "github.com"
	}
	host := strings.ToLower(u.Host)
	if h, ok := strings.CutPrefix(host, "api."); ok && h == "github.com" {
		return h
	}
	return host
}

// Check refuses an http(s) clone URL on any host but the GitHub one or,
// when allowed, a loopback one. checkCloneURL has already refused other
// schemes and credentials.
func (h CloneHosts) Check(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("clone_url %q is not a URL", raw)
	}
	gh := h.GitHub
	if gh == "" {
		gh = "github.com"
	}
	host := strings.ToLower(u.Host)
	switch {
	case host == gh || (u.Port() == "" && u.Scheme == "https" && host+":443" == gh):
		return nil
	case IsLoopback(u.Hostname()):
		if h.AllowLocal {
			return nil
		}
		return fmt.Errorf("clone_url %q is a local repository, allowed only with SENTINEL_ALLOW_LOCAL_REPOS=true", raw)
	}
	return fmt.Errorf("clone_url %q is not on %s, the GitHub this Sentinel serves", raw, gh)
}

// IsLoopback reports whether host names this machine.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkEvent applies Check to every clone URL a parsed delivery carries.
func (h CloneHosts) checkEvent(ev *Event) error {
	if ev == nil {
		return nil
	}
	urls := []string{}
	if ev.Repo != nil {
		urls = append(urls, ev.Repo.CloneURL)
	}
	if ev.Run != nil {
		urls = append(urls, ev.Run.CloneURL)
	}
	for _, r := range ev.Repos {
		urls = append(urls, r.CloneURL)
	}
	for _, u := range urls {
		if u == "" {
			continue
		}
		if err := h.Check(u); err != nil {
			return err
		}
	}
	return nil
}
