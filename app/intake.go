package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

// Delivery is a verified webhook delivery handed to Intake.
type Delivery struct {
	ID      string // X-GitHub-Delivery
	Event   string // X-GitHub-Event
	Payload []byte
	Headers map[string]string
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

// IntakeResult is the webhook's answer body.
type IntakeResult struct {
	Outcome    string  `json:"status"`
	Reason     string  `json:"reason,omitempty"`
	Zen        string  `json:"zen,omitempty"`
	DeliveryID string  `json:"delivery"`
	RunIDs     []int64 `json:"runs,omitempty"`
}

// ButtonHandler acts on a check run button (requested_action) inside the
// intake's transaction. Handlers are registered by identifier.
type ButtonHandler func(ctx context.Context, tx pgx.Tx, run store.Run, sender string) error

// Intake records a delivery and everything it causes in one transaction:
// the delivery row (deduplicated on its id), installation and repository
// rows, runs, River jobs and audit entries. Nothing is acted on twice: a
// repeated delivery id is a no-op, and runs are unique by identity.
// Deliveries that arrive together share their transaction (see batcher).
func (s *Server) Intake(ctx context.Context, d Delivery) (IntakeResult, error) {
	p := &pendingDelivery{d: d, done: make(chan struct{})}
	p.ev, p.parseErr = ParseEvent(d.Event, d.Payload) // pure, so parsed here, in parallel
	p.lane = laneOf(p.ev)
	s.batcher.add(s, p)
	select {
	case <-p.done:
		return p.res, p.err
	case <-ctx.Done():
		return IntakeResult{}, fmt.Errorf("delivery %s: %w", d.ID, ctx.Err())
	}
}

// Replay processes a stored delivery again (`sentinel replay`). The delivery
// row exists already; run identity still prevents duplicate runs.
func (s *Server) Replay(ctx context.Context, deliveryID string) (IntakeResult, error) {
	stored, err := store.GetDelivery(ctx, s.DB, deliveryID)
	if err != nil {
		return IntakeResult{}, err
	}
	ev, parseErr := ParseEvent(stored.Event, stored.Payload)
	var res IntakeResult
	err = s.DB.InTx(ctx, func(tx pgx.Tx) error {
		if err := store.MarkDeliveryReplayed(ctx, tx, stored.ID); err != nil {
			return err
		}
		late := &store.Deferred{}
		p := &pendingDelivery{d: Delivery{ID: stored.DeliveryID, Event: stored.Event}, ev: ev, parseErr: parseErr}
		results, oldJobs, err := s.applyDeliveries(ctx, tx, []*pendingDelivery{p}, []int64{stored.ID}, store.Known{}, late)
		if err != nil {
			return err
		}
		res = results[0]
		return finishBatch(ctx, s.River, tx, late, oldJobs)
	})
	if err != nil {
		return IntakeResult{}, fmt.Errorf("delivery %s: %w", deliveryID, err)
	}
	return res, nil
}

// intakeBatch records a batch of deliveries in tx: their rows in one
// statement, then each parsed event, then all their runs together.
func (s *Server) intakeBatch(ctx context.Context, tx pgx.Tx, batch []*pendingDelivery) ([]IntakeResult, error) {
	recs := make([]store.Delivery, len(batch))
	var refs []store.RepoRef
	for i, p := range batch {
		recs[i] = store.Delivery{DeliveryID: p.d.ID, Event: p.d.Event, Headers: p.d.Headers, Payload: p.d.Payload}
		if p.ev == nil {
			continue
		}
		recs[i].Action = p.ev.Action
		if p.ev.Installation != nil {
			recs[i].InstallationID = p.ev.Installation.ID
		}
		if p.ev.Repo != nil {
			refs = append(refs, store.RepoRef{GitHubID: p.ev.Repo.GitHubID, FullName: p.ev.Repo.FullName})
		}
	}
	rowIDs, known, err := store.InsertDeliveries(ctx, tx, recs, refs)
	if err != nil {
		return nil, err
	}
	late := &store.Deferred{}
	results, oldJobs, err := s.applyDeliveries(ctx, tx, batch, rowIDs, known, late)
	if err != nil {
		return nil, err
	}
	return results, finishBatch(ctx, s.River, tx, late, oldJobs)
}

// applyDeliveries acts on recorded deliveries (rowIDs[i] == 0: a duplicate),
// queues their outcomes in late and returns the River jobs of the runs they
// superseded.
func (s *Server) applyDeliveries(ctx context.Context, tx pgx.Tx, batch []*pendingDelivery, rowIDs []int64, known store.Known, late *store.Deferred) ([]IntakeResult, []int64, error) {
	results := make([]IntakeResult, len(batch))
	applied := make([]*intakeTx, len(batch))
	var wantRuns []*intakeTx
	for i, p := range batch {
		results[i].DeliveryID = p.d.ID
		switch {
		case rowIDs[i] == 0:
			results[i].Outcome = OutcomeDuplicate
		case p.parseErr != nil:
			// A malformed payload is kept (nothing is lost) and answered 400.
			results[i].Outcome, results[i].Reason = OutcomeMalformed, p.parseErr.Error()
			late.DeliveryOutcome(rowIDs[i], 0, "malformed: "+p.parseErr.Error(), nil)
		default:
			a := &intakeTx{s: s, tx: tx, ev: p.ev, actor: "webhook:" + p.d.ID, delivery: p.d.ID, known: known, late: late}
			if err := a.apply(ctx); err != nil {
				return nil, nil, fmt.Errorf("delivery %s: %w", p.d.ID, err)
			}
			applied[i] = a
			if a.wantsRun {
				wantRuns = append(wantRuns, a)
			}
		}
	}
	oldJobs, err := createRuns(ctx, s.River, tx, late, wantRuns)
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
		late.DeliveryOutcome(rowIDs[i], a.repoID, outcome, a.runIDs)
	}
	return results, oldJobs, nil
}

// intakeTx applies one parsed event inside the intake transaction.
type intakeTx struct {
	s        *Server
	tx       pgx.Tx
	ev       *Event
	actor    string
	delivery string
	known    store.Known     // rows read with the delivery insert
	late     *store.Deferred // writes sent together before commit

	repoID   int64
	wantsRun bool // a push or pull request run, created with the batch's others
	runIDs   []int64
	outcome  string
	reason   string
}

func (a *intakeTx) apply(ctx context.Context) error {
	ev := a.ev
	a.outcome = OutcomeAccepted
	if ev.Ignore != "" {
		a.outcome, a.reason = OutcomeIgnored, ev.Ignore
		return nil
	}
	if ev.Kind == "ping" {
		a.outcome, a.reason = OutcomeIgnored, "ping"
		return nil
	}
	if err := a.recordInstallation(ctx); err != nil {
		return err
	}
	if ev.Repo != nil && ev.Kind != "installation" && ev.Kind != "installation_repositories" {
		if err := a.recordRepo(ctx, *ev.Repo); err != nil {
			return err
		}
	}
	switch {
	case ev.Run != nil:
		a.wantsRun = true
		return nil
	case ev.Rerun != nil:
		return a.rerun(ctx)
	case ev.Button != nil:
		return a.button(ctx)
	}
	return nil // installation changes were recorded above
}

func (a *intakeTx) recordInstallation(ctx context.Context) error {
	ev := a.ev
	if ev.Installation == nil {
		return nil
	}
	in := store.Installation{ID: ev.Installation.ID, AccountLogin: ev.Installation.AccountLogin, AccountType: ev.Installation.AccountType}
	if in.AccountLogin == "" && ev.Repo != nil {
		in.AccountLogin = ev.Repo.FullName[:max(strings.IndexByte(ev.Repo.FullName, '/'), 0)]
	}
	if err := store.UpsertInstallationKnown(ctx, a.tx, in, a.known.Installation(in.ID)); err != nil {
		return err
	}
	state := map[string]string{"deleted": "deleted", "suspend": "suspended", "unsuspend": "active", "created": "active"}[ev.Action]
	switch ev.Kind {
	case "installation":
		if err := store.SetInstallationState(ctx, a.tx, in.ID, state); err != nil {
			return err
		}
		if err := a.late.Audit(a.actor, "installation."+ev.Action, "installation", in.ID, map[string]any{"account": in.AccountLogin}); err != nil {
			return err
		}
	case "installation_repositories":
		if err := a.late.Audit(a.actor, "installation_repositories."+ev.Action, "installation", in.ID,
			map[string]any{"added": len(ev.Repos), "removed": len(ev.Removed)}); err != nil {
			return err
		}
	}
	if ev.Action == "deleted" {
		return nil
	}
	for _, r := range ev.Repos {
		if err := a.recordRepo(ctx, r); err != nil {
			return err
		}
	}
	for _, id := range ev.Removed {
		if err := store.DeactivateRepository(ctx, a.tx, id); err != nil {
			return err
		}
	}
	return nil
}

func (a *intakeTx) recordRepo(ctx context.Context, r EventRepo) error {
	repo := store.Repository{GitHubID: r.GitHubID, FullName: r.FullName, CloneURL: r.CloneURL, DefaultBranch: r.DefaultBranch, Private: r.Private}
	if a.ev.Installation != nil {
		repo.InstallationID = a.ev.Installation.ID
	}
	var id int64
	var err error
	if k := a.known.Repository(store.RepoRef{GitHubID: r.GitHubID, FullName: r.FullName}); k != nil {
		id, err = store.UpsertRepositoryKnown(ctx, a.tx, repo, k)
	} else {
		id, err = store.UpsertRepository(ctx, a.tx, repo)
	}
	if a.repoID == 0 {
		a.repoID = id
	}
	return err
}

// rerun creates a new attempt of a commit that ran before.
func (a *intakeTx) rerun(ctx context.Context) error {
	rr := a.ev.Rerun
	prev, err := a.previousRun(ctx, rr.RunID, rr.SHA)
	if err != nil {
		return err
	}
	if prev == nil {
		a.outcome, a.reason = OutcomeIgnored, "no earlier run of this commit to re-run"
		return nil
	}
	id, err := a.s.Actions.RerunTx(ctx, a.tx, *prev, jobs.GitHubActor(a.ev.Sender))
	if a.refused(err) {
		return nil
	}
	if err != nil {
		return err
	}
	a.runIDs = append(a.runIDs, id)
	return nil
}

// refused reports whether err is an action the state does not allow, and
// makes it the delivery's outcome. Actions refuse before they write, so
// the transaction goes on.
func (a *intakeTx) refused(err error) bool {
	if !errors.Is(err, store.ErrInvalidTransition) {
		return false
	}
	a.outcome, a.reason = OutcomeRefused, err.Error()
	return true
}

func (a *intakeTx) previousRun(ctx context.Context, runID int64, sha string) (*store.Run, error) {
	if runID != 0 {
		r, err := store.GetRun(ctx, a.tx, runID)
		if err == nil && r.RepositoryID == a.repoID {
			return &r, nil
		}
	}
	id, err := store.LatestRunOfCommit(ctx, a.tx, a.repoID, sha)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r, err := store.GetRun(ctx, a.tx, id)
	return &r, err
}

// button routes a check run button press by its identifier.
func (a *intakeTx) button(ctx context.Context) error {
	b := a.ev.Button
	prev, err := a.previousRun(ctx, b.RunID, b.SHA)
	if err != nil {
		return err
	}
	if prev == nil {
		a.outcome, a.reason = OutcomeIgnored, "button pressed on a check run Sentinel does not know"
		return nil
	}
	if b.Identifier == jobs.ActionRerunFailed {
		id, err := a.s.Actions.RerunTx(ctx, a.tx, *prev, jobs.GitHubActor(a.ev.Sender))
		if a.refused(err) {
			return nil
		}
		a.runIDs = append(a.runIDs, id)
		return err
	}
	h, ok := a.s.Buttons[b.Identifier]
	if !ok {
		a.outcome, a.reason = OutcomeIgnored, fmt.Sprintf("unknown button %q", b.Identifier)
		return nil
	}
	if err := h(ctx, a.tx, *prev, a.ev.Sender); a.refused(err) {
		return nil
	} else if err != nil {
		return err
	}
	return a.late.Audit(a.actor, "button."+b.Identifier, "run", prev.ID, map[string]any{"sender": a.ev.Sender})
}
