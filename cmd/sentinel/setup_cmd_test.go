package main

import (
	"bufio"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// pipeLines hands the lines a command prints to a channel as they come.
func pipeLines(t *testing.T) (io.Writer, <-chan string) {
	t.Helper()
	r, w := io.Pipe()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { w.Close() })
	return w, lines
}

func nextLine(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("command closed its output")
		}
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the command's output")
	}
	return ""
}

// TestSetupCommandEndToEnd registers an App against a fake GitHub the way a browser would,
// then loads the env file the command wrote with Sentinel's own configuration loader.
func TestSetupCommandEndToEnd(t *testing.T) {
	keyPEM := testKeyPEM(t)
	var mu sync.Mutex
	var manifest map[string]any
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/settings/apps/new":
			mu.Lock()
			defer mu.Unlock()
			if err := json.Unmarshal([]byte(r.PostFormValue("manifest")), &manifest); err != nil {
				http.Error(w, err.Error(), http.StatusUnprocessableEntity)
				return
			}
			back := manifest["redirect_url"].(string) + "?" + url.Values{"code": {"abc123"}, "state": {r.URL.Query().Get("state")}}.Encode()
			http.Redirect(w, r, back, http.StatusFound)
		case r.Method == http.MethodPost && r.URL.Path == "/api/v3/app-manifests/abc123/conversions":
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string]any{
				"id": 99, "slug": "sentinel-e2e", "name": "sentinel-e2e", "html_url": "https://github.example/apps/sentinel-e2e",
				"webhook_secret": "e2e-secret", "pem": keyPEM, "client_id": "Iv1.x", "client_secret": "y",
			})
		default:
			http.NotFound(w, r)
		}
	}))
	defer gh.Close()

	dataDir := t.TempDir()
	stdout, lines := pipeLines(t)
	var stderr strings.Builder
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exit := make(chan int, 1)
	go func() {
		exit <- runSetup(ctx, []string{"--github-url", gh.URL, "--webhook-url", "https://smee.io/AbCdEf123456", "--data-dir", dataDir},
			stdout, &stderr, func(string) string { return "" })
	}()

	first := nextLine(t, lines)
	pageURL := regexp.MustCompile(`http://127\.0\.0\.1:\d+/`).FindString(first)
	if pageURL == "" {
		t.Fatalf("first line does not name the setup page: %q", first)
	}
	resp, err := http.Get(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	action := regexp.MustCompile(`<form action="([^"]+)"`).FindSubmatch(page)
	value := regexp.MustCompile(`name="manifest" value="([^"]+)"`).FindSubmatch(page)
	if action == nil || value == nil {
		t.Fatalf("no manifest form on the setup page:\n%s", page)
	}
	resp, err = http.PostForm(html.UnescapeString(string(action[1])), url.Values{"manifest": {html.UnescapeString(string(value[1]))}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback answered %s", resp.Status)
	}
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("setup did not finish after GitHub's redirect")
	}
	if got := nextLine(t, lines); !strings.Contains(got, `"sentinel-e2e" (id 99) registered`) {
		t.Errorf("summary line = %q", got)
	}
	mu.Lock()
	if manifest["redirect_url"] == nil || manifest["default_permissions"] == nil {
		t.Errorf("manifest posted to GitHub lacks redirect or permissions: %v", manifest)
	}
	mu.Unlock()

	env := parseEnvFile(t, filepath.Join(dataDir, "github-app", "github-app.env"))
	if want := gh.URL + "/api/v3/"; env["GITHUB_API_URL"] != want {
		t.Errorf("GITHUB_API_URL = %q; want %q (derived from --github-url)", env["GITHUB_API_URL"], want)
	}
	cfg, err := load(env)
	if err != nil {
		t.Fatalf("Sentinel's config rejects the env file setup wrote: %v", err)
	}
	if cfg.GitHubAppID != 99 || cfg.WebhookSecret != "e2e-secret" || strings.TrimSpace(cfg.GitHubKeyPEM) != strings.TrimSpace(keyPEM) {
		t.Errorf("config from env file: app %d, secret %q, key matches %v", cfg.GitHubAppID, cfg.WebhookSecret, strings.TrimSpace(cfg.GitHubKeyPEM) == strings.TrimSpace(keyPEM))
	}
}

// parseEnvFile reads the `export NAME='value'` lines setup writes, undoing its quoting.
func parseEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		name, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(value, "'") {
			value = strings.ReplaceAll(strings.Trim(value, "'"), `'\''`, "'")
		}
		env[name] = value
	}
	return env
}

func TestSetupCommandUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no webhook URL", nil, nil, "no webhook URL"},
		{"webhook URL not a URL", []string{"--webhook-url", "smee.io/x"}, nil, "want an http(s) URL"},
		{"page on every interface", []string{"--addr", "0.0.0.0:0"}, map[string]string{"SENTINEL_SMEE_URL": "https://smee.io/x"}, "loopback only"},
		{"stray argument", []string{"now"}, nil, "unexpected arguments"},
		{"bad organisation", []string{"--org", "a/b", "--webhook-url", "https://smee.io/x"}, nil, "not a valid GitHub login"},
	}
	for _, tt := range tests {
		var stderr strings.Builder
		code := runSetup(context.Background(), tt.args, io.Discard, &stderr, func(k string) string { return tt.env[k] })
		if code != 2 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tt.name, code, stderr.String(), tt.want)
		}
	}
}

func TestDefaultAPIURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://github.com":       "https://api.github.com/",
		"https://GitHub.com/":      "https://api.github.com/",
		"https://ghe.example.com":  "https://ghe.example.com/api/v3/",
		"http://127.0.0.1:9/":      "http://127.0.0.1:9/api/v3/",
		"not a url at all ::: %zz": "https://api.github.com/",
	} {
		if got := defaultAPIURL(in); got != want {
			t.Errorf("defaultAPIURL(%q) = %q; want %q", in, got, want)
		}
	}
}
