package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sentinel-ci/sentinel/app"
	"github.com/sentinel-ci/sentinel/app/githubapp"
)

const setupUsage = `Usage: sentinel setup --webhook-url https://smee.io/CHANNEL [flags]

Registers a new GitHub App for Sentinel from a manifest: it serves a page on loopback that sends
you to GitHub with the right permissions and events, receives GitHub's answer and saves the App
id, private key and webhook secret under the data dir (mode 0600) with an env file to source.

Flags:
`

// runSetup implements `sentinel setup`. Exit status: 0 once the credentials are saved, 1 when
// interrupted before that, 2 for bad usage.
func runSetup(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("sentinel setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, setupUsage)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:0", "loopback address for the setup page (port 0 picks a free one)")
	githubURL := fs.String("github-url", "https://github.com", "GitHub's web address (GitHub Enterprise Server: https://HOST)")
	apiURL := fs.String("api-url", getenv("GITHUB_API_URL"), "REST API base ($GITHUB_API_URL; default https://api.github.com/, or https://HOST/api/v3/ with --github-url)")
	org := fs.String("org", "", "register the App under this organisation instead of your account")
	name := fs.String("name", "sentinel-"+randomAppSuffix(), "App name (GitHub names are global; editable on GitHub's page)")
	webhookURL := fs.String("webhook-url", getenv("SENTINEL_SMEE_URL"), "public URL GitHub sends webhooks to, e.g. a smee.io channel ($SENTINEL_SMEE_URL)")
	publicURL := fs.String("public-url", getenvOr(getenv, "SENTINEL_PUBLIC_URL", "http://localhost:8080"), "the App's homepage ($SENTINEL_PUBLIC_URL)")
	dataDir := fs.String("data-dir", getenvOr(getenv, "SENTINEL_DATA_DIR", "./data"), "where the credentials are saved, under github-app/ ($SENTINEL_DATA_DIR)")
	force := fs.Bool("force", false, "replace credentials saved by an earlier setup")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "sentinel setup: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return fail("unexpected arguments %q", fs.Args())
	}
	if *webhookURL == "" {
		return fail("no webhook URL: GitHub needs a public address. Create a channel at https://smee.io/new and pass --webhook-url (or set SENTINEL_SMEE_URL)")
	}
	if u, err := url.Parse(*webhookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fail("--webhook-url %q: want an http(s) URL", *webhookURL)
	}
	if err := requireLoopback(*addr); err != nil {
		return fail("%v", err)
	}
	if *apiURL == "" {
		*apiURL = defaultAPIURL(*githubURL)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fail("%v", err)
	}
	base := "http://" + ln.Addr().String()
	setup, err := githubapp.NewSetup(githubapp.SetupConfig{
		GitHubURL: *githubURL,
		APIURL:    *apiURL,
		Org:       *org,
		Manifest:  githubapp.NewSentinelManifest(*name, *publicURL, *webhookURL, base+"/callback"),
		DataDir:   *dataDir,
		Force:     *force,
		Logger:    slog.New(slog.NewTextHandler(stderr, nil)),
	})
	if err != nil {
		ln.Close()
		return fail("%v", err)
	}
	srv := &http.Server{Handler: app.SetupHandler(setup), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed at Shutdown
	defer func() {
		// Shutdown waits for the result page to be written before the process exits.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx) //nolint:errcheck // best effort on the way out
	}()

	fmt.Fprintf(stdout, "Open %s/ in your browser to register Sentinel's GitHub App (Ctrl-C to give up).\n", base)
	select {
	case <-ctx.Done():
		fmt.Fprintln(stderr, "sentinel setup: interrupted; nothing was saved")
		return 1
	case saved := <-setup.Done():
		fmt.Fprintf(stdout, "GitHub App %q (id %d) registered; credentials saved in %s\n", saved.Credentials.Name, saved.Credentials.ID, saved.Dir)
		fmt.Fprintf(stdout, "Next:\n  1. install it:          %s\n", saved.InstallURL())
		fmt.Fprintf(stdout, "  2. start Sentinel:     . %s && sentinel serve\n", saved.EnvFile)
		fmt.Fprintf(stdout, "  3. forward webhooks:   sentinel tunnel --from %s\n", *webhookURL)
		return 0
	}
}

// requireLoopback keeps the setup page, which ends up showing where the key is, off the network.
func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--addr %q: the setup page listens on loopback only (127.0.0.1, ::1 or localhost)", addr)
	}
	return nil
}

// defaultAPIURL follows GitHub's layout: api.github.com for github.com, /api/v3/ on a GHES host.
func defaultAPIURL(githubURL string) string {
	u, err := url.Parse(strings.TrimSuffix(githubURL, "/"))
	if err != nil || u.Host == "" || strings.EqualFold(u.Hostname(), "github.com") {
		return "https://api.github.com/"
	}
	return u.String() + "/api/v3/"
}

func randomAppSuffix() string {
	b := make([]byte, 3)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never returns an error since Go 1.24
	return hex.EncodeToString(b)
}
