package githubapp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Setup serves the pages of `sentinel setup`, which registers Sentinel's GitHub App from a
// manifest: GET / (Start) shows what will be registered and posts the manifest to GitHub; GitHub
// sends the browser back to GET /callback?code=...&state=... (Callback); the code is converted
// into credentials on the API and saved under the data dir. app.SetupHandler registers the two
// routes. It is meant to listen on loopback only.
type Setup struct {
	newAppURL string // GitHub page the manifest is posted to
	apiURL    string
	manifest  Manifest
	dataDir   string
	force     bool
	client    *http.Client
	log       *slog.Logger
	state     string

	mu    sync.Mutex // one conversion at a time: a code works once
	saved *SavedApp
	done  chan SavedApp
}

// SetupConfig is what NewSetup needs.
type SetupConfig struct {
	GitHubURL  string // web base: https://github.com, or a GitHub Enterprise Server host
	APIURL     string // REST base: https://api.github.com/ (GHES: https://HOST/api/v3/)
	Org        string // register under this organisation; empty for the user's own account
	Manifest   Manifest
	DataDir    string
	Force      bool         // replace credentials saved by an earlier setup
	HTTPClient *http.Client // nil means http.DefaultClient
	Logger     *slog.Logger
}

// NewSetup checks the configuration and draws the state value that ties GitHub's redirect
// to this setup session (a forged redirect cannot make it save someone else's App).
func NewSetup(cfg SetupConfig) (*Setup, error) {
	newAppURL, err := NewAppURL(cfg.GitHubURL, cfg.Org)
	if err != nil {
		return nil, err
	}
	m := cfg.Manifest
	switch {
	case m.URL == "":
		return nil, errors.New("manifest: the App needs a homepage URL")
	case m.HookAttributes.URL == "":
		return nil, errors.New("manifest: the App needs a public webhook URL (create a smee channel at https://smee.io/new)")
	case m.RedirectURL == "":
		return nil, errors.New("manifest: no redirect URL to come back to")
	case cfg.DataDir == "":
		return nil, errors.New("no data dir to save the credentials in")
	}
	state := make([]byte, 16)
	if _, err := rand.Read(state); err != nil {
		return nil, err
	}
	s := &Setup{
		newAppURL: newAppURL, apiURL: cfg.APIURL, manifest: m, dataDir: cfg.DataDir, force: cfg.Force,
		client: cfg.HTTPClient, log: cfg.Logger, state: hex.EncodeToString(state), done: make(chan SavedApp, 1),
	}
	if s.client == nil {
		s.client = http.DefaultClient
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Done delivers the saved App once the credentials are on disk.
func (s *Setup) Done() <-chan SavedApp { return s.done }

// Start serves the start page, GET / (and HEAD): what will be registered, and the form that
// posts the manifest to GitHub.
func (s *Setup) Start(w http.ResponseWriter, _ *http.Request) {
	manifest, err := json.Marshal(s.manifest)
	if err != nil {
		s.page(w, http.StatusInternalServerError, setupPage{Error: err.Error()})
		return
	}
	s.page(w, http.StatusOK, setupPage{
		Action:      s.newAppURL + "?state=" + s.state,
		Manifest:    string(manifest),
		Name:        s.manifest.Name,
		WebhookURL:  s.manifest.HookAttributes.URL,
		Permissions: sortedPermissions(s.manifest.DefaultPermissions),
		Events:      s.manifest.DefaultEvents,
	})
}

// Callback serves GET /callback, where GitHub sends the browser back with the one-time code.
func (s *Setup) Callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(s.state)) != 1 {
		s.page(w, http.StatusBadRequest, setupPage{Error: "This answer does not belong to this setup session (state mismatch). Start again from the setup page."})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.saved != nil {
		s.page(w, http.StatusOK, setupPage{Saved: s.saved})
		return
	}
	code := q.Get("code")
	if !manifestCodePattern.MatchString(code) {
		s.page(w, http.StatusBadRequest, setupPage{Error: "GitHub's answer carries no valid code. Start again from the setup page."})
		return
	}
	creds, err := ConvertManifestCode(r.Context(), s.client, s.apiURL, code)
	if err != nil {
		s.log.Error("setup: manifest conversion failed", "err", err)
		status := http.StatusBadGateway
		if errors.Is(err, ErrManifestCodeRejected) {
			status = http.StatusBadRequest
		}
		s.page(w, status, setupPage{Error: err.Error()})
		return
	}
	saved, err := SaveCredentials(s.dataDir, creds, s.apiURL, s.force)
	if err != nil {
		// The App now exists on GitHub but its key is not stored: say exactly that.
		s.log.Error("setup: saving credentials failed", "err", err, "app_id", creds.ID)
		s.page(w, http.StatusInternalServerError, setupPage{Error: fmt.Sprintf(
			"GitHub created App %d (%s) but its credentials could not be saved: %v. Delete the App on GitHub and run setup again.",
			creds.ID, creds.HTMLURL, err)})
		return
	}
	s.saved = &saved
	s.log.Info("setup: GitHub App registered", "app_id", creds.ID, "slug", creds.Slug, "env_file", saved.EnvFile)
	s.done <- saved
	s.page(w, http.StatusOK, setupPage{Saved: &saved})
}

type permission struct{ Name, Access string }

func sortedPermissions(m map[string]string) []permission {
	out := make([]permission, 0, len(m))
	for k, v := range m {
		out = append(out, permission{k, v})
	}
	slices.SortFunc(out, func(a, b permission) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// InstallURL is where the App's owner picks the repositories it may see.
func (s SavedApp) InstallURL() string {
	return strings.TrimSuffix(s.Credentials.HTMLURL, "/") + "/installations/new"
}
