package app

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v62/github"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

// GitHubConfig is what talking to GitHub needs from the configuration.
type GitHubConfig struct {
	AppID      int64
	PrivateKey []byte // PEM
	// APIURL is the REST base (GITHUB_API_URL): every call, the installation
	// token endpoint included, goes there. Default https://api.github.com/.
	APIURL string
	// Transport carries the requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
}

// HasApp reports whether App credentials are configured.
func (c GitHubConfig) HasApp() bool { return c.AppID != 0 && len(c.PrivateKey) > 0 }

// NewGitHub returns what the jobs use to talk to GitHub: the real client when
// App credentials are configured, otherwise a recorder that stores every call
// in outbound_calls (with made-up ids, so the flow continues) and sends nothing.
func NewGitHub(cfg GitHubConfig, db *store.DB, log *slog.Logger) (jobs.GitHub, error) {
	if !cfg.HasApp() {
		log.Warn("no GitHub App credentials: GitHub calls are recorded in the database, not sent")
		return NewGitHubRecorder(db), nil
	}
	return NewGitHubClient(cfg)
}

// GitHubClient calls GitHub as the App: an App transport (JWT) for app-level
// calls and one cached installation transport per installation, whose token
// ghinstallation refreshes a minute before it expires.
type GitHubClient struct {
	apps    *ghinstallation.AppsTransport
	baseURL *url.URL
	app     *github.Client

	mu            sync.Mutex
	installations map[int64]*github.Client
}

// NewGitHubClient checks the key and the URL and builds the App client.
func NewGitHubClient(cfg GitHubConfig) (*GitHubClient, error) {
	if !cfg.HasApp() {
		return nil, fmt.Errorf("github: GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY are both required")
	}
	base, err := apiBaseURL(cfg.APIURL)
	if err != nil {
		return nil, err
	}
	tr := cfg.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	apps, err := ghinstallation.NewAppsTransport(tr, cfg.AppID, cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("github: GITHUB_APP_PRIVATE_KEY: %w", err)
	}
	apps.BaseURL = strings.TrimSuffix(base.String(), "/")
	c := &GitHubClient{apps: apps, baseURL: base, installations: map[int64]*github.Client{}}
	c.app = c.newClient(apps)
	return c, nil
}

func apiBaseURL(raw string) (*url.URL, error) {
	if raw == "" {
		raw = "https://api.github.com/"
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("github: GITHUB_API_URL %q is not an http(s) URL", raw)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

func (c *GitHubClient) newClient(tr http.RoundTripper) *github.Client {
	gc := github.NewClient(&http.Client{Transport: tr, Timeout: 60 * time.Second})
	b := *c.baseURL
	gc.BaseURL = &b
	u := *c.baseURL
	gc.UploadURL = &u
	return gc
}

// App returns the client for app-level calls (authenticated with the App's JWT).
func (c *GitHubClient) App() *github.Client { return c.app }

// Installation returns the cached client of one installation.
func (c *GitHubClient) Installation(id int64) (*github.Client, error) {
	if id == 0 {
		return nil, &jobs.GitHubError{Op: "authenticate", StatusCode: http.StatusNotFound, Message: "the repository has no GitHub App installation"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gc := c.installations[id]; gc != nil {
		return gc, nil
	}
	itr := ghinstallation.NewFromAppsTransport(c.apps, id)
	itr.BaseURL = c.apps.BaseURL
	// Without options ghinstallation posts the body "null"; GitHub's
	// description wants an object.
	itr.InstallationTokenOptions = &github.InstallationTokenOptions{}
	gc := c.newClient(itr)
	c.installations[id] = gc
	return gc, nil
}
