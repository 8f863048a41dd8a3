// Package storetest gives tests a real, migrated PostgreSQL database of their
// own. It uses TEST_DATABASE_URL when set (CI starts one server for the whole
// run); otherwise it starts one managed, ephemeral cluster per test binary.
//
// Each NewDB call creates a fresh database from a migrated template, so tests
// whose code commits are isolated from each other and may run in parallel.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
)

var (
	setupOnce   sync.Once
	setupErr    error
	serverURL   string // an admin URL of the server (database "postgres")
	templateDB  string
	managed     *store.ManagedPostgres
	managedDir  string
	createMutex sync.Mutex // CREATE DATABASE ... TEMPLATE fails if run concurrently on one template
)

// Main wraps testing.M.Run so that a cluster started for this test binary is
// stopped and removed afterwards: func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	if managed == nil && templateDB != "" {
		if c, err := pgx.Connect(context.Background(), serverURL); err == nil {
			c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+templateDB+" WITH (FORCE)")
			c.Close(context.Background())
		}
	}
	if managed != nil {
		managed.Stop()
		os.RemoveAll(managedDir)
	}
	return code
}

// URL returns the connection string of a fresh, migrated database that is
// dropped when the test ends. Tests in CI fail (never skip) without a server.
func URL(t testing.TB) string {
	t.Helper()
	setupOnce.Do(setup)
	if setupErr != nil {
		t.Fatalf("test database: %v", setupErr)
	}
	ctx := context.Background()
	name := "t_" + randomHex(6)
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		t.Fatalf("test database: %v", err)
	}
	defer admin.Close(ctx)
	createMutex.Lock()
	for attempt := 0; ; attempt++ {
		_, err = admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateDB))
		if err == nil || attempt == 20 || !strings.Contains(err.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(50 * time.Millisecond) // another test binary is copying the same template
	}
	createMutex.Unlock()
	if err != nil {
		t.Fatalf("test database: create %s: %v", name, err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), serverURL)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
	})
	return withDatabase(serverURL, name)
}

// NewDB opens a pool on a fresh database (see URL), closed when the test ends.
func NewDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), URL(t), 10, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("test database: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

func setup() {
	ctx := context.Background()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		dir, err := os.MkdirTemp("", "sentinel-test-pg-")
		if err != nil {
			setupErr = err
			return
		}
		os.Chmod(dir, 0o755) // the server may run as the postgres user
		managedDir = dir
		managed, err = store.StartManagedPostgres(ctx, dir+"/pg", store.ManagedOptions{Ephemeral: true}, slog.New(slog.DiscardHandler))
		if err != nil {
			setupErr = fmt.Errorf("TEST_DATABASE_URL is unset and starting a managed cluster failed: %w", err)
			return
		}
		base = managed.URL()
	}
	serverURL = withDatabase(base, "postgres")
	// One template per test binary: binaries of different packages run in
	// parallel and must not share (or drop) each other's template.
	templateDB = "tpl_" + randomHex(6)
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		setupErr = fmt.Errorf("connect to %s: %w", store.Redact(serverURL), err)
		return
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+templateDB); err != nil {
		setupErr = err
		return
	}
	db, err := store.Open(ctx, withDatabase(base, templateDB), 4, slog.New(slog.DiscardHandler))
	if err != nil {
		setupErr = err
		return
	}
	setupErr = db.Migrate(ctx, slog.New(slog.DiscardHandler))
	db.Close()
}

func withDatabase(rawURL, name string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Unavailable makes the database of url (one made by URL) refuse new
// connections and ends the ones open, as a restarting server does, until
// the returned function lets connections in again (also at cleanup).
func Unavailable(t testing.TB, url string) (restore func()) {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	name := pgx.Identifier{cfg.Database}.Sanitize()
	admin := func(sql string, args ...any) {
		c, err := pgx.Connect(context.Background(), serverURL)
		if err != nil {
			t.Errorf("admin connection: %v", err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), sql, args...); err != nil {
			t.Errorf("%s: %v", sql, err)
		}
	}
	admin("ALTER DATABASE " + name + " ALLOW_CONNECTIONS false")
	admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", cfg.Database)
	var once sync.Once
	restore = func() { once.Do(func() { admin("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true") }) }
	t.Cleanup(restore)
	return restore
}
