package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

type cancelTestArgs struct{ N int }

func (cancelTestArgs) Kind() string { return "store.cancel_test" }

func TestCancelWaiting(t *testing.T) {
	db := storetest.NewDB(t)
	ctx := context.Background()
	rc, err := river.NewClient(db.RiverDriver(), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := rc.InsertMany(ctx, []river.InsertManyParams{
		{Args: cancelTestArgs{N: 1}}, {Args: cancelTestArgs{N: 2}}, {Args: cancelTestArgs{N: 3}},
	})
	if err != nil {
		t.Fatal(err)
	}
	waiting, running, done := res[0].Job.ID, res[1].Job.ID, res[2].Job.ID
	if _, err := db.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() WHERE id = $1`, running); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now() WHERE id = $1`, done); err != nil {
		t.Fatal(err)
	}
	var got []int64
	b := &pgx.Batch{}
	store.QueueCancelWaiting(b, []int64{waiting, running, done}, &got)
	err = db.InTx(ctx, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != running {
		t.Errorf("running jobs %v, want [%d]", got, running)
	}
	for id, want := range map[int64]string{waiting: "cancelled", running: "running", done: "completed"} {
		j, err := rc.JobGet(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if string(j.State) != want || (want == "cancelled" && j.FinalizedAt == nil) {
			t.Errorf("job %d: %s (finalized %v), want %s", id, j.State, j.FinalizedAt, want)
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
