package githubapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SavedApp names the files SaveCredentials wrote.
type SavedApp struct {
	Dir            string // <data dir>/github-app, mode 0700
	EnvFile        string // source it: . github-app.env
	PrivateKeyFile string
	SecretFile     string
	Credentials    Credentials
}

// ErrCredentialsExist stops a second setup from silently replacing a working App's key.
var ErrCredentialsExist = errors.New("GitHub App credentials already exist")

// SaveCredentials writes the App's credentials under dataDir/github-app, every file 0600 in
// a 0700 directory, plus github-app.env that exports GITHUB_APP_ID, the *_FILE paths of the key
// and the webhook secret, and GITHUB_API_URL, so no one copies keys by hand. Existing credentials
// are replaced only with force.
func SaveCredentials(dataDir string, c Credentials, apiURL string, force bool) (SavedApp, error) {
	if err := c.validate(); err != nil {
		return SavedApp{}, err
	}
	dir, err := filepath.Abs(filepath.Join(dataDir, "github-app"))
	if err != nil {
		return SavedApp{}, err
	}
	s := SavedApp{
		Dir:            dir,
		EnvFile:        filepath.Join(dir, "github-app.env"),
		PrivateKeyFile: filepath.Join(dir, "private-key.pem"),
		SecretFile:     filepath.Join(dir, "webhook-secret"),
		Credentials:    c,
	}
	if _, err := os.Stat(s.PrivateKeyFile); err == nil && !force {
		return SavedApp{}, fmt.Errorf("%w in %s: pass --force to replace them (the App they belong to keeps working until you delete it on GitHub)", ErrCredentialsExist, dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return SavedApp{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return SavedApp{}, err
	}
	// MkdirAll leaves an existing directory's mode alone; a key must not sit in a readable one.
	if err := os.Chmod(dir, 0o700); err != nil {
		return SavedApp{}, err
	}
	meta, err := json.MarshalIndent(map[string]any{
		"id": c.ID, "slug": c.Slug, "name": c.Name, "owner": c.Owner, "html_url": c.HTMLURL,
		"client_id": c.ClientID, "api_url": apiURL,
	}, "", "  ")
	if err != nil {
		return SavedApp{}, err
	}
	files := []struct {
		name    string
		content string
	}{
		{"private-key.pem", ensureNewline(c.PEM)},
		{"webhook-secret", c.WebhookSecret},
		{"client-secret", c.ClientSecret},
		{"app-id", strconv.FormatInt(c.ID, 10) + "\n"},
		{"app.json", string(meta) + "\n"},
		{"github-app.env", appEnvFile(s, apiURL)},
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(dir, f.name), []byte(f.content), 0o600); err != nil {
			return SavedApp{}, err
		}
	}
	return s, nil
}

// appEnvFile renders the file to source before `sentinel serve`. Secrets stay in their own
// files; the env file only points at them, through the *_FILE variants Sentinel reads.
func appEnvFile(s SavedApp, apiURL string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# GitHub App %q (id %d), written by `sentinel setup`.\n", s.Credentials.Name, s.Credentials.ID)
	fmt.Fprintf(&b, "# Load it with:  . %s\n", shellQuote(s.EnvFile))
	fmt.Fprintf(&b, "export GITHUB_APP_ID=%d\n", s.Credentials.ID)
	fmt.Fprintf(&b, "export GITHUB_APP_PRIVATE_KEY_FILE=%s\n", shellQuote(s.PrivateKeyFile))
	fmt.Fprintf(&b, "export GITHUB_WEBHOOK_SECRET_FILE=%s\n", shellQuote(s.SecretFile))
	fmt.Fprintf(&b, "export GITHUB_API_URL=%s\n", shellQuote(apiURL))
	return b.String()
}

// shellQuote quotes s for POSIX sh: inside single quotes nothing is special except the quote.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func ensureNewline(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

// writeFileAtomic writes through a temporary file that has mode perm before any byte is
// written, so a crash leaves either the old file or the new one, never a readable partial key.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
