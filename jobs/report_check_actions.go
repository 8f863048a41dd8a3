package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// RequestedAction is a click on one of the completed check run's buttons,
// from a check_run.requested_action delivery.
type RequestedAction struct {
	Identifier     string // ActionRerunFailed, ActionQuarantineFlaky, ActionOpenIncident
	RunID          int64  // Sentinel's run: the check run's external_id
	CheckRunID     int64
	InstallationID int64
	Repository     string // owner/name
	Sender         string // login of who clicked
}

// ErrNotOurCheckRun is returned for a check run Sentinel did not create.
var ErrNotOurCheckRun = errors.New("check run is not Sentinel's")

// ParseRequestedAction reads a check_run delivery with action requested_action.
func ParseRequestedAction(payload []byte) (RequestedAction, error) {
	var p struct {
		Action          string `json:"action"`
		RequestedAction *struct {
			Identifier string `json:"identifier"`
		} `json:"requested_action"`
		CheckRun struct {
			ID         int64  `json:"id"`
			Name       string `json:"name"`
			ExternalID string `json:"external_id"`
		} `json:"check_run"`
		Installation *struct {
			ID int64 `json:"id"`
		} `json:"installation"`
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
		Sender struct {
			Login string `json:"login"`
		} `json:"sender"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return RequestedAction{}, fmt.Errorf("check_run payload: %w", err)
	}
	if p.Action != "requested_action" || p.RequestedAction == nil || p.RequestedAction.Identifier == "" {
		return RequestedAction{}, fmt.Errorf("check_run payload: action %q carries no requested_action identifier", p.Action)
	}
	a := RequestedAction{
		Identifier: p.RequestedAction.Identifier, CheckRunID: p.CheckRun.ID,
		Repository: p.Repository.FullName, Sender: p.Sender.Login,
	}
	if p.Installation != nil {
		a.InstallationID = p.Installation.ID
	}
	runID, err := strconv.ParseInt(p.CheckRun.ExternalID, 10, 64)
	if p.CheckRun.Name != CheckName || err != nil || runID <= 0 {
		return a, fmt.Errorf("%w: name %q, external_id %q", ErrNotOurCheckRun, p.CheckRun.Name, p.CheckRun.ExternalID)
	}
	a.RunID = runID
	return a, nil
}

// ActionHandler carries out one button inside the intake's transaction (so
// that the River jobs it inserts commit with the delivery).
type ActionHandler func(ctx context.Context, tx pgx.Tx, a RequestedAction) error

// ActionRouter maps identifiers to handlers; the binary wires the three
// buttons to the run, flaky-test and incident code that owns each.
type ActionRouter map[string]ActionHandler

// ErrUnknownAction is returned for an identifier no handler is registered for.
var ErrUnknownAction = errors.New("unknown requested action")

// Route runs the handler for a.Identifier.
func (r ActionRouter) Route(ctx context.Context, tx pgx.Tx, a RequestedAction) error {
	h := r[a.Identifier]
	if h == nil {
		return fmt.Errorf("%w %q", ErrUnknownAction, a.Identifier)
	}
	return h(ctx, tx, a)
}
