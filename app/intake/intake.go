// Package intake turns verified GitHub webhook deliveries into Sentinel's
// rows and jobs: it parses events (ParseEvent, pure), records deliveries
// in shared transactions (group commit, batch.go), creates and supersedes
// runs (runs.go), applies re-run requests and check run buttons (apply.go,
// buttons.go), and replays stored deliveries. The HTTP side (reading,
// verifying the signature, replying) is app's webhook handler.
package intake

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

// Delivery is a verified webhook delivery handed to Intake.Accept, with
// what ParseEvent made of it.
type Delivery struct {
	ID      string // X-GitHub-Delivery
	Event   string // X-GitHub-Event
	Payload []byte
	Headers map[string]string

	// Parsed and ParseErr are ParseEvent(Event, Payload), which the caller
	// runs (it is pure, so in the request's goroutine, in parallel); when
	// both are unset, Accept parses. A malformed payload is still recorded.
	Parsed   *Event
	ParseErr error
}

// Intake outcomes, also the webhook metric's outcome label.
const (
	OutcomeAccepted  = "accepted"
	OutcomeIgnored   = "ignored"
	OutcomeDuplicate = "duplicate"
	OutcomeMalformed = "malformed"
	// OutcomeRefused: the delivery asks for an action (a re-run, a check
	// run button) that the state does not allow; answered 409, as the
	// dashboard and the API answer the same action.
	OutcomeRefused = "refused"
)

// Result is what the intake did with a delivery; the webhook's answer body.
type Result struct {
	Outcome    string  `json:"status"`
	Reason     string  `json:"reason,omitempty"`
	Zen        string  `json:"zen,omitempty"`
	DeliveryID string  `json:"delivery"`
	RunIDs     []int64 `json:"runs,omitempty"`
}

// Intake records deliveries and what they cause. It needs no lifecycle: the
// goroutines that commit batches exist only while there is work.
type Intake struct {
	DB      *store.DB
	River   *river.Client[pgx.Tx]
	Actions *jobs.Actions // re-runs and the check run buttons
	Log     *slog.Logger
	// Buttons act on check run buttons (requested_action) by identifier,
	// besides jobs.ActionRerunFailed, which is a re-run.
	Buttons map[string]ButtonHandler

	// Hosts are where clone URLs named by payloads may point; a delivery
	// naming another is malformed.
	Hosts CloneHosts

	// RetryBudget is how long a delivery is retried while the database is
	// unavailable before Accept returns ErrUnavailable; zero means 8 s.
	RetryBudget time.Duration

	batcher batcher // groups concurrent deliveries into shared transactions
}

// New returns an intake with the default buttons.
func New(db *store.DB, rc *river.Client[pgx.Tx], actions *jobs.Actions, log *slog.Logger) *Intake {
	return &Intake{DB: db, River: rc, Actions: actions, Log: log, Buttons: DefaultButtons(actions)}
}

// Accept records a delivery and everything it causes in one transaction:
// the delivery row (deduplicated on its id), installation and repository
// rows, runs, River jobs and audit entries. Nothing is acted on twice: a
// repeated delivery id is a no-op, and runs are unique by identity.
// Deliveries that arrive together share their transaction (see batcher).
func (in *Intake) Accept(ctx context.Context, d Delivery) (Result, error) {
	if d.Parsed == nil && d.ParseErr == nil {
		d.Parsed, d.ParseErr = ParseEvent(d.Event, d.Payload)
	}
	if d.ParseErr == nil {
		d.ParseErr = in.Hosts.checkEvent(d.Parsed)
	}
	budget := in.RetryBudget
	if budget <= 0 {
		budget = defaultRetryBudget
	}
	p := &pendingDelivery{d: d, lane: laneOf(d.Parsed), deadline: time.Now().Add(budget), done: make(chan struct{})}
	in.batcher.add(in, p)
	select {
	case <-p.done:
		return p.res, p.err
	case <-ctx.Done():
		return Result{}, fmt.Errorf("delivery %s: %w", d.ID, ctx.Err())
	}
}

// Replay processes a stored delivery again (`sentinel replay`). The delivery
// row exists already; run identity still prevents duplicate runs.
func (in *Intake) Replay(ctx context.Context, deliveryID string) (Result, error) {
	stored, err := store.GetDelivery(ctx, in.DB, deliveryID)
	if err != nil {
		return Result{}, err
	}
	d := Delivery{ID: stored.DeliveryID, Event: stored.Event}
	d.Parsed, d.ParseErr = ParseEvent(stored.Event, stored.Payload)
	if d.ParseErr == nil {
		d.ParseErr = in.Hosts.checkEvent(d.Parsed)
	}
	var res Result
	err = in.DB.InTx(ctx, func(tx pgx.Tx) error {
		if err := store.MarkDeliveryReplayed(ctx, tx, stored.ID); err != nil {
			return err
		}
		late := &store.Deferred{}
		p := &pendingDelivery{d: d}
		results, running, err := in.applyDeliveries(ctx, tx, []*pendingDelivery{p}, []bool{false}, store.Known{}, late,
			func(_ int, repoID int64, outcome string, runIDs []int64) {
				late.DeliveryOutcome(stored.ID, repoID, outcome, runIDs)
			})
		if err != nil {
			return err
		}
		res = results[0]
		return finishBatch(ctx, in.River, tx, late, running)
	})
	if err != nil {
		return Result{}, fmt.Errorf("delivery %s: %w", deliveryID, err)
	}
	return res, nil
}

// recordBatch records a batch of deliveries in tx: it reads which were seen
// before and what is known of the installations and repositories they
// name, acts on each parsed event, creates all their runs together, and
// inserts the deliveries last, each with what was done with it, so that a
// delivery row is written once. A delivery recorded meanwhile by another
// transaction makes the insert fail on the unique delivery id, and the
// batch is retried delivery by delivery (commitBatch), finding it seen.
func (in *Intake) recordBatch(ctx context.Context, tx pgx.Tx, batch []*pendingDelivery) ([]Result, error) {
	ids := make([]string, len(batch))
	var installs []int64
	var refs []store.RepoRef
	for i, p := range batch {
		ids[i] = p.d.ID
		if p.d.Parsed == nil {
			continue
		}
		if p.d.Parsed.Installation != nil {
			installs = append(installs, p.d.Parsed.Installation.ID)
		}
		if p.d.Parsed.Repo != nil {
			refs = append(refs, store.RepoRef{GitHubID: p.d.Parsed.Repo.GitHubID, FullName: p.d.Parsed.Repo.FullName})
		}
	}
	seen, known, err := store.LookupDeliveries(ctx, tx, ids, installs, refs)
	if err != nil {
		return nil, err
	}
	if err := lockCreations(ctx, tx, installs, refs, known); err != nil {
		return nil, err
	}
	dup := make([]bool, len(batch))
	for i, p := range batch {
		dup[i] = seen[p.d.ID]
		seen[p.d.ID] = true // a repeat within the batch is a duplicate too
	}
	late := &store.Deferred{}
	results, running, err := in.applyDeliveries(ctx, tx, batch, dup, known, late,
		func(i int, repoID int64, outcome string, runIDs []int64) {
			d := batch[i].d
			rec := store.Delivery{DeliveryID: d.ID, Event: d.Event, Headers: d.Headers, Payload: d.Payload,
				RepositoryID: repoID, Outcome: outcome, RunIDs: runIDs}
			if d.Parsed != nil {
				rec.Action = d.Parsed.Action
				if d.Parsed.Installation != nil {
					rec.InstallationID = d.Parsed.Installation.ID
				}
			}
			late.Delivery(rec)
		})
	if err != nil {
		return nil, err
	}
	return results, finishBatch(ctx, in.River, tx, late, running)
}

// lockCreations takes the creation locks of the installations and
// repositories the batch names that the store does not hold yet
// (store.LockCreations), so that a concurrent batch creating them too
// waits for this one and then finds them. A known one costs nothing: in
// steady state this sends nothing.
func lockCreations(ctx context.Context, tx pgx.Tx, installs []int64, refs []store.RepoRef, known store.Known) error {
	var newInstalls []int64
	var newRepos []store.RepoRef
	for _, id := range installs {
		if known.Installation(id) == nil {
			newInstalls = append(newInstalls, id)
		}
	}
	for _, r := range refs {
		if known.Repository(r) == nil {
			newRepos = append(newRepos, r)
		}
	}
	return store.LockCreations(ctx, tx, newInstalls, newRepos)
}

// applyDeliveries acts on deliveries (dup[i]: seen before, acted on
// nothing), hands each other delivery's outcome to record, and returns the
// River jobs running the runs they superseded, for finishBatch to cancel.
func (in *Intake) applyDeliveries(ctx context.Context, tx pgx.Tx, batch []*pendingDelivery, dup []bool, known store.Known, late *store.Deferred,
	record func(i int, repoID int64, outcome string, runIDs []int64)) ([]Result, []int64, error) {
	results := make([]Result, len(batch))
	applied := make([]*intakeTx, len(batch))
	var wantRuns []*intakeTx
	for i, p := range batch {
		results[i].DeliveryID = p.d.ID
		switch {
		case dup[i]:
			results[i].Outcome = OutcomeDuplicate
		case p.d.ParseErr != nil:
			// A malformed payload is kept (nothing is lost) and answered 400.
			results[i].Outcome, results[i].Reason = OutcomeMalformed, p.d.ParseErr.Error()
			record(i, 0, "malformed: "+p.d.ParseErr.Error(), nil)
		default:
			a := &intakeTx{in: in, tx: tx, ev: p.d.Parsed, actor: "webhook:" + p.d.ID, delivery: p.d.ID, known: known, late: late}
			if err := a.apply(ctx); err != nil {
				return nil, nil, fmt.Errorf("delivery %s: %w", p.d.ID, err)
			}
			applied[i] = a
			if a.wantsRun {
				wantRuns = append(wantRuns, a)
			}
		}
	}
	running, err := createRuns(ctx, in.River, tx, late, wantRuns)
	if err != nil {
		return nil, nil, err
	}
	for i, a := range applied {
		if a == nil {
			continue
		}
		results[i].Outcome, results[i].Reason, results[i].Zen, results[i].RunIDs = a.outcome, a.reason, a.ev.Zen, a.runIDs
		outcome := a.outcome
		if a.reason != "" {
			outcome += ": " + a.reason
		}
		record(i, a.repoID, outcome, a.runIDs)
	}
	return results, running, nil
}
