package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// StepLimit is one resource limit the steps of a run were given, and
// whether the runtime could enforce it: the run page and the API show both,
// so that nobody believes in a limit the host did not apply.
type StepLimit struct {
	Name     string `json:"name"`  // memory, cpus, pids, disk
	Value    string `json:"value"` // as people write it: "4 GiB", "2", "4096"
	Enforced bool   `json:"enforced"`
	How      string `json:"how"` // how it is enforced, or why it is not
}

// SetRunLimits records the limits of a run's steps.
func SetRunLimits(ctx context.Context, q Querier, runID int64, limits []StepLimit) error {
	b, err := json.Marshal(limits)
	if err != nil {
		return fmt.Errorf("run %d limits: %w", runID, err)
	}
	if _, err := q.Exec(ctx, `UPDATE runs SET limits = $2 WHERE id = $1`, runID, string(b)); err != nil {
		return fmt.Errorf("run %d limits: %w", runID, err)
	}
	return nil
}

// AddRunWarning appends a warning to a run, once: a re-executed attempt
// meeting the same problem does not say it twice.
func AddRunWarning(ctx context.Context, q Querier, runID int64, warning string) error {
	if _, err := q.Exec(ctx, `UPDATE runs SET warnings = array_append(warnings, $2)
		WHERE id = $1 AND NOT ($2 = ANY(warnings))`, runID, warning); err != nil {
		return fmt.Errorf("run %d warning: %w", runID, err)
	}
	return nil
}
