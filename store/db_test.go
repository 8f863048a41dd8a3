package store_test

import (
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/store"
)

// TestPoolSpreadsConnectionLifetimes: the pool's connections are not all
// replaced in the same moment (see poolConfig), unless the URL says so.
func TestPoolSpreadsConnectionLifetimes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		url               string
		lifetime, jitter  time.Duration
		maxConns, wantMax int32
	}{
		{url: "postgres://u@h/db", lifetime: time.Hour, jitter: 30 * time.Minute, maxConns: 7, wantMax: 7},
		{url: "postgres://u@h/db?pool_max_conn_lifetime=20s", lifetime: 20 * time.Second, jitter: 10 * time.Second, maxConns: 5, wantMax: 5},
		{url: "postgres://u@h/db?pool_max_conn_lifetime_jitter=0s&pool_max_conns=4", lifetime: time.Hour, jitter: 0, wantMax: 4},
		{url: "host=h dbname=db pool_max_conn_lifetime=10m pool_max_conn_lifetime_jitter=1m", lifetime: 10 * time.Minute, jitter: time.Minute, maxConns: 3, wantMax: 3},
	} {
		cfg, err := store.PoolConfig(c.url, c.maxConns)
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		if cfg.MaxConnLifetime != c.lifetime || cfg.MaxConnLifetimeJitter != c.jitter || cfg.MaxConns != c.wantMax {
			t.Errorf("%s: lifetime %s jitter %s max %d, want %s, %s, %d", c.url,
				cfg.MaxConnLifetime, cfg.MaxConnLifetimeJitter, cfg.MaxConns, c.lifetime, c.jitter, c.wantMax)
		}
	}
}
