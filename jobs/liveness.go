package jobs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// DefaultLostAfter is how long a process may go without a heartbeat before
// others rescue its jobs.
const DefaultLostAfter = 60 * time.Second

// Liveness is one process's heartbeat and its part in rescuing the jobs of
// lost processes. Every `serve` and `worker` process runs one:
//
//   - at start it records itself (store.Process, its id being its River
//     client id) and rescues at once the jobs of its own earlier starts (same
//     host and work directory, whose process is gone);
//   - every LostAfter/6 it heartbeats, apart from everything else;
//   - every LostAfter/4 it rescues the jobs still running under processes
//     that stopped, or whose heartbeat is older than LostAfter, ends the
//     steps of finished runs that nobody will end, and reaps what finished
//     runs left in its work directory.
//
// A rescue locks the lost attempt's River job (FOR UPDATE SKIP LOCKED), so
// among many live processes exactly one rescues each attempt. River's own
// rescue of stuck jobs (RescueStuckJobsAfter, longer than any run) stays as
// the backstop for jobs of processes that left no row.
type Liveness struct {
	DB        *store.DB
	Client    *river.Client[pgx.Tx]
	Runtime   runner.Runtime
	WorkDir   string
	Process   store.Process // this process; Hostname, PID, WorkDir filled in by Start when empty
	LostAfter time.Duration // DefaultLostAfter when 0
	Logger    *slog.Logger
	// OnLost is called when this process learns that others declared it
	// lost and rescued its jobs (its heartbeats did not reach the database
	// for LostAfter): it must stop working, or its runs would run twice.
	OnLost func()

	healthySince atomic.Int64 // UnixNano since when every heartbeat succeeded; 0 after a failure
	stopBeats    context.CancelFunc
	beats        sync.WaitGroup
}

func (l *Liveness) setHealthySince(t time.Time) {
	if t.IsZero() {
		l.healthySince.Store(0)
		return
	}
	l.healthySince.Store(t.UnixNano())
}

// healthyFor is how long this process's heartbeats have all succeeded.
func (l *Liveness) healthyFor() time.Duration {
	since := l.healthySince.Load()
	if since == 0 {
		return 0
	}
	return time.Since(time.Unix(0, since))
}

// NewProcessID returns a process id unique per start: host, pid and a
// random part (a restarted container keeps its host name and often its pid).
func NewProcessID() string {
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	id := fmt.Sprintf("%s-%d-%x-%x", host, os.Getpid(), time.Now().UnixMilli(), b)
	if len(id) > 100 { // River's limit on client ids
		id = id[len(id)-100:]
	}
	return id
}

func (l *Liveness) lostAfter() time.Duration {
	if l.LostAfter <= 0 {
		return DefaultLostAfter
	}
	return l.LostAfter
}

func (l *Liveness) log() *slog.Logger {
	if l.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Logger
}

// Start records this process, starts its heartbeat (until Stop), and
// rescues the runs of its own earlier starts (errors of that rescue are
// logged; the sweep retries). Call it before River starts working.
func (l *Liveness) Start(ctx context.Context) error {
	if l.Process.Hostname == "" {
		l.Process.Hostname, _ = os.Hostname()
	}
	if l.Process.PID == 0 {
		l.Process.PID = os.Getpid()
	}
	if l.Process.WorkDir == "" {
		l.Process.WorkDir = l.WorkDir
	}
	if err := store.RegisterProcess(ctx, l.DB, l.Process); err != nil {
		return err
	}
	l.setHealthySince(time.Now())
	// Heartbeats run apart from sweeps: a slow sweep (Docker, a rescue) must
	// not make this process look lost.
	beatCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	l.stopBeats = stop
	l.beats.Add(1)
	go func() {
		defer l.beats.Done()
		t := time.NewTicker(l.lostAfter() / 6)
		defer t.Stop()
		for {
			select {
			case <-beatCtx.Done():
				return
			case <-t.C:
				l.heartbeat(beatCtx)
			}
		}
	}()
	earlier, err := store.UnrescuedProcessesOn(ctx, l.DB, l.Process.Hostname, l.Process.WorkDir, l.Process.ID)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range earlier {
		if p.PID != l.Process.PID && !p.Stopped && processExists(p.PID) {
			continue // another live process sharing this host and directory
		}
		errs = append(errs, l.rescueProcess(ctx, p, "its process was restarted"))
	}
	if _, err := Reap(ctx, l.DB, l.Runtime, l.WorkDir, l.log()); err != nil {
		errs = append(errs, err)
	}
	// The periodic sweep tries again; failing to start over it would keep
	// this process from working at all.
	if err := errors.Join(errs...); err != nil {
		l.log().Warn("rescue at start-up", "err", err)
	}
	return nil
}

// processExists reports whether a process with this pid runs on this host.
func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Run sweeps until ctx ends.
func (l *Liveness) Run(ctx context.Context) {
	sweep := time.NewTicker(l.lostAfter() / 4)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			if err := l.Sweep(ctx); err != nil && ctx.Err() == nil {
				l.log().Warn("liveness sweep", "err", err)
			}
		}
	}
}

func (l *Liveness) heartbeat(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, l.lostAfter()/3)
	defer cancel()
	err := store.HeartbeatProcess(ctx, l.DB, l.Process.ID)
	switch {
	case errors.Is(err, store.ErrProcessRescued):
		l.log().Error("this process was declared lost and its jobs rescued by others; stopping", "process", l.Process.ID)
		if l.OnLost != nil {
			l.OnLost()
		}
	case err != nil:
		l.setHealthySince(time.Time{})
		if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			l.log().Warn("heartbeat failed", "err", err)
		}
	case l.healthySince.Load() == 0:
		l.setHealthySince(time.Now())
	}
}

// Stop ends the heartbeat and records a clean stop, once River has
// stopped: others may then take over whatever this process still held
// without waiting.
func (l *Liveness) Stop(ctx context.Context) error {
	if l.stopBeats != nil {
		l.stopBeats()
		l.beats.Wait()
	}
	return store.StopProcess(ctx, l.DB, l.Process.ID)
}

// Sweep rescues the jobs of lost processes, ends the steps of finished runs
// that nobody will end, and reaps this process's work directory. Other
// processes are judged lost only once this one's own heartbeats have reached
// the database for LostAfter: after a database outage every heartbeat is
// old, and live processes must have beaten again before anyone judges them.
func (l *Liveness) Sweep(ctx context.Context) error {
	var errs []error
	if l.healthyFor() >= l.lostAfter() {
		lost, err := store.LostProcesses(ctx, l.DB, l.lostAfter())
		errs = append(errs, err)
		for _, p := range lost {
			if p.ID == l.Process.ID {
				continue
			}
			why := "it stopped"
			if !p.Stopped {
				why = fmt.Sprintf("its last heartbeat was %s ago", time.Since(p.HeartbeatAt).Round(time.Second))
			}
			errs = append(errs, l.rescueProcess(ctx, p, why))
		}
	}
	if n, err := store.EndStepsOfFinishedRuns(ctx, l.DB); err != nil {
		errs = append(errs, err)
	} else if n > 0 {
		l.log().Warn("ended steps of finished runs whose worker was lost", "steps", n)
	}
	if _, err := Reap(ctx, l.DB, l.Runtime, l.WorkDir, l.log()); err != nil {
		errs = append(errs, err)
	}
	if _, err := store.PruneProcesses(ctx, l.DB, time.Now().Add(-7*24*time.Hour)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// rescueProcess rescues every job still running under p, then marks p rescued.
func (l *Liveness) rescueProcess(ctx context.Context, p store.Process, why string) error {
	ids, err := store.JobsHeldBy(ctx, l.DB, p.ID)
	if err != nil {
		return err
	}
	reason := fmt.Sprintf("worker lost: process %s (%s, pid %d) %s", p.ID, p.Hostname, p.PID, why)
	var errs []error
	for _, id := range ids {
		if err := l.rescueJob(ctx, p.ID, id, reason); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	ok, err := store.MarkProcessRescued(ctx, l.DB, p.ID)
	if err == nil && (ok || len(ids) > 0) {
		l.log().Warn("rescued the jobs of a lost process", "process", p.ID, "jobs", len(ids), "why", why)
	}
	return err
}

// rescueJob ends the lost attempt of one job in one transaction that holds
// the job's row lock, so it happens once. A run's containers and workspace
// go first, while the lock keeps any new attempt from starting; then the
// run is retried once (its job available again) or, lost a second time or
// out of attempts, finished errored with the reason, its check run
// completed through triage as for any finished run. Other jobs are made
// available again while attempts remain, as River's rescuer would.
func (l *Liveness) rescueJob(ctx context.Context, processID string, jobID int64, reason string) error {
	return l.DB.InTx(ctx, func(tx pgx.Tx) error {
		j, ok, err := store.LockHeldJob(ctx, tx, jobID, processID)
		if err != nil || !ok {
			return err
		}
		if j.Kind != (RunExecuteArgs{}).Kind() {
			to := store.ReleaseRetry
			if j.Attempt >= j.MaxAttempts {
				to = store.ReleaseDiscard
			}
			return store.ReleaseHeldJob(ctx, tx, j, to, reason)
		}
		var args RunExecuteArgs
		if err := json.Unmarshal(j.Args, &args); err != nil {
			return fmt.Errorf("job %d args: %w", j.ID, err)
		}
		return l.rescueRun(ctx, tx, j, args.RunID, reason)
	})
}

func (l *Liveness) rescueRun(ctx context.Context, tx pgx.Tx, j store.HeldJob, runID int64, reason string) error {
	log := l.log().With("run_id", runID, "job_id", j.ID)
	if err := l.Runtime.Cleanup(ctx, runID); err != nil {
		return fmt.Errorf("remove containers of run %d: %w", runID, err)
	}
	if l.WorkDir != "" {
		// Another host's workspace is reaped by that host once the run is over.
		if err := os.RemoveAll(filepath.Join(l.WorkDir, "run-"+strconv.FormatInt(runID, 10))); err != nil {
			return fmt.Errorf("remove workspace of run %d: %w", runID, err)
		}
	}
	run, err := store.GetRun(ctx, tx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return store.ReleaseHeldJob(ctx, tx, j, store.ReleaseCancel, reason)
	}
	if err != nil {
		return err
	}
	if store.IsFinalRunState(run.State) {
		// Superseded or cancelled while its worker was gone: only the steps are left to end.
		stepState := triage.StepErrored
		if run.State == store.RunCancelled {
			stepState = triage.StepCancelled
		}
		if _, err := store.AbandonSteps(ctx, tx, runID, stepState, reason); err != nil {
			return err
		}
		log.Warn("ended the steps of a finished run whose worker was lost", "state", run.State)
		return store.ReleaseHeldJob(ctx, tx, j, store.ReleaseCancel, reason)
	}
	if _, err := store.AbandonSteps(ctx, tx, runID, triage.StepErrored, reason); err != nil {
		return err
	}
	unfinished := []store.RunState{store.RunQueued, store.RunRunning}
	if j.WorkerLost == 0 && j.Attempt < j.MaxAttempts {
		if _, err := store.TransitionRun(ctx, tx, runID, unfinished, store.RunQueued, triage.CategoryInfrastructure, reason+"; retrying once"); err != nil {
			return err
		}
		log.Warn("worker lost; retrying the run", "reason", reason)
		return store.ReleaseHeldJob(ctx, tx, j, store.ReleaseRetry, reason)
	}
	msg := reason + "; not retried again"
	if j.WorkerLost == 0 {
		msg = reason + "; no attempts left"
	}
	ok, err := store.TransitionRun(ctx, tx, runID, unfinished, store.RunErrored, triage.CategoryInfrastructure, msg)
	if err != nil {
		return err
	}
	if err := store.ReleaseHeldJob(ctx, tx, j, store.ReleaseDiscard, msg); err != nil {
		return err
	}
	if !ok {
		return nil
	}
	log.Warn("worker lost; the run ended errored", "reason", msg)
	return EnqueueTriage(ctx, l.Client, tx, runID)
}
