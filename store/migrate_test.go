package store_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

func countMigrations(t *testing.T, db *store.DB) (own, river int) {
	t.Helper()
	ctx := context.Background()
	if err := db.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&own); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, "SELECT count(*) FROM river_migration").Scan(&river); err != nil {
		t.Fatal(err)
	}
	return own, river
}

func TestMigrateIsIdempotent(t *testing.T) {
	db := storetest.NewDB(t) // already migrated once from the template
	names, err := store.MigrationNames()
	if err != nil {
		t.Fatal(err)
	}
	own, river := countMigrations(t, db)
	for i := 0; i < 2; i++ {
		if err := db.Migrate(context.Background(), slog.New(slog.DiscardHandler)); err != nil {
			t.Fatalf("migrate again: %v", err)
		}
	}
	own2, river2 := countMigrations(t, db)
	if own2 != own || river2 != river || own != len(names) {
		t.Errorf("migrations recorded: ours %d->%d (files %d), river %d->%d", own, own2, len(names), river, river2)
	}
}

// Two processes starting at once on an empty database: both succeed and each
// migration is applied once (the advisory lock serialises them).
func TestMigrateConcurrentOnEmptyDatabase(t *testing.T) {
	url := storetest.URL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	// Start from nothing: drop what the template put there.
	if _, err := conn.Exec(ctx, "DROP SCHEMA public CASCADE; CREATE SCHEMA public"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	const processes = 4
	var wg sync.WaitGroup
	errs := make([]error, processes)
	for i := range processes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := store.Open(ctx, url, 4, slog.New(slog.DiscardHandler))
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			errs[i] = db.Migrate(ctx, slog.New(slog.DiscardHandler))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
	db, err := store.Open(ctx, url, 2, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	names, _ := store.MigrationNames()
	if own, _ := countMigrations(t, db); own != len(names) {
		t.Errorf("schema_migrations has %d rows, want %d (each applied once)", own, len(names))
	}
}

func TestOpenUnreachableNamesHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3e9)
	defer cancel()
	_, err := store.Open(ctx, "postgres://u:secretpw@127.0.0.1:1/db?connect_timeout=1", 2, slog.New(slog.DiscardHandler))
	if err == nil {
		t.Fatal("want an error for an unreachable database")
	}
	if msg := err.Error(); !strings.Contains(msg, "127.0.0.1:1") || strings.Contains(msg, "secretpw") {
		t.Errorf("error should name the host and hide the password: %v", err)
	}
}
