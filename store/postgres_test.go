package store_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sentinel-ci/sentinel/store"
)

// The managed cluster is initialised once, restarts on the same data, and
// leaves no server process behind when stopped.
func TestManagedPostgresStartStopRestart(t *testing.T) {
	if _, err := store.FindPostgresBinDir(); errors.Is(err, store.ErrNoPostgres) && os.Getenv("CI") == "" {
		t.Skip("no PostgreSQL binaries on this machine")
	}
	// Not t.TempDir: its parent is private to root, and as root the server
	// runs as postgres, which must reach the directory.
	dir, err := os.MkdirTemp("", "sentinel-pg-test-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)

	pg, err := store.StartManagedPostgres(ctx, filepath.Join(dir, "pg"), store.ManagedOptions{Ephemeral: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, pg.URL(), 2, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	pid := serverPID(t, filepath.Join(dir, "pg", "data"))
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("postgres pid %d still alive after Stop", pid)
	}

	pg2, err := store.StartManagedPostgres(ctx, filepath.Join(dir, "pg"), store.ManagedOptions{Ephemeral: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer pg2.Stop()
	db2, err := store.Open(ctx, pg2.URL(), 2, log)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	var x int
	if err := db2.QueryRow(ctx, "SELECT x FROM kept").Scan(&x); err != nil || x != 42 {
		t.Errorf("data after restart: %d %v (the cluster must be initialised once, not again)", x, err)
	}
}

func serverPID(t *testing.T, dataDir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		pid = pid*10 + int(c-'0')
	}
	return pid
}

func TestFindPostgresBinDirMessage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := store.FindPostgresBinDir(); err != nil && !errors.Is(err, store.ErrNoPostgres) {
		t.Errorf("unexpected error %v", err)
	}
	if msg := store.ErrNoPostgres.Error(); !strings.Contains(msg, "install PostgreSQL") || !strings.Contains(msg, "DATABASE_URL") {
		t.Errorf("message must say to install PostgreSQL or set DATABASE_URL: %q", msg)
	}
}
