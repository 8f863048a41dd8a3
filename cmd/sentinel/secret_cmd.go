package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

const secretUsage = `Usage:
  sentinel secret set OWNER/REPO NAME       the value is read from standard input
  sentinel secret set installation:ID NAME  for every repository of a GitHub App installation
  sentinel secret delete OWNER/REPO|installation:ID NAME
  sentinel secret list OWNER/REPO|installation:ID

A pipeline step receives a secret only when it names it (secrets: [NAME]).
Values are sealed with SENTINEL_SECRET_KEY (or $SENTINEL_DATA_DIR/secret.key)
and never printed. The other flags are those of 'sentinel serve -h'.
`

// openSecrets makes the box that seals secrets: from SENTINEL_SECRET_KEY,
// else from the key file under the data directory, created on first use.
func (m *Main) openSecrets() error {
	if m.Secrets != nil {
		return nil
	}
	var key []byte
	var err error
	if m.Config.SecretKey != "" {
		key, err = jobs.ParseSecretKey(m.Config.SecretKey)
		if err != nil {
			return fmt.Errorf("SENTINEL_SECRET_KEY: %w", err)
		}
	} else {
		key, err = jobs.SecretKeyFile(filepath.Join(m.Config.DataDir, "secret.key"))
		if err != nil {
			return err
		}
	}
	m.Secrets, err = jobs.NewSecretBox(key)
	return err
}

// runSecret sets, deletes or lists the secrets of a repository or an
// installation, straight in the database, audited as "cli".
func runSecret(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, secretUsage)
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet("sentinel secret "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, secretUsage) }
	cfg, err := LoadConfig(fs, args[1:], getenv)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "sentinel secret: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		return 2
	}
	want := map[string]int{"set": 2, "delete": 2, "list": 1}[verb]
	if want == 0 || fs.NArg() != want {
		fmt.Fprint(stderr, secretUsage)
		return 2
	}
	m := NewMain(cfg, newLogger(stderr, cfg.LogLevel))
	err = m.secret(ctx, verb, fs.Args(), stdin, stdout)
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stderr, "sentinel secret %s: %v\n", verb, err)
		return 1
	}
	return 0
}

func (m *Main) secret(ctx context.Context, verb string, args []string, stdin io.Reader, stdout io.Writer) error {
	if err := m.Open(ctx); err != nil {
		return err
	}
	scope, err := secretScope(ctx, m.DB, args[0])
	if err != nil {
		return err
	}
	if verb == "list" {
		names, err := store.ListSecretNames(ctx, m.DB, scope)
		if err != nil {
			return err
		}
		for _, n := range names {
			fmt.Fprintf(stdout, "%s\tupdated %s\n", n.Name, n.UpdatedAt.UTC().Format("2006-01-02 15:04:05Z"))
		}
		return nil
	}
	actions := &jobs.Actions{DB: m.DB}
	if verb == "delete" {
		return actions.DeleteSecret(ctx, scope, args[1], "cli")
	}
	if err := m.openSecrets(); err != nil {
		return err
	}
	actions.Secrets = m.Secrets
	value, err := io.ReadAll(io.LimitReader(stdin, 1<<20))
	if err != nil {
		return fmt.Errorf("read the value from standard input: %w", err)
	}
	// `echo value | sentinel secret set` adds a newline nobody means.
	value = []byte(strings.TrimSuffix(strings.TrimSuffix(string(value), "\n"), "\r"))
	if err := actions.SetSecret(ctx, scope, args[1], value, "cli"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "secret %s set for %s\n", args[1], args[0])
	return nil
}

// secretScope reads OWNER/REPO or installation:ID.
func secretScope(ctx context.Context, db *store.DB, target string) (store.SecretScope, error) {
	if id, ok := strings.CutPrefix(target, "installation:"); ok {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n <= 0 {
			return store.SecretScope{}, fmt.Errorf("%q: want installation:ID with a number", target)
		}
		return store.SecretScope{InstallationID: n}, nil
	}
	repo, err := store.RepositoryByName(ctx, db, target)
	if errors.Is(err, store.ErrNotFound) {
		return store.SecretScope{}, fmt.Errorf("repository %s is not known to this Sentinel", target)
	}
	if err != nil {
		return store.SecretScope{}, err
	}
	return store.SecretScope{RepositoryID: repo.ID}, nil
}
