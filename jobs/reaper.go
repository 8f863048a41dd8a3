package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// Reap removes what runs that are no longer running left behind: the
// runtime's containers (found by their sentinel.run label) and workspaces
// under workDir. A run still running keeps its resources, whichever worker
// runs it. Run it at start-up and periodically; it returns the run ids it
// cleaned up.
func Reap(ctx context.Context, db *store.DB, rt runner.Runtime, workDir string, log *slog.Logger) ([]int64, error) {
	candidates := map[int64]bool{}
	left, err := rt.Leftovers(ctx)
	if err != nil {
		return nil, fmt.Errorf("reap: %w", err)
	}
	for _, id := range left {
		candidates[id] = true
	}
	workspaces := map[int64]string{}
	if workDir != "" {
		entries, err := os.ReadDir(workDir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("reap: %w", err)
		}
		for _, e := range entries {
			if id, err := strconv.ParseInt(strings.TrimPrefix(e.Name(), "run-"), 10, 64); err == nil && e.IsDir() && strings.HasPrefix(e.Name(), "run-") {
				candidates[id] = true
				workspaces[id] = filepath.Join(workDir, e.Name())
			}
		}
	}
	var reaped []int64
	var errs []error
	for id := range candidates {
		run, err := store.GetRun(ctx, db, id)
		if err == nil && !store.IsFinalRunState(run.State) {
			continue // queued runs may be retried by this or another worker; running ones are live
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		if err == nil {
			// A finished run's failed tests may be re-running under its id.
			probing, err := store.ProbesRunning(ctx, db, id)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if probing {
				continue
			}
		}
		if err := rt.Cleanup(ctx, id); err != nil {
			errs = append(errs, err)
			continue
		}
		if ws, ok := workspaces[id]; ok {
			if err := os.RemoveAll(ws); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		log.Info("reaped leftovers of a finished run", "run_id", id)
		reaped = append(reaped, id)
	}
	return reaped, errors.Join(errs...)
}

// OrphanReapWorker runs Reap as the periodic orphan.reap job.
type OrphanReapWorker struct {
	river.WorkerDefaults[OrphanReapArgs]
	DB      *store.DB
	Runtime runner.Runtime
	WorkDir string
	Logger  *slog.Logger
}

func (w *OrphanReapWorker) Work(ctx context.Context, job *river.Job[OrphanReapArgs]) error {
	log := w.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return err
	}
	_, errFinish := FinishAbandonedRuns(ctx, w.DB, client, log)
	_, errReap := Reap(ctx, w.DB, w.Runtime, w.WorkDir, log)
	return errors.Join(errFinish, errReap)
}

// FinishAbandonedRuns ends runs left running by a job that River will not
// run again (its last attempt's worker was lost and the rescuer discarded
// it, or it was cancelled before it could record the end): the run becomes
// errored and its triage job is inserted in the same transaction.
func FinishAbandonedRuns(ctx context.Context, db *store.DB, client *river.Client[pgx.Tx], log *slog.Logger) ([]int64, error) {
	found, err := store.AbandonedRuns(ctx, db)
	if err != nil {
		return nil, err
	}
	var done []int64
	var errs []error
	for _, a := range found {
		msg := fmt.Sprintf("worker lost; its job is %s and will not run again", a.JobState)
		err := db.InTx(ctx, func(tx pgx.Tx) error {
			if _, err := store.AbandonSteps(ctx, tx, a.RunID, triage.StepErrored, msg); err != nil {
				return err
			}
			ok, err := store.TransitionRun(ctx, tx, a.RunID, []store.RunState{store.RunRunning}, store.RunErrored, triage.CategoryInfrastructure, msg)
			if err != nil || !ok {
				return err
			}
			return EnqueueTriage(ctx, client, tx, a.RunID)
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		log.Warn("ended a run its worker abandoned", "run_id", a.RunID, "job_state", a.JobState)
		done = append(done, a.RunID)
	}
	return done, errors.Join(errs...)
}
