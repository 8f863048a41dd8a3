package intake

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

// intakeTx applies one parsed event inside the intake transaction.
type intakeTx struct {
	in       *Intake
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
	inst := store.Installation{ID: ev.Installation.ID, AccountLogin: ev.Installation.AccountLogin, AccountType: ev.Installation.AccountType}
	if inst.AccountLogin == "" && ev.Repo != nil {
		inst.AccountLogin = ev.Repo.FullName[:max(strings.IndexByte(ev.Repo.FullName, '/'), 0)]
	}
	if err := store.UpsertInstallationKnown(ctx, a.tx, inst, a.known.Installation(inst.ID)); err != nil {
		return err
	}
	state := map[string]string{"deleted": "deleted", "suspend": "suspended", "unsuspend": "active", "created": "active"}[ev.Action]
	switch ev.Kind {
	case "installation":
		if err := store.SetInstallationState(ctx, a.tx, inst.ID, state); err != nil {
			return err
		}
		if err := a.late.Audit(a.actor, "installation."+ev.Action, "installation", inst.ID, map[string]any{"account": inst.AccountLogin}); err != nil {
			return err
		}
	case "installation_repositories":
		if err := a.late.Audit(a.actor, "installation_repositories."+ev.Action, "installation", inst.ID,
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
	id, err := a.in.Actions.RerunTx(ctx, a.tx, *prev, jobs.GitHubActor(a.ev.Sender), false)
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
