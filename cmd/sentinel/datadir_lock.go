package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockDataDir claims dir for this process while it manages the PostgreSQL
// cluster under it: a second sentinel on the same directory gets one line
// naming the first one's pid instead of PostgreSQL's start-up log. The lock
// is an flock on dir/sentinel.pid, released by the kernel when the process
// ends however it ends, so it never goes stale.
func lockDataDir(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs // the message names the directory wherever it was started
	}
	path := filepath.Join(dir, "sentinel.pid")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is in use by another sentinel%s: stop it, or give this one another SENTINEL_DATA_DIR", dir, pidSuffix(path))
		}
		return nil, fmt.Errorf("lock the data directory: %w", err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0) //nolint:errcheck // the pid is informative only
	}
	// PostgreSQL left running by an earlier sentinel (it stops on its own
	// after its parent dies, but not at once) would refuse to start again.
	if pid, ok := livePostmaster(filepath.Join(dir, "postgres", "data", "postmaster.pid")); ok {
		f.Close()
		return nil, fmt.Errorf("data directory %s is in use by a PostgreSQL server (pid %d) that an earlier sentinel started: wait for it to stop, or stop it (kill %d)", dir, pid, pid)
	}
	return func() { f.Close() }, nil
}

// pidSuffix reads the pid the lock holder wrote, as " (pid N)".
func pidSuffix(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
		return fmt.Sprintf(" (pid %d)", pid)
	}
	return ""
}

// livePostmaster reports the pid in a postmaster.pid file when that process
// still runs and is a PostgreSQL server (/proc says so; where there is no
// /proc, PostgreSQL's own check decides).
func livePostmaster(pidFile string) (int, bool) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return 0, false
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return 0, false
	}
	return pid, strings.TrimSpace(string(comm)) == "postgres"
}

// instanceFile, under the data directory, names the Docker label value
// (runner.LabelInstance) of this Sentinel's containers, for `make down`.
const instanceFile = "sentinel.instance"

func writeInstanceFile(dataDir, instance string) error {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dataDir, instanceFile), []byte(instance+"\n"), 0o644)
}
