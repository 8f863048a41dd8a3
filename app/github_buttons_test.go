package app

import (
	"context"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

func TestCheckRunButtons(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	rc, err := jobs.NewClient(db.Pool, nil, jobs.ClientConfig{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	run := seedRun(t, db)
	run.start(t)
	run.finish(t, store.RunFailed, 3, true) // TestCase002 is flaky
	stored, err := db.GetRun(ctx, run.runID)
	if err != nil {
		t.Fatal(err)
	}
	buttons := jobs.Buttons{River: rc}
	press := func(h func(context.Context, pgx.Tx, store.Run, string) error) {
		t.Helper()
		if err := db.InTx(ctx, func(tx pgx.Tx) error { return h(ctx, tx, stored, "octocat") }); err != nil {
			t.Fatal(err)
		}
	}
	count := func(sql string) int {
		t.Helper()
		var n int
		if err := db.Pool.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	press(buttons.QuarantineFlaky)
	press(buttons.QuarantineFlaky) // a second press changes nothing more
	if n := count(`SELECT count(*) FROM tests WHERE state = 'quarantined' AND name = 'TestCase002' AND quarantine_owner = 'octocat'`); n != 1 {
		t.Errorf("%d quarantined flaky tests, want 1", n)
	}
	if n := count(`SELECT count(*) FROM tests WHERE state = 'quarantined'`); n != 1 {
		t.Errorf("%d quarantined tests, want only the flaky one", n)
	}
	if n := count(`SELECT count(*) FROM river_job WHERE kind = 'report.check' AND args->>'phase' = 'completed'`); n != 1 {
		t.Errorf("%d re-reports queued, want 1", n)
	}

	press(buttons.OpenIncident)
	press(buttons.OpenIncident)
	if n := count(`SELECT count(*) FROM incidents WHERE status = 'open'`); n != 2 {
		t.Errorf("%d open incidents, want 2 (one per broken cluster, none for the flaky test)", n)
	}
	if n := count(`SELECT count(*) FROM river_job WHERE kind = 'incident.sync'`); n != 2 {
		t.Errorf("%d incident.sync jobs, want 2", n)
	}
}
