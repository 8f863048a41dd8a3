package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Shell runs steps as host processes, each in its own process group so that
// a timeout or a cancellation kills everything the step started. It is for
// machines without Docker and for the demo: the step's image is ignored, and
// limits are what the host lets one process set on another (applyLimits;
// Enforcement says which hold), and network "none" needs a network namespace
// (root, or unprivileged user namespaces).
type Shell struct {
	// Home is the steps' HOME, where toolchains keep their caches (Go's
	// build cache, npm's, pip's) between runs; "" uses the workspace, which
	// is removed after each run.
	Home string
	// CacheDir holds the caches of runs (shell_cache.go); "" keeps none
	// beyond what Home keeps.
	CacheDir string

	mu     sync.Mutex
	groups map[int64]map[int]bool // run id → process group ids alive
}

// NewShell returns a shell runtime.
func NewShell() *Shell { return &Shell{groups: map[int64]map[int]bool{}} }

func (s *Shell) Name() string { return "shell" }

func (s *Shell) Prepare(ctx context.Context, run RunSpec) error {
	st, err := os.Stat(run.Workspace)
	if err != nil {
		return infra("workspace", err)
	}
	if !st.IsDir() {
		return infra("workspace", fmt.Errorf("%s is not a directory", run.Workspace))
	}
	if err := s.Kill(ctx, run.RunID); err != nil {
		return err
	}
	return s.prepareCaches(ctx, run)
}

func (s *Shell) RunStep(ctx context.Context, step StepSpec) (StepResult, error) {
	// The shell waits at the gate until applyLimits has set its limits.
	gateR, gateW, err := os.Pipe()
	if err != nil {
		return StepResult{}, infra("step gate pipe", err)
	}
	defer gateW.Close()
	cmd := exec.Command("/bin/sh", "-c", gatePrefix+step.Command)
	cmd.ExtraFiles = []*os.File{gateR}
	cmd.Dir = step.Workspace
	cmd.Env = shellEnv(step, s.Home)
	cacheEnv, err := s.cacheEnv(step)
	if err != nil {
		return StepResult{}, err
	}
	cmd.Env = append(cmd.Env, cacheEnv...)
	outR, outW, err := os.Pipe()
	if err != nil {
		return StepResult{}, infra("step output pipe", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return StepResult{}, infra("step output pipe", err)
	}
	// Our own pipes, not exec's copying goroutines: Wait then returns when
	// the process exits, even if something it started still holds the output.
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if step.Network == "none" {
		isolateNetwork(cmd.SysProcAttr)
	}

	res := StepResult{Started: time.Now()}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	gateR.Close()
	if err == nil {
		if err = applyLimits(cmd.Process.Pid, step.Limits); err == nil {
			_, err = gateW.Write([]byte("\n"))
		}
		if err != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
		}
	}
	gateW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return res, infra("start step process", err)
	}
	copied := copyOutput(outR, errR, step)
	// The timeout counts from the start of the process.
	stepCtx, cancel := ctx, context.CancelFunc(func() {})
	if step.Timeout > 0 {
		stepCtx, cancel = context.WithTimeout(ctx, step.Timeout)
	}
	defer cancel()
	pgid := cmd.Process.Pid
	s.track(step.RunID, pgid, true)
	defer s.track(step.RunID, pgid, false)

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var waitErr error
	select {
	case waitErr = <-done:
		// The leader exited; children it left in the group die with it.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	case <-stepCtx.Done():
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		waitErr = <-done
	}
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
		// A process that left the group (setsid) still holds the output.
		outR.Close()
		errR.Close()
		<-copied
	}
	res.Finished = time.Now()

	if cause := context.Cause(ctx); cause != nil {
		return res, fmt.Errorf("step %q cancelled: %w", step.Name, cause)
	}
	if stepCtx.Err() != nil {
		res.TimedOut, res.ExitCode = true, -1
		return res, nil
	}
	var exit *exec.ExitError
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &exit):
		res.ExitCode = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.ExitCode = 128 + int(ws.Signal())
		}
	default:
		return res, infra("wait for step process", waitErr)
	}
	return res, nil
}

// shellEnv gives the step the host's PATH and nothing else of the host's
// environment: Sentinel's own secrets live there.
func shellEnv(step StepSpec, home string) []string {
	if home == "" {
		home = step.Workspace
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"TMPDIR=" + os.TempDir(),
		"CI=true",
	}
	keys := make([]string, 0, len(step.Env))
	for k := range step.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+step.Env[k])
	}
	return env
}

// isolateNetwork gives the process an empty network namespace: directly as
// root, inside a user namespace mapping the current user otherwise.
func isolateNetwork(attr *syscall.SysProcAttr) {
	attr.Cloneflags |= syscall.CLONE_NEWNET
	if os.Geteuid() != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Geteuid(), HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getegid(), HostID: os.Getegid(), Size: 1}}
	}
}

func (s *Shell) track(runID int64, pgid int, alive bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if alive {
		if s.groups[runID] == nil {
			s.groups[runID] = map[int]bool{}
		}
		s.groups[runID][pgid] = true
		return
	}
	delete(s.groups[runID], pgid)
	if len(s.groups[runID]) == 0 {
		delete(s.groups, runID)
	}
}

func (s *Shell) Kill(ctx context.Context, runID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for pgid := range s.groups[runID] {
		if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("kill process group %d: %w", pgid, err)
		}
	}
	return nil
}

func (s *Shell) Cleanup(ctx context.Context, runID int64) error {
	return errors.Join(s.Kill(ctx, runID), s.removeRunCaches(runID))
}

// Leftovers lists runs with live process groups in this process; groups of
// a crashed worker died with it (Pdeathsig) or cannot be found by label.
func (s *Shell) Leftovers(ctx context.Context) ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	runs := make([]int64, 0, len(s.groups))
	for id := range s.groups {
		runs = append(runs, id)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i] < runs[j] })
	return runs, nil
}

// copyOutput copies both pipes to the step's writers; the channel closes
// when both reach EOF (or are closed).
func copyOutput(outR, errR *os.File, step StepSpec) <-chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _, _ = io.Copy(writerOrDiscard(step.Stdout), outR); outR.Close() }()
	go func() { defer wg.Done(); _, _ = io.Copy(writerOrDiscard(step.Stderr), errR); errR.Close() }()
	go func() { wg.Wait(); close(done) }()
	return done
}
