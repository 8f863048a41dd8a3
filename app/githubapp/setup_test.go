package githubapp

import (
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func init() {
	// Other test files of this package may define -update too; define it only once.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata/")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// checkGolden compares got with testdata/NAME, or rewrites it under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updateGolden() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

const fakeAppPEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----\n"

// fakeGitHub plays github.com's "new App" page and the manifest-conversion endpoint: the page
// reads the posted manifest and sends the browser to its redirect_url with a one-time code.
type fakeGitHub struct {
	srv *httptest.Server

	mu          sync.Mutex
	manifests   []Manifest
	newAppPaths []string
	conversions int
	codes       map[string]bool // unused codes
	answer      func(code string) (int, any)
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{codes: map[string]bool{}}
	f.answer = func(code string) (int, any) {
		return http.StatusCreated, map[string]any{
			"id": 4242, "slug": "sentinel-test", "name": "sentinel-test", "node_id": "A_1",
			"owner":    map[string]any{"login": "octocat"},
			"html_url": f.srv.URL + "/apps/sentinel-test", "client_id": "Iv1.abc", "client_secret": "cs-1",
			"webhook_secret": "whsec-" + code, "pem": fakeAppPEM,
		}
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

var conversionPath = regexp.MustCompile(`^/api/v3/app-manifests/([^/]+)/conversions$`)

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/settings/apps/new") {
		var m Manifest
		if err := json.Unmarshal([]byte(r.PostFormValue("manifest")), &m); err != nil {
			http.Error(w, "invalid manifest: "+err.Error(), http.StatusUnprocessableEntity)
			return
		}
		f.manifests = append(f.manifests, m)
		f.newAppPaths = append(f.newAppPaths, r.URL.Path)
		code := fmt.Sprintf("code%d", len(f.manifests))
		f.codes[code] = true
		back := m.RedirectURL + "?" + url.Values{"code": {code}, "state": {r.URL.Query().Get("state")}}.Encode()
		http.Redirect(w, r, back, http.StatusFound)
		return
	}
	if m := conversionPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodPost {
		f.conversions++
		if !f.codes[m[1]] {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`)
			return
		}
		delete(f.codes, m[1]) // a code converts once
		status, body := f.answer(m[1])
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(body)
		return
	}
	http.NotFound(w, r)
}

// setupRoutes mounts the handlers on the routes app.SetupHandler gives them (app imports this
// package, so these tests cannot call it; cmd/sentinel's setup test goes through it).
func setupRoutes(s *Setup) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.Start) // GET patterns match HEAD too
	mux.HandleFunc("GET /callback", s.Callback)
	return mux
}

// startSetup serves a Setup on a loopback listener whose address is the manifest's
// redirect target, as `sentinel setup` does.
func startSetup(t *testing.T, gh *fakeGitHub, dataDir, org string, force bool) (*Setup, *httptest.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	manifest := NewSentinelManifest("sentinel-test", "http://localhost:8080",
		"https://smee.io/AbCdEf123456", "http://"+srv.Listener.Addr().String()+"/callback")
	setup, err := NewSetup(SetupConfig{
		GitHubURL: gh.srv.URL, APIURL: gh.srv.URL + "/api/v3/", Org: org, Manifest: manifest,
		DataDir: dataDir, Force: force, HTTPClient: gh.srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = setupRoutes(setup)
	srv.Start()
	t.Cleanup(srv.Close)
	return setup, srv
}

var (
	formAction   = regexp.MustCompile(`<form action="([^"]+)" method="post">`)
	formManifest = regexp.MustCompile(`name="manifest" value="([^"]+)"`)
)

// submitManifest does what the browser does: load the setup page, post its form to GitHub and
// follow GitHub's redirect back to the callback. It returns the final page.
func submitManifest(t *testing.T, setupURL string) (int, string) {
	t.Helper()
	resp, err := http.Get(setupURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	action, manifest := formAction.FindSubmatch(page), formManifest.FindSubmatch(page)
	if action == nil || manifest == nil {
		t.Fatalf("setup page has no manifest form:\n%s", page)
	}
	resp, err = http.PostForm(html.UnescapeString(string(action[1])), url.Values{"manifest": {html.UnescapeString(string(manifest[1]))}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	final, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(final)
}

func TestAppSetupRegistersAndSaves(t *testing.T) {
	t.Parallel()
	gh := newFakeGitHub(t)
	dataDir := t.TempDir()
	setup, srv := startSetup(t, gh, dataDir, "", false)

	status, page := submitManifest(t, srv.URL)
	if status != http.StatusOK || !strings.Contains(page, "is registered") {
		t.Fatalf("final page: status %d\n%s", status, page)
	}
	var saved SavedApp
	select {
	case saved = <-setup.Done():
	default:
		t.Fatal("Done delivered nothing after a successful registration")
	}

	gh.mu.Lock()
	manifests, paths := gh.manifests, gh.newAppPaths
	gh.mu.Unlock()
	if diff := cmp.Diff([]string{"/settings/apps/new"}, paths); diff != "" {
		t.Errorf("manifest posted to (-want +got):\n%s", diff)
	}
	got, _ := json.MarshalIndent(manifests[0], "", "  ")
	got = []byte(strings.ReplaceAll(string(got), srv.Listener.Addr().String(), "SETUP_ADDR") + "\n")
	checkGolden(t, "setup/manifest.json", got)

	dir := filepath.Join(dataDir, "github-app")
	wantFiles := map[string]string{
		"private-key.pem": fakeAppPEM,
		"webhook-secret":  "whsec-code1",
		"client-secret":   "cs-1",
		"app-id":          "4242\n",
	}
	for name, want := range wantFiles {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Errorf("%s = %q; want %q", name, b, want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, _ := e.Info()
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v; want 0600", e.Name(), perm)
		}
	}
	if info, _ := os.Stat(dir); info.Mode().Perm() != 0o700 {
		t.Errorf("%s has mode %v; want 0700", dir, info.Mode().Perm())
	}
	env, err := os.ReadFile(saved.EnvFile)
	if err != nil {
		t.Fatal(err)
	}
	env = []byte(strings.NewReplacer(saved.Dir, "$DIR", gh.srv.URL, "$GITHUB").Replace(string(env)))
	checkGolden(t, "setup/github-app.env", env)
	if want := gh.srv.URL + "/apps/sentinel-test/installations/new"; saved.InstallURL() != want {
		t.Errorf("InstallURL = %q; want %q", saved.InstallURL(), want)
	}

	// GitHub's redirect arriving twice (a reload) shows the result again without converting twice.
	gh.mu.Lock()
	before := gh.conversions
	gh.mu.Unlock()
	resp, err := http.Get(srv.URL + "/callback?code=code1&state=" + setup.state)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	gh.mu.Lock()
	after := gh.conversions
	gh.mu.Unlock()
	if resp.StatusCode != http.StatusOK || after != before {
		t.Errorf("reload: status %d, conversions %d -> %d; want 200 and no new conversion", resp.StatusCode, before, after)
	}
}

func TestAppSetupOrganisation(t *testing.T) {
	t.Parallel()
	gh := newFakeGitHub(t)
	_, srv := startSetup(t, gh, t.TempDir(), "sentinel-ci", false)
	if status, page := submitManifest(t, srv.URL); status != http.StatusOK {
		t.Fatalf("final page: status %d\n%s", status, page)
	}
	gh.mu.Lock()
	defer gh.mu.Unlock()
	if diff := cmp.Diff([]string{"/organizations/sentinel-ci/settings/apps/new"}, gh.newAppPaths); diff != "" {
		t.Errorf("manifest posted to (-want +got):\n%s", diff)
	}
}

func TestAppSetupCallbackErrors(t *testing.T) {
	t.Parallel()
	gh := newFakeGitHub(t)
	dataDir := t.TempDir()
	setup, srv := startSetup(t, gh, dataDir, "", false)
	gh.mu.Lock()
	gh.codes["good"] = true
	gh.mu.Unlock()
	tests := []struct {
		name     string
		query    url.Values
		status   int
		wantText string
	}{
		{"forged state", url.Values{"code": {"good"}, "state": {"0123"}}, http.StatusBadRequest, "state mismatch"},
		{"no state", url.Values{"code": {"good"}}, http.StatusBadRequest, "state mismatch"},
		{"unknown or expired code", url.Values{"code": {"stale"}, "state": {setup.state}}, http.StatusBadRequest, "expired"},
		{"code that is not a code", url.Values{"code": {"../../user"}, "state": {setup.state}}, http.StatusBadRequest, "no valid code"},
		{"no code", url.Values{"state": {setup.state}}, http.StatusBadRequest, "no valid code"},
	}
	for _, tt := range tests {
		resp, err := http.Get(srv.URL + "/callback?" + tt.query.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(html.UnescapeString(string(body)), tt.wantText) {
			t.Errorf("%s: status %d, page %q; want %d containing %q", tt.name, resp.StatusCode, body, tt.status, tt.wantText)
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "github-app")); !os.IsNotExist(err) {
		t.Errorf("failed callbacks left credentials behind: %v", err)
	}
	gh.mu.Lock()
	defer gh.mu.Unlock()
	if !gh.codes["good"] {
		t.Error("a callback with a bad state spent the code")
	}
}

func TestAppSetupKeepsExistingCredentials(t *testing.T) {
	t.Parallel()
	gh := newFakeGitHub(t)
	dataDir := t.TempDir()
	_, first := startSetup(t, gh, dataDir, "", false)
	if status, page := submitManifest(t, first.URL); status != http.StatusOK {
		t.Fatalf("first setup: %d\n%s", status, page)
	}
	_, second := startSetup(t, gh, dataDir, "", false)
	status, page := submitManifest(t, second.URL)
	if status != http.StatusInternalServerError || !strings.Contains(page, "already exist") {
		t.Errorf("second setup without force: status %d\n%s", status, page)
	}
	secret := filepath.Join(dataDir, "github-app", "webhook-secret")
	if b, _ := os.ReadFile(secret); string(b) != "whsec-code1" {
		t.Errorf("webhook secret after refused setup = %q; want the first App's", b)
	}
	_, third := startSetup(t, gh, dataDir, "", true)
	if status, page := submitManifest(t, third.URL); status != http.StatusOK {
		t.Fatalf("setup with force: %d\n%s", status, page)
	}
	if b, _ := os.ReadFile(secret); string(b) != "whsec-code3" {
		t.Errorf("webhook secret after forced setup = %q; want the third App's", b)
	}
}

func TestConvertManifestCodeIncompleteAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer map[string]any
		want   string
	}{
		{"no webhook secret", map[string]any{"id": 1, "pem": fakeAppPEM}, "no webhook secret"},
		{"no key", map[string]any{"id": 1, "webhook_secret": "s", "pem": "not a key"}, "no PEM private key"},
		{"no id", map[string]any{"webhook_secret": "s", "pem": fakeAppPEM}, "no App id"},
	}
	for _, tt := range tests {
		gh := newFakeGitHub(t)
		gh.codes["c"] = true
		gh.answer = func(string) (int, any) { return http.StatusCreated, tt.answer }
		_, err := ConvertManifestCode(t.Context(), gh.srv.Client(), gh.srv.URL+"/api/v3", "c")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v; want one containing %q", tt.name, err, tt.want)
		}
	}
	gh := newFakeGitHub(t)
	gh.codes["c"] = true
	gh.answer = func(string) (int, any) { return http.StatusInternalServerError, map[string]any{"message": "boom"} }
	if _, err := ConvertManifestCode(t.Context(), gh.srv.Client(), gh.srv.URL+"/api/v3/", "c"); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("server error: %v; want it reported with its status", err)
	}
}

func TestNewAppURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		githubURL, org, want string
		wantErr              bool
	}{
		{githubURL: "https://github.com", want: "https://github.com/settings/apps/new"},
		{githubURL: "https://github.com/", org: "sentinel-ci", want: "https://github.com/organizations/sentinel-ci/settings/apps/new"},
		{githubURL: "https://ghe.example.com", org: "Platform", want: "https://ghe.example.com/organizations/Platform/settings/apps/new"},
		{githubURL: "github.com", wantErr: true},
		{githubURL: "https://github.com", org: "a/b", wantErr: true},
		{githubURL: "https://github.com", org: "-leading-dash", wantErr: true},
	}
	for _, tt := range tests {
		got, err := NewAppURL(tt.githubURL, tt.org)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("NewAppURL(%q, %q) = %q, %v; want %q (error: %v)", tt.githubURL, tt.org, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestSaveCredentialsTightensDirectory(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	dir := filepath.Join(dataDir, "github-app")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := Credentials{ID: 7, Name: "it's quoted", WebhookSecret: "s", PEM: fakeAppPEM, HTMLURL: "https://github.com/apps/x"}
	saved, err := SaveCredentials(dataDir, c, "https://api.github.com/", false)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(dir); info.Mode().Perm() != 0o700 {
		t.Errorf("existing directory left at %v; want 0700", info.Mode().Perm())
	}
	env, _ := os.ReadFile(saved.EnvFile)
	if !strings.Contains(string(env), `# GitHub App "it's quoted" (id 7)`) {
		t.Errorf("env file header:\n%s", env)
	}
	leftovers, _ := fs.Glob(os.DirFS(dir), ".*tmp-*")
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}
