// Package githubapp talks to GitHub as Sentinel's App: the client (ghinstallation
// for the App's JWT and installation tokens, go-github for the calls), the
// recorder that stands in for it without credentials, the translation of
// GitHub's answers into *jobs.GitHubError, and the App-manifest setup that
// registers the App and saves its credentials. Both the client and the
// recorder implement jobs.GitHub, the interface the workers need.
package githubapp

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

// Config is what talking to GitHub needs from the configuration.
type Config struct {
	AppID      int64
	PrivateKey []byte // PEM
	// APIURL is the REST base (GITHUB_API_URL): every call, the installation
	// token endpoint included, goes there. Default https://api.github.com/.
	APIURL string
	// Transport carries the requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
}

// HasApp reports whether App credentials are configured.
func (c Config) HasApp() bool { return c.AppID != 0 && len(c.PrivateKey) > 0 }

// New returns what the jobs use to talk to GitHub: the real client when
// App credentials are configured, otherwise a recorder that stores every call
// in outbound_calls (with made-up ids, so the flow continues) and sends nothing.
func New(cfg Config, db *store.DB, log *slog.Logger) (jobs.GitHub, error) {
	if !cfg.HasApp() {
		log.Warn("no GitHub App credentials: GitHub calls are recorded in the database, not sent")
		return NewRecorder(db), nil
	}
	return NewClient(cfg)
}

// Client calls GitHub as the App: an App transport (JWT) for app-level
// calls and one cached installation transport per installation, whose token
// ghinstallation refreshes a minute before it expires.
type Client struct {
	apps    *ghinstallation.AppsTransport
	baseURL *url.URL
	app     *github.Client

	mu            sync.Mutex
	installations map[int64]*github.Client
}

// NewClient checks the key and the URL and builds the App client.
func NewClient(cfg Config) (*Client, error) {
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
	c := &Client{apps: apps, baseURL: base, installations: map[int64]*github.Client{}}
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

func (c *Client) newClient(tr http.RoundTripper) *github.Client {
	gc := github.NewClient(&http.Client{Transport: tr, Timeout: 60 * time.Second})
	b := *c.baseURL
	gc.BaseURL = &b
	u := *c.baseURL
	gc.UploadURL = &u
	return gc
}

// App returns the client for app-level calls (authenticated with the App's JWT).
func (c *Client) App() *github.Client { return c.app }

// Installation returns the cached client of one installation.
func (c *Client) Installation(id int64) (*github.Client, error) {
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
