package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// SetRunGoModules records the Go modules the runner found in a run's
// checkout (module path → directory); nothing is recorded for none.
func SetRunGoModules(ctx context.Context, q Querier, runID int64, modules map[string]string) error {
	if len(modules) == 0 {
		return nil
	}
	b, err := json.Marshal(modules)
	if err != nil {
		return fmt.Errorf("run %d go modules: %w", runID, err)
	}
	if _, err := q.Exec(ctx, `UPDATE runs SET go_modules = $2 WHERE id = $1`, runID, string(b)); err != nil {
		return fmt.Errorf("run %d go modules: %w", runID, err)
	}
	return nil
}

// RunGoModules is what SetRunGoModules recorded for a run, nil if nothing.
func RunGoModules(ctx context.Context, q Querier, runID int64) (map[string]string, error) {
	var modules map[string]string
	if err := q.QueryRow(ctx, `SELECT go_modules FROM runs WHERE id = $1`, runID).Scan(&modules); err != nil {
		return nil, fmt.Errorf("run %d go modules: %w", runID, err)
	}
	return modules, nil
}
