package intake

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Group commit: deliveries that arrive while transactions are in flight
// wait and then share the next one. Under load each transaction carries many
// deliveries for the cost of one (a handful of round trips and one commit);
// alone, a delivery is committed at once.
//
// intakeFlushers transactions run at once, but never two holding runs of the
// same branch or pull request (a lane): each batch then sees every run it
// supersedes, and no batch waits on another's rows.
const (
	intakeFlushers     = 2
	maxBatchDeliveries = 128
	maxBatchBytes      = 8 << 20 // large payloads are not held back by one another
	batchTimeout       = 30 * time.Second
)

// pendingDelivery is a verified delivery waiting for its batch.
type pendingDelivery struct {
	d    Delivery // parsed
	lane string   // branch or pull request of the run it asks for; "" if none

	deadline time.Time // the batch is retried until then while the database is unavailable

	res  Result
	err  error
	done chan struct{} // closed when res and err are final
}

// laneOf is the branch or pull request a delivery's run would supersede
// runs of ("" when it asks for no run).
func laneOf(ev *Event) string {
	if ev == nil || ev.Run == nil || ev.Repo == nil {
		return ""
	}
	if ev.Run.PRNumber != 0 {
		return fmt.Sprintf("%d/%s#%d", ev.Repo.GitHubID, ev.Repo.FullName, ev.Run.PRNumber)
	}
	return fmt.Sprintf("%d/%s@%s", ev.Repo.GitHubID, ev.Repo.FullName, ev.Run.Branch)
}

// batcher queues deliveries for the goroutines that commit them. Those
// exist only while there is work, so an Intake needs no lifecycle.
type batcher struct {
	mu       sync.Mutex
	queue    []*pendingDelivery
	flushers int
	inFlight map[string]bool // lanes of the batches being committed
	pending  int             // deliveries in the batches being committed
}

func (b *batcher) add(in *Intake, p *pendingDelivery) {
	b.mu.Lock()
	b.queue = append(b.queue, p)
	start := b.flushers < intakeFlushers
	if start {
		b.flushers++
	}
	b.mu.Unlock()
	if start {
		go b.flush(in)
	}
}

// flush commits queued deliveries, a batch at a time, until it finds none
// it may take.
func (b *batcher) flush(in *Intake) {
	for {
		b.mu.Lock()
		batch := b.take()
		if len(batch) == 0 {
			b.flushers--
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		in.commitBatch(batch)
		b.mu.Lock()
		for _, p := range batch {
			delete(b.inFlight, p.lane)
		}
		b.pending -= len(batch)
		b.mu.Unlock()
	}
}

// take removes the next batch from the queue, in arrival order, leaving the
// lanes another batch holds (and so keeping each lane in order), and marks
// its lanes in flight. b.mu is held.
//
// A batch holds at most its share of all the deliveries waiting or being
// committed. Without that cap the flushers split senders into two cohorts
// that never mix: one flusher commits most deliveries in long batches, the
// other a few in short ones, and the long batches set the tail latency.
// Measured at 64 senders, the cap raised throughput by a quarter and cut p99
// by a fifth.
func (b *batcher) take() []*pendingDelivery {
	if b.inFlight == nil {
		b.inFlight = map[string]bool{}
	}
	var batch, rest []*pendingDelivery
	size := 0
	mine := map[string]bool{}
	limit := min(maxBatchDeliveries, (len(b.queue)+b.pending+intakeFlushers-1)/intakeFlushers)
	for i, p := range b.queue {
		if len(batch) == limit || (len(batch) > 0 && size+len(p.d.Payload) > maxBatchBytes) {
			rest = append(rest, b.queue[i:]...)
			break
		}
		if p.lane != "" && b.inFlight[p.lane] && !mine[p.lane] {
			rest = append(rest, p)
			continue
		}
		batch = append(batch, p)
		size += len(p.d.Payload)
		if p.lane != "" {
			mine[p.lane], b.inFlight[p.lane] = true, true
		}
	}
	b.queue = rest
	b.pending += len(batch)
	return batch
}

// commitBatch records batch in one transaction and answers each delivery.
// If PostgreSQL rejects a statement, each delivery is tried again alone, so
// that one delivery the database refuses costs the others nothing. Other
// failures (the database unreachable, the timeout) fail the whole batch at
// once: trying each alone would only multiply the wait.
func (in *Intake) commitBatch(batch []*pendingDelivery) {
	// Not the request's context: the batch is shared, and a delivery whose
	// sender gave up is still recorded (a redelivery is then a duplicate).
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	var results []Result
	var err error
	for attempt := 1; ; attempt++ {
		err = in.DB.InTx(ctx, func(tx pgx.Tx) error {
			var err error
			results, err = in.recordBatch(ctx, tx, batch)
			return err
		})
		if err == nil || !unavailable(err) {
			break
		}
		// The database is restarting or out of reach: try again while every
		// delivery of the batch still has time to be answered. A commit that
		// did land is found again as duplicates, never recorded twice.
		wait := retryBackoff(attempt)
		if time.Now().Add(wait).After(earliestDeadline(batch)) {
			in.Log.Warn("webhook batch failed; database unavailable", "deliveries", len(batch), "attempts", attempt, "err", err)
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
			break
		}
		time.Sleep(wait)
	}
	var rejected *pgconn.PgError
	if errors.As(err, &rejected) && !errors.Is(err, ErrUnavailable) && len(batch) > 1 {
		in.Log.Warn("webhook batch failed; recording its deliveries one by one", "deliveries", len(batch), "err", err)
		for _, p := range batch {
			in.commitBatch([]*pendingDelivery{p})
		}
		return
	}
	for i, p := range batch {
		if err != nil {
			p.err = fmt.Errorf("delivery %s: %w", p.d.ID, err)
		} else {
			p.res = results[i]
		}
		close(p.done)
	}
}

// earliestDeadline is when the first of batch's deliveries must be answered.
func earliestDeadline(batch []*pendingDelivery) time.Time {
	t := batch[0].deadline
	for _, p := range batch[1:] {
		if p.deadline.Before(t) {
			t = p.deadline
		}
	}
	return t
}
