package intake

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
)

// pushTo is a push to branch of the repository with GitHub id repoID.
func pushTo(repoID int64, branch, sha string) []byte {
	return bytes.Replace(testPush(branch, sha), []byte(`"id":42,"full_name":"octo/app"`),
		fmt.Appendf(nil, `"id":%d,"full_name":"octo/app%d"`, repoID, repoID), 1)
}

// Two batches committed at once that both create the same two new
// repositories, named in opposite orders, each create them once and
// neither fails: without the creation locks they deadlocked (a second's
// stall, then one batch aborted and recorded delivery by delivery) or
// raced on the repository's second unique key.
func TestConcurrentBatchesCreateNewRepositoriesOnce(t *testing.T) {
	in := newBatchIntake(t)
	// The handler serialises the batches' writes, and the log is read once
	// they are done.
	var log bytes.Buffer
	in.Log = slog.New(slog.NewTextHandler(&log, nil))
	sha := 0
	next := func() string { sha++; return fmt.Sprintf("%040x", sha) }
	for round := range int64(5) {
		x, y := 100+2*round, 101+2*round
		a := []*pendingDelivery{
			pending(fmt.Sprint("a", round, 1), "push", pushTo(x, "main", next())),
			pending(fmt.Sprint("a", round, 2), "push", pushTo(y, "main", next())),
		}
		b := []*pendingDelivery{
			pending(fmt.Sprint("b", round, 1), "push", pushTo(y, "dev", next())),
			pending(fmt.Sprint("b", round, 2), "push", pushTo(x, "dev", next())),
		}
		var wg sync.WaitGroup
		for _, batch := range [][]*pendingDelivery{a, b} {
			wg.Add(1)
			go func() { defer wg.Done(); in.commitBatch(batch) }()
		}
		wg.Wait()
		for _, p := range append(a, b...) {
			if p.err != nil || p.res.Outcome != OutcomeAccepted {
				t.Errorf("round %d, %s: %+v, %v", round, p.d.ID, p.res, p.err)
			}
		}
	}
	if strings.Contains(log.String(), "webhook batch failed") {
		t.Errorf("a batch failed and was recorded delivery by delivery:\n%s", log.String())
	}
	var repos int
	if err := in.DB.QueryRow(context.Background(), `SELECT count(*) FROM repositories`).Scan(&repos); err != nil || repos != 10 {
		t.Errorf("%d repositories, want 10 (%v)", repos, err)
	}
}

// A batch naming a repository the store does not hold waits for another
// transaction creating it, then finds it rather than creating it again.
func TestBatchWaitsForTheCreationOfItsNewRepository(t *testing.T) {
	in := newBatchIntake(t)
	ctx := context.Background()
	batch := []*pendingDelivery{pending("p", "push", pushTo(77, "main", fmt.Sprintf("%040x", 1)))}
	done := make(chan struct{})
	var id int64
	err := in.DB.InTx(ctx, func(other pgx.Tx) error {
		if err := store.LockCreations(ctx, other, nil, []store.RepoRef{{GitHubID: 77}}); err != nil {
			return err
		}
		go func() { defer close(done); in.commitBatch(batch) }()
		select {
		case <-done:
			t.Fatalf("the batch did not wait for the repository's creation: %+v, %v", batch[0].res, batch[0].err)
		case <-time.After(300 * time.Millisecond):
		}
		var err error
		id, err = store.UpsertRepository(ctx, other, store.Repository{GitHubID: 77, FullName: "octo/app77", CloneURL: "https://github.com/octo/app77.git"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	<-done
	if p := batch[0]; p.err != nil || p.res.Outcome != OutcomeAccepted {
		t.Fatalf("%+v, %v", p.res, p.err)
	}
	var repoID int64
	if err := in.DB.QueryRow(ctx, `SELECT repository_id FROM runs WHERE id = $1`, batch[0].res.RunIDs[0]).Scan(&repoID); err != nil || repoID != id {
		t.Errorf("the run is of repository %d, want %d, the one created meanwhile (%v)", repoID, id, err)
	}
}
