package githubapp

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/google/go-github/v62/github"
)

// Manifest is the document GitHub's manifest flow registers an App from
// (https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest).
type Manifest struct {
	Name               string            `json:"name,omitempty"`
	URL                string            `json:"url"`
	Description        string            `json:"description,omitempty"`
	HookAttributes     HookAttributes    `json:"hook_attributes"`
	RedirectURL        string            `json:"redirect_url"`
	Public             bool              `json:"public"`
	DefaultPermissions map[string]string `json:"default_permissions"`
	DefaultEvents      []string          `json:"default_events"`
}

// HookAttributes is where GitHub sends the App's webhooks.
type HookAttributes struct {
	URL    string `json:"url"`
	Active bool   `json:"active"`
}

// SentinelPermissions are the permissions Sentinel's App asks for: it writes check runs and
// issues, reads code to clone it, and writes pull requests (comments, and quarantine
// proposals: a branch of its own with a commit to .sentinel/quarantine.yml, never the
// default branch) — which needs contents write.
func SentinelPermissions() map[string]string {
	return map[string]string{
		"checks":        "write",
		"issues":        "write",
		"contents":      "write",
		"pull_requests": "write",
		"metadata":      "read",
	}
}

// SentinelEvents are the webhook events Sentinel's App subscribes to. installation and
// installation_repositories are deliberately absent: GitHub delivers them to every App anyway
// and rejects a manifest that lists them ("Default events unsupported: installation").
func SentinelEvents() []string {
	return []string{"push", "pull_request", "check_suite", "check_run"}
}

// NewSentinelManifest describes Sentinel's App: name (editable on GitHub's form), homepage,
// the public URL GitHub posts webhooks to (a smee channel when running on a laptop) and where
// GitHub sends the browser back with the one-time code.
func NewSentinelManifest(name, homepageURL, webhookURL, redirectURL string) Manifest {
	return Manifest{
		Name:               name,
		URL:                homepageURL,
		Description:        "Sentinel: self-hosted CI that explains its failures.",
		HookAttributes:     HookAttributes{URL: webhookURL, Active: true},
		RedirectURL:        redirectURL,
		DefaultPermissions: SentinelPermissions(),
		DefaultEvents:      SentinelEvents(),
	}
}

// NewAppURL is the page the manifest is posted to: the user's account, or an organisation's.
func NewAppURL(githubURL, org string) (string, error) {
	u, err := url.Parse(strings.TrimSuffix(githubURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("GitHub URL %q: want http(s)://HOST", githubURL)
	}
	if org == "" {
		return u.String() + "/settings/apps/new", nil
	}
	if !githubLoginPattern.MatchString(org) {
		return "", fmt.Errorf("organisation %q is not a valid GitHub login", org)
	}
	return u.String() + "/organizations/" + org + "/settings/apps/new", nil
}

var (
	githubLoginPattern  = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	manifestCodePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,200}$`)
)

// Credentials is what GitHub hands over once, when the manifest code is converted.
type Credentials struct {
	ID            int64
	Slug          string
	Name          string
	Owner         string
	HTMLURL       string
	ClientID      string
	ClientSecret  string
	WebhookSecret string
	PEM           string
}

// ErrManifestCodeRejected means GitHub did not accept the code: it expired (codes last one
// hour), was already used, or never existed.
var ErrManifestCodeRejected = errors.New("GitHub rejected the manifest code: it expired (codes last one hour) or was already used")

// ConvertManifestCode calls POST /app-manifests/{code}/conversions on apiURL and checks that the
// answer holds everything Sentinel needs to run as the App.
func ConvertManifestCode(ctx context.Context, hc *http.Client, apiURL, code string) (Credentials, error) {
	if !manifestCodePattern.MatchString(code) {
		return Credentials{}, fmt.Errorf("manifest code %q: want letters, digits, '-' or '_'", code)
	}
	client := github.NewClient(hc)
	base, err := url.Parse(strings.TrimSuffix(apiURL, "/") + "/")
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return Credentials{}, fmt.Errorf("GitHub API URL %q: want http(s)://HOST/...", apiURL)
	}
	client.BaseURL = base
	cfg, resp, err := client.Apps.CompleteAppManifest(ctx, code)
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusUnprocessableEntity) {
			return Credentials{}, fmt.Errorf("%w (%s)", ErrManifestCodeRejected, resp.Status)
		}
		return Credentials{}, fmt.Errorf("converting the manifest code: %w", err)
	}
	c := Credentials{
		ID:            cfg.GetID(),
		Slug:          cfg.GetSlug(),
		Name:          cfg.GetName(),
		Owner:         cfg.GetOwner().GetLogin(),
		HTMLURL:       cfg.GetHTMLURL(),
		ClientID:      cfg.GetClientID(),
		ClientSecret:  cfg.GetClientSecret(),
		WebhookSecret: cfg.GetWebhookSecret(),
		PEM:           cfg.GetPEM(),
	}
	return c, c.validate()
}

func (c Credentials) validate() error {
	var problems []string
	if c.ID <= 0 {
		problems = append(problems, "no App id")
	}
	if block, _ := pem.Decode([]byte(c.PEM)); block == nil || !strings.Contains(block.Type, "PRIVATE KEY") {
		problems = append(problems, "no PEM private key")
	}
	if c.WebhookSecret == "" {
		// Sentinel refuses to start with an App and no secret; better to say so now.
		problems = append(problems, "no webhook secret (was the manifest's webhook URL missing?)")
	}
	if len(problems) > 0 {
		return fmt.Errorf("GitHub's answer is incomplete: %s", strings.Join(problems, ", "))
	}
	return nil
}
