package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/app"
	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// TestReadyzKeepsTheDatabaseToItself: with the database refusing
// connections, /readyz answers 503 and says so without naming the
// database's user, name, host or port.
func TestReadyzKeepsTheDatabaseToItself(t *testing.T) {
	url := storetest.URL(t)
	db, err := store.Open(context.Background(), url, 2, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	rc, err := jobs.NewClient(db, nil, jobs.ClientConfig{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(app.NewServer(db, rc, slog.New(slog.DiscardHandler), app.Options{}).Handler())
	t.Cleanup(hs.Close)

	storetest.Unavailable(t, url)
	// Twice: the first ping may meet a connection ended under it, the
	// second has to open one and is refused.
	for range 2 {
		resp, err := http.Get(hs.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "database") {
			t.Errorf("/readyz = %d %s, want 503 naming the database", resp.StatusCode, b)
		}
		cfg, _ := pgx.ParseConfig(url)
		for _, secret := range []string{cfg.User, cfg.Database, cfg.Host, fmt.Sprint(cfg.Port)} {
			if strings.Contains(string(b), secret) {
				t.Errorf("/readyz tells %q: %s", secret, b)
			}
		}
	}
}
