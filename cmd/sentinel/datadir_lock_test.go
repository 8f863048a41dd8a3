package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakePostmaster runs a process whose name is "postgres" and writes its pid
// where PostgreSQL writes postmaster.pid under dir.
func fakePostmaster(t *testing.T, dir string) int {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatalf("sleep is required: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "postgres")
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck
	writePostmasterPid(t, dir, cmd.Process.Pid)
	return cmd.Process.Pid
}

func writePostmasterPid(t *testing.T, dir string, pid int) {
	t.Helper()
	data := filepath.Join(dir, "postgres", "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "postmaster.pid"), fmt.Appendf(nil, "%d\n%s\n1733440000\n5432\n", pid, data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLockDataDir(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, dir string) (wantErr string)
	}{
		{"fresh directory", func(*testing.T, string) string { return "" }},
		{"held by another sentinel", func(t *testing.T, dir string) string {
			release, err := lockDataDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(release)
			return fmt.Sprintf("data directory %s is in use by another sentinel (pid %d): stop it", dir, os.Getpid())
		}},
		{"released by the previous sentinel", func(t *testing.T, dir string) string {
			release, err := lockDataDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			release()
			return ""
		}},
		{"postgres of an earlier sentinel still running", func(t *testing.T, dir string) string {
			pid := fakePostmaster(t, dir)
			return fmt.Sprintf("data directory %s is in use by a PostgreSQL server (pid %d) that an earlier sentinel started", dir, pid)
		}},
		{"stale postmaster.pid, pid reused by another program", func(t *testing.T, dir string) string {
			writePostmasterPid(t, dir, os.Getpid())
			return ""
		}},
		{"stale postmaster.pid, process gone", func(t *testing.T, dir string) string {
			writePostmasterPid(t, dir, 1<<22+7) // above pid_max's default
			return ""
		}},
	} {
		// Not in parallel: a process forked meanwhile holds the lock's
		// descriptor until it executes its program.
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			wantErr := tc.prepare(t, dir)
			release, err := lockDataDir(dir)
			if wantErr == "" {
				if err != nil {
					t.Fatalf("lock: %v", err)
				}
				release()
				return
			}
			if err == nil {
				release()
				t.Fatalf("locked; want %q", wantErr)
			}
			if !strings.Contains(err.Error(), wantErr) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q; want one line containing %q", err, wantErr)
			}
		})
	}
}

// TestSecondSentinelOnDataDir: the second process says in one line that the
// directory is taken, before starting PostgreSQL.
func TestSecondSentinelOnDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	release, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	env := map[string]string{"SENTINEL_DATA_DIR": dir}
	for _, cmd := range []string{"migrate", "serve", "worker"} {
		var out, errOut strings.Builder
		code := run(context.Background(), []string{cmd}, &out, &errOut, func(k string) string { return env[k] })
		want := fmt.Sprintf("sentinel %s: data directory %s is in use by another sentinel (pid %d): stop it, or give this one another SENTINEL_DATA_DIR\n", cmd, dir, os.Getpid())
		if code != 1 || errOut.String() != want {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %q", cmd, code, errOut.String(), want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "postgres")); !os.IsNotExist(err) {
		t.Errorf("postgres directory touched: %v", err)
	}
}
