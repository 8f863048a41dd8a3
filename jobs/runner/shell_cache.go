package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The shell runtime keeps caches as directories under CacheDir, one per
// scope and key; a cache with a variable gets it pointed at its directory,
// a workspace path from cache: becomes a symbolic link to it, and a home
// path needs nothing, the home directory being kept already.

func (s *Shell) cacheDir(scope, key string) string { return filepath.Join(s.CacheDir, scope, key) }

// cacheEnv prepares the step's cache directories and returns their variables.
func (s *Shell) cacheEnv(step StepSpec) ([]string, error) {
	if s.CacheDir == "" {
		return nil, nil
	}
	var env []string
	for _, c := range step.Caches {
		dir := s.cacheDir(step.CacheScope, c.Key)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, infra("cache directory", err)
		}
		switch {
		case c.Env != "":
			env = append(env, c.Env+"="+dir)
		case strings.HasPrefix(c.Target, WorkspaceMount+"/"):
			link := filepath.Join(step.Workspace, strings.TrimPrefix(c.Target, WorkspaceMount+"/"))
			if _, err := os.Lstat(link); err == nil {
				continue // the checkout has it, or an earlier step linked it
			}
			if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
				return nil, infra("cache link", err)
			}
			if err := os.Symlink(dir, link); err != nil {
				return nil, infra("cache link", err)
			}
		}
	}
	return env, nil
}

// prepareCaches gives a run with CacheCopy its own copy of the caches.
func (s *Shell) prepareCaches(ctx context.Context, run RunSpec) error {
	if s.CacheDir == "" || !run.CacheCopy {
		return nil
	}
	for _, c := range run.Caches {
		src, dst := s.cacheDir(run.CacheScope, c.Key), s.cacheDir(CopyScope(run.RunID), c.Key)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return infra("cache copy", err)
		}
		if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if out, err := exec.CommandContext(ctx, "cp", "-a", src+"/.", dst+"/").CombinedOutput(); err != nil {
			return infra("cache copy", fmt.Errorf("%w: %s", err, out))
		}
	}
	return nil
}

// removeRunCaches removes a run's throwaway copies.
func (s *Shell) removeRunCaches(runID int64) error {
	if s.CacheDir == "" {
		return nil
	}
	dir := filepath.Join(s.CacheDir, CopyScope(runID))
	// Go's module cache is read-only on disk; make it writable to remove it.
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error { //nolint:errcheck // best effort before RemoveAll
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// CacheSizes measures the scope's cache directories.
func (s *Shell) CacheSizes(ctx context.Context, scope string) (map[string]int64, error) {
	out := map[string]int64{}
	if s.CacheDir == "" {
		return out, nil
	}
	entries, err := os.ReadDir(filepath.Join(s.CacheDir, scope))
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, infra("measure caches", err)
	}
	for _, e := range entries {
		var size int64
		filepath.WalkDir(filepath.Join(s.CacheDir, scope, e.Name()), func(_ string, d os.DirEntry, err error) error { //nolint:errcheck // sizes are best effort
			if err == nil && d.Type().IsRegular() {
				if info, err := d.Info(); err == nil {
					size += info.Size()
				}
			}
			return nil
		})
		out[e.Name()] = size
	}
	return out, nil
}

// RemoveCache removes one cache directory.
func (s *Shell) RemoveCache(ctx context.Context, scope, key string) error {
	if s.CacheDir == "" {
		return nil
	}
	dir := s.cacheDir(scope, key)
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error { //nolint:errcheck // best effort before RemoveAll
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
