package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// TestSecretCommand sets, lists and deletes a repository secret through the
// CLI: the value comes from stdin, is stored sealed with the key file the
// command creates (0600), never printed, and each change is audited.
func TestSecretCommand(t *testing.T) {
	ctx := context.Background()
	dbURL := storetest.URL(t)
	dataDir := t.TempDir()
	env := map[string]string{"DATABASE_URL": dbURL, "SENTINEL_DATA_DIR": dataDir}
	getenv := func(k string) string { return env[k] }
	db, err := store.Open(ctx, dbURL, 4, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	repoID, err := store.UpsertRepository(ctx, db, store.Repository{FullName: "acme/app"})
	if err != nil {
		t.Fatal(err)
	}
	cli := func(stdin string, args ...string) (string, int) {
		var out, errOut bytes.Buffer
		code := runSecret(ctx, args, strings.NewReader(stdin), &out, &errOut, getenv)
		return out.String() + errOut.String(), code
	}

	const value = "npm_abcdefSECRET"
	if out, code := cli(value+"\n", "set", "acme/app", "NPM_TOKEN"); code != 0 {
		t.Fatalf("set: %d %s", code, out)
	}
	keyPath := filepath.Join(dataDir, "secret.key")
	st, err := os.Stat(keyPath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	key, err := jobs.SecretKeyFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	box, _ := jobs.NewSecretBox(key)
	sealed, err := store.RunSecrets(ctx, db, repoID)
	if err != nil || len(sealed) != 1 {
		t.Fatalf("stored: %v %v", sealed, err)
	}
	if v, err := box.Open(sealed[0].Scope, "NPM_TOKEN", sealed[0].Sealed); err != nil || string(v) != value {
		t.Fatalf("opened %q %v, want the value without the newline", v, err)
	}
	out, code := cli("", "list", "acme/app")
	if code != 0 || !strings.HasPrefix(out, "NPM_TOKEN\tupdated ") || strings.Contains(out, value) {
		t.Errorf("list: %d %q", code, out)
	}
	if out, code := cli("", "delete", "acme/app", "NPM_TOKEN"); code != 0 {
		t.Fatalf("delete: %d %s", code, out)
	}
	if out, code := cli("", "delete", "acme/app", "NPM_TOKEN"); code != 1 || !strings.Contains(out, "not found") {
		t.Errorf("second delete: %d %s", code, out)
	}
	if out, code := cli("x", "set", "acme/nope", "K"); code != 1 || !strings.Contains(out, "not known") {
		t.Errorf("unknown repository: %d %s", code, out)
	}
	if out, code := cli("abc", "set", "acme/app", "K"); code != 1 || !strings.Contains(out, "shorter than 4") {
		t.Errorf("short value: %d %s", code, out)
	}
	audit, err := store.ListAudit(ctx, db, "repository", repoID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 2 || audit[0].Action != "secret.delete" || audit[1].Action != "secret.set" || audit[1].Actor != "cli" {
		t.Errorf("audit: %+v", audit)
	}
	for _, a := range audit {
		if strings.Contains(a.Details["name"].(string)+a.Actor, value) {
			t.Error("audit carries the value")
		}
	}
}
