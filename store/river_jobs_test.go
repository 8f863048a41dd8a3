package store_test

import (
	"context"
	"testing"

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
