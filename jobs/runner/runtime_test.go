package runner_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
)

// testShell is the shell runtime; its contract cases call busybox on the
// host (CI installs busybox-static).
func testShell(t *testing.T) runner.Runtime {
	if _, err := exec.LookPath("busybox"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("busybox not on PATH (required in CI): apt-get install -y busybox-static")
		}
		t.Skip("busybox not on PATH: apt-get install -y busybox-static")
	}
	return runner.NewShell()
}

var nextRunID atomic.Int64

func init() { nextRunID.Store(time.Now().UnixNano() % 1e9 * 100) }

type contractCase struct {
	name       string
	command    string
	limits     runner.Limits
	timeout    time.Duration
	network    string
	tmpfs      int64
	dockerOnly string // reason the shell runtime cannot offer this, or ""
	// during runs concurrently with the step once it printed "started".
	during func(ctx context.Context, cancel context.CancelCauseFunc, rt runner.Runtime, runID int64)
	check  func(t *testing.T, rt runner.Runtime, res runner.StepResult, stdout, stderr string, err error)
}

var errTestCancel = errors.New("cancelled by test")

var contractCases = []contractCase{
	{
		name:    "pass with output on both streams",
		command: `echo hello; echo oops >&2; cat marker.txt; echo "$FOO"`,
		check: func(t *testing.T, _ runner.Runtime, res runner.StepResult, stdout, stderr string, err error) {
			if err != nil || res.Failed() {
				t.Fatalf("res %+v err %v", res, err)
			}
			if stdout != "hello\nmarker\nbar\n" || stderr != "oops\n" {
				t.Errorf("stdout %q stderr %q", stdout, stderr)
			}
		},
	},
	{
		name:    "failing step reports its exit code",
		command: "echo before; exit 3",
		check: func(t *testing.T, _ runner.Runtime, res runner.StepResult, stdout, _ string, err error) {
			if err != nil || res.ExitCode != 3 || res.TimedOut || res.OOMKilled || stdout != "before\n" {
				t.Fatalf("res %+v stdout %q err %v", res, stdout, err)
			}
		},
	},
	{
		name:    "timeout kills the step and its children",
		command: "sleep 60 & echo started; sleep 60",
		timeout: time.Second,
		check: func(t *testing.T, _ runner.Runtime, res runner.StepResult, _, _ string, err error) {
			if err != nil || !res.TimedOut || !res.Failed() {
				t.Fatalf("res %+v err %v", res, err)
			}
			if d := res.Finished.Sub(res.Started); d > 15*time.Second {
				t.Errorf("took %v after a 1s timeout", d)
			}
		},
	},
	{
		name:    "memory limit",
		command: "busybox dd if=/dev/zero of=/dev/null bs=256M count=1",
		limits:  runner.Limits{Memory: 32 << 20},
		check: func(t *testing.T, rt runner.Runtime, res runner.StepResult, _, _ string, err error) {
			if err != nil || !res.Failed() {
				t.Fatalf("res %+v err %v", res, err)
			}
			if rt.Name() == "docker" && !res.OOMKilled {
				t.Errorf("OOMKilled not recorded: %+v", res)
			}
		},
	},
	{
		name:       "disk full on a small tmpfs",
		command:    "busybox dd if=/dev/zero of=/tmp/fill bs=64k count=64",
		tmpfs:      1 << 20,
		dockerOnly: "mounting a tmpfs needs a container",
		check: func(t *testing.T, _ runner.Runtime, res runner.StepResult, _, stderr string, err error) {
			if err != nil || res.ExitCode == 0 || !strings.Contains(stderr, "No space left on device") {
				t.Fatalf("res %+v stderr %q err %v", res, stderr, err)
			}
		},
	},
	{
		name:    "network none leaves only loopback and no DNS",
		command: `busybox awk 'NR>2 {print $1}' /proc/net/dev; busybox nslookup example.com >/dev/null 2>&1 && echo resolved || echo dns-failed`,
		network: "none",
		check: func(t *testing.T, _ runner.Runtime, res runner.StepResult, stdout, _ string, err error) {
			if err != nil || res.Failed() || stdout != "lo:\ndns-failed\n" {
				t.Fatalf("res %+v stdout %q err %v", res, stdout, err)
			}
		},
	},
	{
		name:    "cancellation stops the step",
		command: "echo started; sleep 60",
		during: func(_ context.Context, cancel context.CancelCauseFunc, _ runner.Runtime, _ int64) {
			cancel(errTestCancel)
		},
		check: func(t *testing.T, rt runner.Runtime, res runner.StepResult, _, _ string, err error) {
			if !errors.Is(err, errTestCancel) {
				t.Fatalf("err %v, want it to wrap the cancel cause", err)
			}
			if d := res.Finished.Sub(res.Started); d > 15*time.Second {
				t.Errorf("took %v to stop after cancellation", d)
			}
		},
	},
	{
		name:    "kill from another goroutine",
		command: "echo started; sleep 60",
		during: func(ctx context.Context, _ context.CancelCauseFunc, rt runner.Runtime, runID int64) {
			if err := rt.Kill(ctx, runID); err != nil {
				panic(err)
			}
		},
		check: func(t *testing.T, _ runner.Runtime, res runner.StepResult, _, _ string, err error) {
			if err != nil || res.ExitCode != 137 {
				t.Fatalf("res %+v err %v, want exit 137", res, err)
			}
		},
	},
}

// TestRuntimeContract runs one table of cases against every runtime.
func TestRuntimeContract(t *testing.T) {
	runtimes := []struct {
		name string
		make func(t *testing.T) runner.Runtime
	}{
		{"docker", func(t *testing.T) runner.Runtime { return runnertest.Docker(t) }},
		{"shell", func(t *testing.T) runner.Runtime { return testShell(t) }},
	}
	for _, r := range runtimes {
		t.Run(r.name, func(t *testing.T) {
			rt := r.make(t)
			for _, tc := range contractCases {
				t.Run(tc.name, func(t *testing.T) {
					if tc.dockerOnly != "" && rt.Name() != "docker" {
						t.Skipf("%s: %s", rt.Name(), tc.dockerOnly)
					}
					t.Parallel()
					runContractCase(t, rt, tc)
				})
			}
		})
	}
}

func runContractCase(t *testing.T, rt runner.Runtime, tc contractCase) {
	ws := t.TempDir()
	if err := os.WriteFile(ws+"/marker.txt", []byte("marker\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runID := nextRunID.Add(1)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	if err := rt.Prepare(ctx, runner.RunSpec{RunID: runID, Workspace: ws}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		fresh, done := context.WithTimeout(context.Background(), time.Minute)
		defer done()
		if err := rt.Cleanup(fresh, runID); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if left, err := rt.Leftovers(fresh); err != nil || slices.Contains(left, runID) {
			t.Errorf("run %d left resources behind (%v, %v)", runID, left, err)
		}
	})
	stdout, stderr := runnertest.NewLineWatch("started"), runnertest.NewLineWatch("")
	step := runner.StepSpec{
		RunID: runID, StepID: 1, Name: tc.name, Workspace: ws, Image: runner.LocalImageBusybox,
		Command: tc.command, Env: map[string]string{"FOO": "bar"}, Limits: tc.limits,
		Timeout: tc.timeout, Network: tc.network, TmpfsSize: tc.tmpfs, Stdout: stdout, Stderr: stderr,
	}
	if tc.timeout == 0 {
		step.Timeout = 2 * time.Minute
	}
	if tc.during != nil {
		go func() {
			select {
			case <-stdout.Seen():
				tc.during(ctx, cancel, rt, runID)
			case <-ctx.Done():
			}
		}()
	}
	res, err := rt.RunStep(ctx, step)
	tc.check(t, rt, res, stdout.String(), stderr.String(), err)
}

// TestDockerRemoveWorkspace empties a workspace from inside a container, the
// way the runner deletes files a step left that its own user cannot.
func TestDockerRemoveWorkspace(t *testing.T) {
	d := runnertest.Docker(t)
	ws := t.TempDir()
	for _, name := range []string{"a.txt", ".hidden", "..odd", "dir/b.txt"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(ws, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ws, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runID := nextRunID.Add(1)
	if err := d.RemoveWorkspace(context.Background(), runID, ws, runner.LocalImageBusybox); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(ws)
	if err != nil || len(entries) != 0 {
		t.Errorf("workspace still holds %v (%v)", entries, err)
	}
	if left, _ := d.Leftovers(context.Background()); slices.Contains(left, runID) {
		t.Errorf("container left behind")
	}
}

// TestShellMemoryLimitLetsGoStart: the shell's memory limit must bound what
// a step uses, not the address space Go reserves at start-up.
func TestShellMemoryLimitLetsGoStart(t *testing.T) {
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go on PATH")
	}
	// Not t.TempDir: the go command's telemetry child, which outlives the
	// step, may still be writing under the workspace (the step's HOME) when
	// the test ends, and TempDir's one RemoveAll then fails the test.
	workspace, err := os.MkdirTemp("", "shell-go-version-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for try := 0; try < 50 && os.RemoveAll(workspace) != nil; try++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	var out strings.Builder
	res, err := runner.NewShell().RunStep(context.Background(), runner.StepSpec{RunID: nextRunID.Add(1), Workspace: workspace,
		Command: goBin + " version", Limits: runner.Limits{Memory: 512 << 20}, Stdout: &out, Stderr: &out})
	if err != nil || res.Failed() || !strings.HasPrefix(out.String(), "go version") {
		t.Fatalf("res %+v err %v output %q", res, err, out.String())
	}
}

func TestNewRuntime(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	if rt, err := runner.NewRuntime(context.Background(), "shell", "", false, log); err != nil || rt.Name() != "shell" {
		t.Errorf("shell: %v %v", rt, err)
	}
	if _, err := runner.NewRuntime(context.Background(), "podman", "", false, log); err == nil {
		t.Error("unknown executor accepted")
	}
	runnertest.Docker(t)
	rt, err := runner.NewRuntime(context.Background(), "", "inst", false, log)
	if err != nil || rt.Name() != "docker" || rt.(*runner.Docker).Instance != "inst" {
		t.Errorf("default with a daemon: %v %v", rt, err)
	}
}

// TestNewRuntimeWithoutDockerRefuses: with SENTINEL_EXECUTOR unset and no
// daemon answering, there is no runtime (serve and worker do not start)
// unless the caller asked for the shell fallback (the demo).
func TestNewRuntimeWithoutDockerRefuses(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-daemon.sock"))
	log := slog.New(slog.DiscardHandler)
	if rt, err := runner.NewRuntime(context.Background(), "", "inst", false, log); err == nil || !strings.Contains(err.Error(), "SENTINEL_EXECUTOR=shell") {
		t.Errorf("no daemon, no fallback: %v %v, want an error naming SENTINEL_EXECUTOR=shell", rt, err)
	}
	if rt, err := runner.NewRuntime(context.Background(), "", "inst", true, log); err != nil || rt.Name() != "shell" {
		t.Errorf("no daemon, demo fallback: %v %v, want the shell", rt, err)
	}
	if rt, err := runner.NewRuntime(context.Background(), "shell", "inst", false, log); err != nil || rt.Name() != "shell" {
		t.Errorf("shell asked for: %v %v", rt, err)
	}
}

// TestDockerUnreachableIsInfra: a daemon that does not answer is the
// machinery's failure, so the run errors (and is retried), never fails.
func TestDockerUnreachableIsInfra(t *testing.T) {
	t.Parallel()
	d, err := runner.NewDocker(client.WithHost("unix://" + filepath.Join(t.TempDir(), "no-daemon.sock")))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	err = d.Prepare(context.Background(), runner.RunSpec{RunID: 1, Workspace: t.TempDir()})
	if !runner.IsInfra(err) {
		t.Errorf("Prepare: %v, want an *InfraError", err)
	}
	_, err = d.RunStep(context.Background(), runner.StepSpec{RunID: 1, Workspace: t.TempDir(), Image: runner.LocalImageBusybox, Command: "true"})
	if !runner.IsInfra(err) {
		t.Errorf("RunStep: %v, want an *InfraError", err)
	}
}

// TestDockerLimitsOnContainer: a step's limits are what docker inspect
// shows on its container while it runs: memory without swap, nano-CPUs and
// the pids limit.
//
// Not parallel: under the package's parallel Docker tests the container was
// at times already gone when listed (seen in CI, not explained yet).
func TestDockerLimitsOnContainer(t *testing.T) {
	d := runnertest.Docker(t)
	runID := nextRunID.Add(1)
	limits := runner.Limits{Memory: 256 << 20, NanoCPUs: 5e8, Pids: 64}
	stdout := runnertest.NewLineWatch("started")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type inspected struct {
		memory, swap, cpus, pids int64
		err                      error
	}
	got := make(chan inspected, 1)
	go func() {
		<-stdout.Seen()
		var in inspected
		defer func() { got <- in; _ = d.Kill(ctx, runID) }()
		// Every state (All), looked for a few times: the limits are in the
		// container's configuration whatever its state, and a list taken
		// just after the step printed has come back empty under load.
		var list client.ContainerListResult
		var err error
		for try := 0; try < 20; try++ {
			list, err = d.Client().ContainerList(ctx, client.ContainerListOptions{All: true,
				Filters: client.Filters{}.Add("label", runner.LabelRun+"="+strconv.FormatInt(runID, 10), runner.LabelInstance+"="+d.Instance)})
			if err != nil || len(list.Items) == 1 {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil || len(list.Items) != 1 {
			in.err = fmt.Errorf("containers: %+v (%v)", list.Items, err)
			return
		}
		info, err := d.Client().ContainerInspect(ctx, list.Items[0].ID, client.ContainerInspectOptions{})
		if err != nil {
			in.err = err
			return
		}
		hc := info.Container.HostConfig
		in.memory, in.swap, in.cpus = hc.Memory, hc.MemorySwap, hc.NanoCPUs
		if hc.PidsLimit != nil {
			in.pids = *hc.PidsLimit
		}
	}()
	res, err := d.RunStep(ctx, runner.StepSpec{RunID: runID, StepID: 1, Name: "limits", Workspace: t.TempDir(),
		Image: runner.LocalImageBusybox, Command: "echo started; sleep 60", Limits: limits, Timeout: time.Minute,
		Stdout: stdout, Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	in := <-got
	if in.err != nil {
		t.Fatalf("%v; the step ended with %+v", in.err, res)
	}
	if in.memory != limits.Memory || in.swap != limits.Memory || in.cpus != limits.NanoCPUs || in.pids != limits.Pids {
		t.Errorf("container has Memory=%d MemorySwap=%d NanoCpus=%d PidsLimit=%d, want %+v with swap = memory", in.memory, in.swap, in.cpus, in.pids, limits)
	}
}

// TestDockerPidsLimitContainsForkBomb: a step forking without end hits its
// pids limit within seconds and fails; the host is untouched.
func TestDockerPidsLimitContainsForkBomb(t *testing.T) {
	t.Parallel()
	d := runnertest.Docker(t)
	runID := nextRunID.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Cleanup(func() { _ = d.Cleanup(context.Background(), runID) })
	var stdout, stderr strings.Builder
	start := time.Now()
	res, err := d.RunStep(ctx, runner.StepSpec{RunID: runID, StepID: 1, Name: "bomb", Workspace: t.TempDir(),
		Image: runner.LocalImageBusybox, Command: "i=0; while [ $i -lt 500 ]; do sleep 30 & i=$((i+1)); done; echo all-forked",
		Limits: runner.Limits{Pids: 32}, Timeout: time.Minute, Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Failed() || res.TimedOut || strings.Contains(stdout.String(), "all-forked") {
		t.Errorf("res %+v stdout %q stderr %q: want the step stopped by its pids limit", res, stdout.String(), stderr.String())
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("took %v", took)
	}
	t.Logf("exit %d after %v: %s", res.ExitCode, time.Since(start), firstLineOf(stderr.String()))
}

func firstLineOf(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// TestDockerUserOwnsWhatStepsWrite: with User set, a step runs as that
// user, and what it writes in the workspace is that user's, as the demo's
// user owns its data directory; without it the step runs as the image's
// user (root).
func TestDockerUserOwnsWhatStepsWrite(t *testing.T) {
	t.Parallel()
	d := runnertest.Docker(t).WithInstance("")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	step := func(d *runner.Docker, ws, command string) (runner.StepResult, string) {
		t.Helper()
		var out strings.Builder
		res, err := d.RunStep(ctx, runner.StepSpec{RunID: nextRunID.Add(1), StepID: 1, Name: "user", Workspace: ws,
			Image: runner.LocalImageBusybox, Command: command, Timeout: time.Minute, Stdout: &out, Stderr: &out})
		if err != nil {
			t.Fatal(err)
		}
		return res, out.String()
	}
	if res, out := step(d, t.TempDir(), "id -u"); res.Failed() || out != "0\n" {
		t.Fatalf("without User: %q (%+v)", out, res)
	}
	ws := t.TempDir()
	if err := os.Chown(ws, 10001, 10001); err != nil {
		t.Fatal(err)
	}
	d.User = "10001:10001"
	if res, out := step(d, ws, "id -u; echo x > mine"); res.Failed() || out != "10001\n" {
		t.Fatalf("as 10001: %q (%+v)", out, res)
	}
	if fi, err := os.Stat(filepath.Join(ws, "mine")); err != nil || fi.Sys().(*syscall.Stat_t).Uid != 10001 {
		t.Errorf("file written as 10001: %v %v", fi, err)
	}
}
