package runner

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// LabelCacheScope marks a cache volume with its scope ("r12", "run34").
const LabelCacheScope = "sentinel.cache.scope"

// cacheMounts adds the step's caches to its container: each a named volume
// at its target, with its variable pointing there.
func (d *Docker) cacheMounts(step StepSpec, opts *client.ContainerCreateOptions) {
	for _, c := range step.Caches {
		opts.HostConfig.Mounts = append(opts.HostConfig.Mounts, mount.Mount{
			Type: mount.TypeVolume, Source: CacheVolume(d.instance(), step.CacheScope, c.Key), Target: c.Target})
		if c.Env != "" {
			opts.Config.Env = append(opts.Config.Env, c.Env+"="+c.Target)
		}
	}
}

// prepareCaches creates the run's cache volumes, labelled so that they can
// be listed, measured and cleared; for a throwaway copy (RunSpec.CacheCopy)
// it fills each from the repository's volume with one container.
func (d *Docker) prepareCaches(ctx context.Context, run RunSpec) error {
	if len(run.Caches) == 0 {
		return nil
	}
	labels := map[string]string{LabelInstance: d.instance(), LabelCacheScope: run.CacheScope}
	scope := run.CacheScope
	if run.CacheCopy {
		scope = CopyScope(run.RunID)
		labels = map[string]string{LabelInstance: d.instance(), LabelCacheScope: scope, LabelRun: strconv.FormatInt(run.RunID, 10)}
	}
	var copies []mount.Mount
	cmd := "true"
	for i, c := range run.Caches {
		name := CacheVolume(d.instance(), scope, c.Key)
		if _, err := d.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Labels: labels}); err != nil {
			return infra("create cache volume "+name, err)
		}
		if !run.CacheCopy {
			continue
		}
		src := CacheVolume(d.instance(), run.CacheScope, c.Key)
		if _, err := d.cli.VolumeInspect(ctx, src, client.VolumeInspectOptions{}); cerrdefs.IsNotFound(err) {
			continue // nothing cached yet: the copy starts empty
		} else if err != nil {
			return infra("inspect cache volume "+src, err)
		}
		from, to := fmt.Sprintf("/from/%d", i), fmt.Sprintf("/to/%d", i)
		copies = append(copies,
			mount.Mount{Type: mount.TypeVolume, Source: src, Target: from, ReadOnly: true},
			mount.Mount{Type: mount.TypeVolume, Source: name, Target: to})
		cmd += fmt.Sprintf(" && cp -a %s/. %s/", from, to)
	}
	if len(copies) == 0 {
		return nil
	}
	if err := d.ensureImage(ctx, run.Image); err != nil {
		return err
	}
	opts := client.ContainerCreateOptions{
		Config: &container.Config{Image: run.Image, Cmd: []string{"/bin/sh", "-c", cmd}, User: "0",
			Labels: map[string]string{LabelInstance: d.instance(), LabelRun: strconv.FormatInt(run.RunID, 10)}},
		HostConfig: &container.HostConfig{Mounts: copies, NetworkMode: "none", SecurityOpt: []string{"no-new-privileges"},
			CapDrop: []string{"ALL"}, CapAdd: keptCapabilities},
	}
	created, err := d.cli.ContainerCreate(ctx, opts)
	if err != nil {
		return infra("create cache copy container", err)
	}
	defer d.remove(created.ID)
	if _, err := d.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return infra("copy caches", err)
	}
	wait := d.cli.ContainerWait(ctx, created.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case res := <-wait.Result:
		if res.StatusCode != 0 {
			return infra("copy caches", fmt.Errorf("cp exited with %d", res.StatusCode))
		}
	case err := <-wait.Error:
		return infra("copy caches", err)
	}
	return nil
}

// CopyScope is the cache scope of a run's throwaway copy.
func CopyScope(runID int64) string { return "run" + strconv.FormatInt(runID, 10) }

// removeRunCaches removes the throwaway cache copies of a run.
func (d *Docker) removeRunCaches(ctx context.Context, runID int64) error {
	list, err := d.cli.VolumeList(ctx, client.VolumeListOptions{Filters: client.Filters{}.
		Add("label", LabelInstance+"="+d.instance()).Add("label", LabelRun+"="+strconv.FormatInt(runID, 10))})
	if err != nil {
		return infra("list cache volumes", err)
	}
	var errs []error
	for _, v := range list.Items {
		if _, err := d.cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CacheSizes measures the scope's cache volumes (docker system df).
func (d *Docker) CacheSizes(ctx context.Context, scope string) (map[string]int64, error) {
	du, err := d.cli.DiskUsage(ctx, client.DiskUsageOptions{Volumes: true, Verbose: true})
	if err != nil {
		return nil, infra("measure cache volumes", err)
	}
	prefix := CacheVolume(d.instance(), scope, "")
	out := map[string]int64{}
	for _, v := range du.Volumes.Items {
		key, ok := strings.CutPrefix(v.Name, prefix)
		if !ok || key == "" || v.Labels[LabelCacheScope] != scope {
			continue
		}
		size := int64(0)
		if v.UsageData != nil && v.UsageData.Size > 0 {
			size = v.UsageData.Size
		}
		out[key] = size
	}
	return out, nil
}

// RemoveCache removes one cache volume; one still in use (a running step)
// is an error, and is tried again by a later eviction.
func (d *Docker) RemoveCache(ctx context.Context, scope, key string) error {
	_, err := d.cli.VolumeRemove(ctx, CacheVolume(d.instance(), scope, key), client.VolumeRemoveOptions{})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return infra("remove cache volume", err)
	}
	return nil
}
