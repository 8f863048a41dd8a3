package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// Labels put on every container Sentinel creates; the reaper and the
// recovery of a rescued job find containers by them.
const (
	LabelRun      = "sentinel.run"
	LabelStep     = "sentinel.step"
	LabelInstance = "sentinel.instance"
)

// CleanupTimeout bounds kill/remove calls made after the job context died,
// such as Runtime.Cleanup with its fresh context.
const CleanupTimeout = 15 * time.Second

// keptCapabilities are added back after dropping all: enough for package
// managers and builds running as root inside the container to own and write
// their files, nothing that reaches outside it.
var keptCapabilities = []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "NET_BIND_SERVICE"}

// Docker runs each step in a fresh container.
type Docker struct {
	cli *client.Client
	// Instance tells this Sentinel's containers from those of another
	// Sentinel (another database) using the same daemon, whose run ids
	// overlap ours: kill, cleanup and reaping only touch our own. See
	// InstanceID; "" means "default".
	Instance string
	// User, when set ("uid:gid"), runs step containers as that user rather
	// than the image's: the demo, run by an ordinary user, so that what its
	// steps write to the workspace stays that user's to delete.
	User string
}

// WithInstance returns a runtime on the same client for another instance.
func (d *Docker) WithInstance(instance string) *Docker {
	return &Docker{cli: d.cli, Instance: instance, User: d.User}
}

func (d *Docker) instance() string {
	if d.Instance == "" {
		return "default"
	}
	return d.Instance
}

// runFilter selects this instance's containers of one run, or of every run when runID is 0.
func (d *Docker) runFilter(runID int64) client.Filters {
	f := client.Filters{}.Add("label", LabelInstance+"="+d.instance())
	if runID == 0 {
		return f.Add("label", LabelRun)
	}
	return f.Add("label", LabelRun+"="+strconv.FormatInt(runID, 10))
}

// NewDocker connects to the daemon named by the environment (DOCKER_HOST or
// the default socket), or as opts say.
func NewDocker(opts ...client.Opt) (*Docker, error) {
	if len(opts) == 0 {
		opts = []client.Opt{client.FromEnv}
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return &Docker{cli: cli}, nil
}

// Client exposes the moby client, for image builds and pulls (BuildLocalImages, the demo).
func (d *Docker) Client() *client.Client { return d.cli }

// Close releases the client's connections.
func (d *Docker) Close() error { return d.cli.Close() }

func (d *Docker) Name() string { return "docker" }

// Ping reports whether the daemon answers.
func (d *Docker) Ping(ctx context.Context) error {
	_, err := d.cli.Ping(ctx, client.PingOptions{})
	return err
}

func (d *Docker) Prepare(ctx context.Context, run RunSpec) error {
	if err := d.Ping(ctx); err != nil {
		return infra("docker daemon", err)
	}
	// A rescued job finds the containers of its crashed predecessor here.
	if err := d.Cleanup(ctx, run.RunID); err != nil {
		return err
	}
	return d.prepareCaches(ctx, run)
}

func (d *Docker) RunStep(ctx context.Context, step StepSpec) (StepResult, error) {
	if err := d.ensureImage(ctx, step.Image); err != nil {
		return StepResult{}, err
	}
	opts := containerOptions(step)
	opts.Config.User = d.User
	opts.Config.Labels[LabelInstance] = d.instance()
	d.cacheMounts(step, &opts)
	if step.Services && step.Network != "none" {
		opts.HostConfig.NetworkMode = container.NetworkMode(d.runNetwork(step.RunID))
	}
	created, err := d.cli.ContainerCreate(ctx, opts)
	if err != nil {
		return StepResult{}, d.stepError(ctx, "create container", err)
	}
	id := created.ID
	defer d.remove(id)

	attach, err := d.cli.ContainerAttach(ctx, id, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return StepResult{}, d.stepError(ctx, "attach container", err)
	}
	defer attach.Close()
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(writerOrDiscard(step.Stdout), writerOrDiscard(step.Stderr), attach.Reader)
		copied <- err
	}()

	wait := d.cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	res := StepResult{Started: time.Now()}
	if _, err := d.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return res, d.stepError(ctx, "start container", err)
	}
	// The step's timeout counts from the start of its process, not from
	// container creation, which a busy daemon can make slow.
	var timeout <-chan time.Time
	if step.Timeout > 0 {
		timer := time.NewTimer(step.Timeout)
		defer timer.Stop()
		timeout = timer.C
	}
	stopped := false
	select {
	case <-wait.Result:
	case err := <-wait.Error:
		if ctx.Err() == nil {
			return res, infra("wait for container", err)
		}
		stopped = true
	case <-ctx.Done():
		stopped = true
	case <-timeout:
		stopped, res.TimedOut = true, true
	}
	if stopped {
		// Timeout or cancellation: the job context may be dead, so kill with a fresh one.
		d.kill(id)
	}
	// The attach stream ends when the container's output closes; a process
	// that left a child holding stdout is bounded by the kill above.
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
		attach.Close()
		<-copied
	}
	res.Finished = time.Now()

	if err := context.Cause(ctx); err != nil {
		return res, fmt.Errorf("step %q cancelled: %w", step.Name, err)
	}
	if res.TimedOut {
		res.ExitCode = -1
		return res, nil
	}
	fresh, done := context.WithTimeout(context.Background(), CleanupTimeout)
	defer done()
	// The daemon records an OOM kill from an event that can land after the
	// exit: a SIGKILL exit without the flag is asked about again, briefly.
	for wait := 0; ; wait++ {
		info, err := d.cli.ContainerInspect(fresh, id, client.ContainerInspectOptions{})
		if err != nil {
			return res, infra("inspect container", err)
		}
		if st := info.Container.State; st != nil {
			res.ExitCode = st.ExitCode
			res.OOMKilled = st.OOMKilled
		}
		if res.OOMKilled || res.ExitCode != 137 || wait == 20 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// On cgroup v2 the daemon can miss the OOM kill of a process that is
	// not the container's PID 1 (ours is tini), and never set the flag.
	// Timeouts and cancellations returned above, so this SIGKILL is not
	// ours; in a memory-limited container, with no capability to signal
	// anything outside, it comes from the OOM killer.
	if res.ExitCode == 137 && !res.OOMKilled && step.Limits.Memory > 0 {
		res.OOMKilled = true
	}
	return res, nil
}

// stepError turns a failed Docker call into the error RunStep returns: the
// cancellation cause when the caller gave up, an infrastructure error otherwise.
func (d *Docker) stepError(ctx context.Context, op string, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		return fmt.Errorf("%s: %w", op, cause)
	}
	return infra(op, err)
}

func containerOptions(step StepSpec) client.ContainerCreateOptions {
	env := make([]string, 0, len(step.Env))
	for k, v := range step.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	network := container.NetworkMode("bridge")
	if step.Network == "none" {
		network = "none"
	}
	host := &container.HostConfig{
		Mounts:      []mount.Mount{{Type: mount.TypeBind, Source: step.Workspace, Target: WorkspaceMount}},
		NetworkMode: network,
		SecurityOpt: []string{"no-new-privileges"},
		CapDrop:     []string{"ALL"},
		CapAdd:      keptCapabilities,
		LogConfig:   container.LogConfig{Type: "none"}, // output is streamed by attach; no second copy on disk
		Init:        boolPtr(true),                     // reap zombies, forward signals
	}
	if step.Limits.Memory > 0 {
		host.Memory = step.Limits.Memory
		host.MemorySwap = step.Limits.Memory // no swap: exceeding memory is an OOM kill
	}
	host.NanoCPUs = step.Limits.NanoCPUs
	if step.Limits.Pids > 0 {
		pids := step.Limits.Pids
		host.PidsLimit = &pids
	}
	if step.TmpfsSize > 0 {
		host.Tmpfs = map[string]string{"/tmp": "rw,exec,size=" + strconv.FormatInt(step.TmpfsSize, 10)}
	}
	return client.ContainerCreateOptions{
		Config: &container.Config{
			Image:      step.Image,
			Cmd:        []string{"/bin/sh", "-c", step.Command},
			Env:        env,
			WorkingDir: WorkspaceMount,
			Labels: map[string]string{
				LabelRun:  strconv.FormatInt(step.RunID, 10),
				LabelStep: strconv.FormatInt(step.StepID, 10),
			},
			AttachStdout: true,
			AttachStderr: true,
		},
		HostConfig: host,
	}
}

// ensureImage pulls the image only when the daemon does not have it.
func (d *Docker) ensureImage(ctx context.Context, image string) error {
	_, err := d.cli.ImageInspect(ctx, image)
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return d.stepError(ctx, "inspect image "+image, err)
	}
	pull, err := d.cli.ImagePull(ctx, image, client.ImagePullOptions{})
	if err != nil {
		return d.stepError(ctx, "pull image "+image, err)
	}
	if err := pull.Wait(ctx); err != nil {
		return d.stepError(ctx, "pull image "+image, err)
	}
	return nil
}

func (d *Docker) Kill(ctx context.Context, runID int64) error {
	ids, err := d.containers(ctx, d.runFilter(runID))
	if err != nil {
		return err
	}
	var errs []error
	for id := range ids {
		if _, err := d.cli.ContainerKill(ctx, id, client.ContainerKillOptions{}); err != nil && !ignorable(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (d *Docker) Cleanup(ctx context.Context, runID int64) error {
	ids, err := d.containers(ctx, d.runFilter(runID))
	if err != nil {
		return err
	}
	var errs []error
	for id := range ids {
		if _, err := d.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !ignorable(err) {
			errs = append(errs, err)
		}
	}
	if err := d.removeRunNetwork(ctx, runID); err != nil {
		errs = append(errs, err)
	}
	if err := d.removeRunCaches(ctx, runID); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (d *Docker) Leftovers(ctx context.Context) ([]int64, error) {
	ids, err := d.containers(ctx, d.runFilter(0))
	if err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	var runs []int64
	for _, labels := range ids {
		n, err := strconv.ParseInt(labels[LabelRun], 10, 64)
		if err != nil || seen[n] {
			continue
		}
		seen[n] = true
		runs = append(runs, n)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i] < runs[j] })
	return runs, nil
}

// containers lists every container (running or not) matching filters, by id with its labels.
func (d *Docker) containers(ctx context.Context, filters client.Filters) (map[string]map[string]string, error) {
	list, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filters})
	if err != nil {
		return nil, infra("list containers", err)
	}
	out := make(map[string]map[string]string, len(list.Items))
	for _, c := range list.Items {
		out[c.ID] = c.Labels
	}
	return out, nil
}

func (d *Docker) kill(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), CleanupTimeout)
	defer cancel()
	_, _ = d.cli.ContainerKill(ctx, id, client.ContainerKillOptions{})
}

func (d *Docker) remove(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), CleanupTimeout)
	defer cancel()
	_, _ = d.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
}

// ignorable: the container is already gone or already stopped.
func ignorable(err error) bool {
	return cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err)
}

func writerOrDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func boolPtr(b bool) *bool { return &b }
