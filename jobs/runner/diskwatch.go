package runner

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
	"time"
)

// DiskExceeded is why a step was stopped: its workspace grew past the disk
// limit. The workspace is a bind mount and Docker's storage drivers give
// bind mounts no size option, so the limit is kept by watching.
type DiskExceeded struct {
	Limit, Size int64
}

func (e *DiskExceeded) Error() string {
	return fmt.Sprintf("disk full: the workspace exceeded its limit of %s (%s used)", FormatBytes(e.Limit), formatSize(e.Size))
}

// WatchWorkspace measures dir at once and then every interval until ctx
// ends, and calls stop, once, when its size passes limit. A walk that takes
// long spaces the next ones out (ten times its duration at least), so a
// huge workspace costs the host little.
func WatchWorkspace(ctx context.Context, dir string, limit int64, interval time.Duration, stop func(*DiskExceeded)) {
	for {
		began := time.Now()
		size := DiskUsage(dir)
		if size > limit {
			stop(&DiskExceeded{Limit: limit, Size: size})
			return
		}
		wait := max(interval, 10*time.Since(began))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// DiskUsage is the space the files under dir take, in bytes allocated (a
// sparse file counts what it holds, not its length). Files that vanish or
// cannot be read during the walk are skipped: the step is still writing.
func DiskUsage(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		} else {
			total += info.Size()
		}
		return nil
	})
	return total
}

// formatSize writes a measured size in MiB, or bytes when small.
func formatSize(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
