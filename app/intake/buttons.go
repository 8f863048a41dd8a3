package intake

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

// ButtonHandler acts on a check run button (requested_action) inside the
// intake's transaction; sender is the GitHub login that pressed it. It
// returns store.ErrInvalidTransition, before writing anything, when the
// run's state does not allow the action: the delivery is then refused.
type ButtonHandler func(ctx context.Context, tx pgx.Tx, run store.Run, sender string) error

// DefaultButtons are the check run buttons besides "Re-run failed" (a
// re-run, which the intake handles itself). Each is an action of
// jobs.Actions, run in the intake's transaction.
func DefaultButtons(actions *jobs.Actions) map[string]ButtonHandler {
	return map[string]ButtonHandler{
		jobs.ActionQuarantineFlaky: actions.QuarantineFlakyTx,
		jobs.ActionOpenIncident: func(ctx context.Context, tx pgx.Tx, run store.Run, sender string) error {
			_, err := actions.OpenIncidentTx(ctx, tx, run, sender)
			return err
		},
	}
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
		id, err := a.in.Actions.RerunTx(ctx, a.tx, *prev, jobs.GitHubActor(a.ev.Sender), true)
		if a.refused(err) {
			return nil
		}
		a.runIDs = append(a.runIDs, id)
		return err
	}
	h, ok := a.in.Buttons[b.Identifier]
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
