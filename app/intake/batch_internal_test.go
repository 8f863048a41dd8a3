package intake

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

func testPush(branch, sha string) []byte {
	return fmt.Appendf(nil, `{"ref":"refs/heads/%s","after":%q,"before":"0000000000000000000000000000000000000000",
		"created":false,"deleted":false,"head_commit":{"id":%q,"message":"change","author":{"name":"Mona","username":"octocat"}},
		"repository":{"id":42,"full_name":"octo/app","clone_url":"https://github.com/octo/app.git","default_branch":"main","owner":{"login":"octo"}},
		"installation":{"id":7},"sender":{"login":"octocat"}}`, branch, sha, sha)
}

func pending(id, event string, payload []byte) *pendingDelivery {
	p := &pendingDelivery{d: Delivery{ID: id, Event: event, Payload: payload}, done: make(chan struct{})}
	p.d.Parsed, p.d.ParseErr = ParseEvent(event, payload)
	p.lane = laneOf(p.d.Parsed)
	return p
}

func newBatchIntake(t *testing.T) *Intake {
	t.Helper()
	db := storetest.NewDB(t)
	rc, err := jobs.NewClient(db, nil, jobs.ClientConfig{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return New(db, rc, &jobs.Actions{DB: db, River: rc}, slog.New(slog.DiscardHandler))
}

// One delivery the database rejects fails alone: the transaction of its
// batch rolls back, and the others are recorded one by one.
func TestBatchFailureCostsOthersNothing(t *testing.T) {
	in := newBatchIntake(t)
	db := in.DB
	batch := []*pendingDelivery{
		pending("good-1", "push", testPush("main", fmt.Sprintf("%040x", 1))),
		pending("bad-\xff", "push", testPush("dev", fmt.Sprintf("%040x", 2))), // not UTF-8: PostgreSQL refuses the text
		pending("good-2", "push", testPush("main", fmt.Sprintf("%040x", 3))),
	}
	in.commitBatch(batch)
	for _, p := range batch {
		<-p.done
	}
	if batch[1].err == nil {
		t.Errorf("the rejected delivery reported no error: %+v", batch[1].res)
	}
	for _, p := range []*pendingDelivery{batch[0], batch[2]} {
		if p.err != nil || p.res.Outcome != OutcomeAccepted || len(p.res.RunIDs) != 1 {
			t.Errorf("%s: %+v, %v", p.d.ID, p.res, p.err)
		}
	}
	var n int
	db.QueryRow(context.Background(), `SELECT count(*) FROM deliveries`).Scan(&n)
	if n != 2 {
		t.Errorf("%d deliveries stored, want the 2 good ones", n)
	}
	// Alone, in arrival order: the second push to main supersedes the first.
	first, _ := store.GetRun(context.Background(), db, batch[0].res.RunIDs[0])
	if first.SupersededBy != batch[2].res.RunIDs[0] {
		t.Errorf("first run superseded by %d, want %d", first.SupersededBy, batch[2].res.RunIDs[0])
	}
}

// Within one batch the later push of a branch is the newer run: the earlier
// one is superseded and gets no job at all.
func TestBatchSupersedesWithinItself(t *testing.T) {
	in := newBatchIntake(t)
	db := in.DB
	batch := []*pendingDelivery{
		pending("a", "push", testPush("main", fmt.Sprintf("%040x", 1))),
		pending("b", "push", testPush("dev", fmt.Sprintf("%040x", 2))),
		pending("c", "push", testPush("main", fmt.Sprintf("%040x", 3))),
		pending("d", "ping", []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)),
	}
	in.commitBatch(batch)
	for _, p := range batch {
		if p.err != nil {
			t.Fatalf("%s: %v", p.d.ID, p.err)
		}
	}
	var txs int
	db.QueryRow(context.Background(), `SELECT count(DISTINCT xmin::text) FROM deliveries`).Scan(&txs)
	if txs != 1 {
		t.Errorf("the batch took %d transactions", txs)
	}
	a, _ := store.GetRun(context.Background(), db, batch[0].res.RunIDs[0])
	c, _ := store.GetRun(context.Background(), db, batch[2].res.RunIDs[0])
	if a.State != "cancelled" || a.SupersededBy != c.ID || c.State != "queued" {
		t.Errorf("a: %s by %d; c: %s", a.State, a.SupersededBy, c.State)
	}
	var executes, jobsOfA int
	db.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'run.execute'`).Scan(&executes)
	if executes != 2 {
		t.Errorf("%d execute jobs, want 2 (c and b)", executes)
	}
	db.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE (args->>'run_id')::bigint = $1`, a.ID).Scan(&jobsOfA)
	if jobsOfA != 0 {
		t.Errorf("%d jobs for a, which GitHub never needs to hear of", jobsOfA)
	}
	if batch[3].res.Outcome != OutcomeIgnored || batch[3].res.Zen == "" {
		t.Errorf("ping in a batch: %+v", batch[3].res)
	}
}

// take keeps each lane in arrival order and out of concurrent batches, and
// respects the batch limits.
func TestBatcherTake(t *testing.T) {
	mk := func(id, lane string, size int) *pendingDelivery {
		return &pendingDelivery{d: Delivery{ID: id, Payload: make([]byte, size)}, lane: lane}
	}
	ids := func(ps []*pendingDelivery) (s string) {
		for _, p := range ps {
			s += p.d.ID
		}
		return s
	}
	b := &batcher{}
	b.queue = []*pendingDelivery{mk("1", "x", 1), mk("2", "y", 1), mk("3", "x", 1), mk("4", "", 1)}
	b.inFlight = map[string]bool{"y": true}
	b.pending = 4 // the batch holding lane y
	if got := ids(b.take()); got != "134" {
		t.Errorf("took %q, want 134 (lane y is in flight)", got)
	}
	if got := ids(b.queue); got != "2" {
		t.Errorf("left %q, want 2", got)
	}
	if got := ids(b.take()); got != "" {
		t.Errorf("took %q while its lane is in flight", got)
	}
	delete(b.inFlight, "y")
	b.pending = 0
	if got := ids(b.take()); got != "2" {
		t.Errorf("took %q, want 2 once its lane is free", got)
	}

	b = &batcher{}
	b.queue = []*pendingDelivery{mk("a", "", maxBatchBytes), mk("b", "", 1), mk("c", "", maxBatchBytes+1)}
	if got := ids(b.take()); got != "a" {
		t.Errorf("took %q, want a alone (byte limit)", got)
	}
	if got := ids(b.take()); got != "b" {
		t.Errorf("took %q, want b", got)
	}
	if got := ids(b.take()); got != "c" {
		t.Errorf("took %q, want c (an oversized delivery still goes, alone)", got)
	}

	// A batch takes its flusher's share of what waits and what is being
	// committed, so that batches stay even.
	b = &batcher{}
	for i := range 10 {
		b.queue = append(b.queue, mk(fmt.Sprint(i), "", 1))
	}
	if got := ids(b.take()); got != "01234" {
		t.Errorf("took %q, want half of the ten waiting", got)
	}
	b.queue = append(b.queue, mk("a", "", 1), mk("b", "", 1), mk("c", "", 1), mk("d", "", 1))
	if got := ids(b.take()); got != "56789ab" {
		t.Errorf("took %q, want seven of the nine waiting beside five in flight", got)
	}
	if b.pending != 12 {
		t.Errorf("%d deliveries counted in flight, want 12", b.pending)
	}
	b = &batcher{queue: []*pendingDelivery{mk("z", "", 1)}}
	if got := ids(b.take()); got != "z" {
		t.Errorf("took %q, want a lone delivery at once", got)
	}
}

// Without a database every delivery of a batch is answered with an error,
// none left waiting.
func TestBatchFailsEveryDeliveryWithoutDatabase(t *testing.T) {
	in := newBatchIntake(t)
	db := in.DB
	db.Close()
	batch := []*pendingDelivery{
		pending("one", "push", testPush("main", fmt.Sprintf("%040x", 1))),
		pending("two", "push", testPush("dev", fmt.Sprintf("%040x", 2))),
	}
	in.commitBatch(batch)
	for _, p := range batch {
		<-p.done
		if p.err == nil {
			t.Errorf("%s: no error without a database", p.d.ID)
		}
	}
}
