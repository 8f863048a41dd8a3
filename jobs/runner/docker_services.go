package runner

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// LabelService marks a service container with its name.
const LabelService = "sentinel.service"

// runNetwork names a run's own network, which its services and steps join.
func (d *Docker) runNetwork(runID int64) string {
	return "sentinel-" + d.instance() + "-run" + strconv.FormatInt(runID, 10)
}

func (d *Docker) ensureNetwork(ctx context.Context, runID int64) error {
	name := d.runNetwork(runID)
	if _, err := d.cli.NetworkInspect(ctx, name, client.NetworkInspectOptions{}); err == nil {
		return nil
	}
	_, err := d.cli.NetworkCreate(ctx, name, client.NetworkCreateOptions{Driver: "bridge",
		Labels: map[string]string{LabelInstance: d.instance(), LabelRun: strconv.FormatInt(runID, 10)}})
	if err != nil && !cerrdefs.IsConflict(err) {
		return infra("create network "+name, err)
	}
	return nil
}

// StartService starts a service on the run's network, its output copied to
// spec.Output, and waits for its health check.
func (d *Docker) StartService(ctx context.Context, spec ServiceSpec) error {
	if err := d.ensureNetwork(ctx, spec.RunID); err != nil {
		return err
	}
	if err := d.ensureImage(ctx, spec.Image); err != nil {
		return err
	}
	env := make([]string, 0, len(spec.Env))
	for k, v := range spec.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	cfg := &container.Config{Image: spec.Image, Env: env, AttachStdout: true, AttachStderr: true,
		Labels: map[string]string{LabelInstance: d.instance(), LabelRun: strconv.FormatInt(spec.RunID, 10), LabelService: spec.Name}}
	if spec.Command != "" {
		cfg.Cmd = []string{"/bin/sh", "-c", spec.Command}
	}
	host := &container.HostConfig{NetworkMode: container.NetworkMode(d.runNetwork(spec.RunID)),
		SecurityOpt: []string{"no-new-privileges"}, CapDrop: []string{"ALL"}, CapAdd: keptCapabilities,
		LogConfig: container.LogConfig{Type: "none"}, Init: boolPtr(true)}
	if spec.Limits.Memory > 0 {
		host.Memory, host.MemorySwap = spec.Limits.Memory, spec.Limits.Memory
	}
	host.NanoCPUs = spec.Limits.NanoCPUs
	if spec.Limits.Pids > 0 {
		pids := spec.Limits.Pids
		host.PidsLimit = &pids
	}
	created, err := d.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: host,
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			d.runNetwork(spec.RunID): {Aliases: []string{spec.Name}}}}})
	if err != nil {
		return d.stepError(ctx, "create service "+spec.Name, err)
	}
	id := created.ID
	// Attached for the service's whole life; the stream ends when Cleanup
	// removes the container.
	attach, err := d.cli.ContainerAttach(context.WithoutCancel(ctx), id, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return d.stepError(ctx, "attach service "+spec.Name, err)
	}
	out := writerOrDiscard(spec.Output)
	go func() {
		defer attach.Close()
		stdcopy.StdCopy(out, out, attach.Reader) //nolint:errcheck // ends with the container
	}()
	if _, err := d.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return d.stepError(ctx, "start service "+spec.Name, err)
	}
	return d.waitHealthy(ctx, id, spec.Service)
}

// waitHealthy runs the health command until it exits 0, the service stops,
// or the time-out passes.
func (d *Docker) waitHealthy(ctx context.Context, id string, s Service) error {
	if s.Health == "" {
		return nil
	}
	interval, timeout := s.HealthInterval, s.HealthTimeout
	if interval <= 0 {
		interval = time.Second
	}
	if timeout <= 0 {
		timeout = time.Minute
	}
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		code, err := d.exec(ctx, id, s.Health)
		switch {
		case err != nil && ctx.Err() != nil:
			return d.stepError(ctx, "health check of "+s.Name, err)
		case err == nil && code == 0:
			return nil
		case err != nil:
			last = err.Error()
		default:
			last = fmt.Sprintf("exit %d", code)
		}
		info, ierr := d.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if ierr == nil && info.Container.State != nil && !info.Container.State.Running {
			return fmt.Errorf("%w: it exited with code %d before its health check passed", ErrUnhealthy, info.Container.State.ExitCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w within %s (health %q: last %s)", ErrUnhealthy, timeout, s.Health, last)
		}
		select {
		case <-ctx.Done():
			return d.stepError(ctx, "health check of "+s.Name, context.Cause(ctx))
		case <-time.After(interval):
		}
	}
}

// exec runs command in the container and returns its exit code.
func (d *Docker) exec(ctx context.Context, id, command string) (int, error) {
	ex, err := d.cli.ExecCreate(ctx, id, client.ExecCreateOptions{Cmd: []string{"/bin/sh", "-c", command}})
	if err != nil {
		return 0, err
	}
	if _, err := d.cli.ExecStart(ctx, ex.ID, client.ExecStartOptions{Detach: true}); err != nil {
		return 0, err
	}
	for {
		st, err := d.cli.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
		if err != nil {
			return 0, err
		}
		if !st.Running {
			return st.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// removeRunNetwork removes the run's network once its containers are gone.
func (d *Docker) removeRunNetwork(ctx context.Context, runID int64) error {
	_, err := d.cli.NetworkRemove(ctx, d.runNetwork(runID), client.NetworkRemoveOptions{})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return errors.Join(infra("remove network", err))
	}
	return nil
}
