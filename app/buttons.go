package app

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

// DefaultButtons are the check run buttons besides "Re-run failed":
// cmd wires them into Server.Buttons. Each is an action of jobs.Actions,
// run in the intake's transaction.
func (s *Server) DefaultButtons() map[string]ButtonHandler {
	return map[string]ButtonHandler{
		jobs.ActionQuarantineFlaky: s.Actions.QuarantineFlakyTx,
		jobs.ActionOpenIncident: func(ctx context.Context, tx pgx.Tx, run store.Run, sender string) error {
			_, err := s.Actions.OpenIncidentTx(ctx, tx, run, sender)
			return err
		},
	}
}
