package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// TestSupersedeCancelsWaitingJobs: superseding runs deletes their waiting
// River jobs in the same statement. A run that never started keeps GitHub
// unaware of it when its queued report had not been sent; a running run's
// job is returned for River to cancel; jobs that ran, or run, are left alone.
func TestSupersedeCancelsWaitingJobs(t *testing.T) {
	db := storetest.NewDB(t)
	repo := seedRepo(t, db)
	ctx := context.Background()
	run := func(sha, branch string) int64 {
		id, _, err := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repo, SHA: sha, Branch: branch, Trigger: "push"})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	job := func(kind string, runID int64, phase, state string, attempt int) int64 {
		args := fmt.Sprintf(`{"run_id":%d}`, runID)
		if phase != "" {
			args = fmt.Sprintf(`{"run_id":%d,"phase":%q}`, runID, phase)
		}
		var id int64
		if err := db.QueryRow(ctx, `INSERT INTO river_job (kind, args, queue, state, attempt, attempted_at)
			VALUES ($1, $2, 'q', $3::river_job_state, $4::int, CASE WHEN $4::int > 0 THEN now() END) RETURNING id`,
			kind, args, state, attempt).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	unsent := run("a1", "a") // queued; its report not sent yet
	unsentExec, unsentReport := job("run.execute", unsent, "", "available", 0), job("report.check", unsent, "queued", "available", 0)
	sending := run("b1", "b") // queued; its report being sent now
	sendingExec, sendingReport := job("run.execute", sending, "", "available", 0), job("report.check", sending, "queued", "running", 1)
	started := run("c1", "c") // running, its check run on GitHub
	startedExec, startedReport := job("run.execute", started, "", "running", 1), job("report.check", started, "in_progress", "available", 0)
	if _, err := db.Exec(ctx, `UPDATE runs SET state = 'running', job_id = $2, check_run_id = 9 WHERE id = $1`, started, startedExec); err != nil {
		t.Fatal(err)
	}
	bystander := run("d1", "d")
	bystanderExec := job("run.execute", bystander, "", "available", 0)

	var ss []store.Supersession
	for _, branch := range []string{"a", "b", "c"} {
		ss = append(ss, store.Supersession{RepositoryID: repo, Branch: branch, NewRunID: run(branch+"2", branch)})
	}
	got, err := store.SupersedeRunsBatch(ctx, db, ss, nil)
	if err != nil {
		t.Fatal(err)
	}
	byRun := map[int64]store.Superseded{}
	for _, s := range got {
		byRun[s.RunID] = store.Superseded{RunID: s.RunID, JobID: s.JobID, Unreported: s.Unreported}
	}
	want := map[int64]store.Superseded{
		unsent:  {RunID: unsent, Unreported: true},
		sending: {RunID: sending},
		started: {RunID: started, JobID: startedExec},
	}
	if diff := cmp.Diff(want, byRun); diff != "" {
		t.Errorf("superseded (-want +got):\n%s", diff)
	}
	// Waiting jobs of superseded runs are deleted; "" is no job.
	for id, state := range map[int64]string{
		unsentExec: "", unsentReport: "",
		sendingExec: "", sendingReport: "running",
		startedExec: "running", startedReport: "available",
		bystanderExec: "available",
	} {
		var got string
		err := db.QueryRow(ctx, `SELECT state::text FROM river_job WHERE id = $1`, id).Scan(&got)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		if got != state {
			t.Errorf("job %d: %q, want %q", id, got, state)
		}
	}
}

// TestQueueDepthsBounded: each queue's jobs are counted by state, finished
// ones left out, and a backlog past MaxQueueDepth is shown as "1000+"
// instead of being counted job by job.
func TestQueueDepthsBounded(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	if _, err := db.Exec(ctx, `INSERT INTO river_job (kind, args, queue, state, finalized_at, attempted_at)
		SELECT 'store.depth_test', '{}', queue, state::river_job_state,
			CASE WHEN state IN ('completed', 'discarded') THEN now() END, CASE WHEN state = 'running' THEN now() END
		FROM (VALUES ('runs', 'available', 3), ('runs', 'scheduled', 2), ('runs', 'running', 1), ('runs', 'discarded', 1),
			('runs', 'completed', 5), ('github', 'available', 1205), ('triage', 'retryable', 1), ('triage', 'completed', 2)) v (queue, state, n),
			generate_series(1, n)`); err != nil {
		t.Fatal(err)
	}
	got, err := store.QueueDepths(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.QueueDepth{
		{Queue: "github", Available: store.MaxQueueDepth + 1},
		{Queue: "runs", Available: 3, Scheduled: 2, Running: 1, Discarded: 1},
		{Queue: "triage", Retryable: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queue depths (-want +got):\n%s", diff)
	}
	if len(got) > 0 {
		if s := fmt.Sprint(got[0].Available); s != "1000+" {
			t.Errorf("a backlog past the bound shows as %q, want 1000+", s)
		}
	}
}

// TestRiverJobGINIndexesHaveNoPendingList: a GIN index's pending list is
// merged inside whichever insert fills it, a stall of 100 ms and more for
// the intake's transaction that tips it over (migration 0060).
func TestRiverJobGINIndexesHaveNoPendingList(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	rows, err := db.Query(context.Background(), `
		SELECT c.relname, 'fastupdate=off' = ANY(COALESCE(c.reloptions, '{}'))
		FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_am am ON am.oid = c.relam
		WHERE x.indrelid = 'river_job'::regclass AND am.amname = 'gin'`)
	if err != nil {
		t.Fatal(err)
	}
	type index struct {
		name string
		off  bool
	}
	gins, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (i index, err error) {
		err = r.Scan(&i.name, &i.off)
		return i, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(gins) == 0 {
		t.Fatal("river_job has no GIN index: this test checks nothing")
	}
	for _, i := range gins {
		if !i.off {
			t.Errorf("GIN index %s keeps a pending list (fastupdate is not off)", i.name)
		}
	}
}
