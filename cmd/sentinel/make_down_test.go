package main

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
)

// TestMakeDownStopsOnlyThisCheckout runs `make down` for one data directory
// while two other "checkouts" run: the sentinel holding this directory's
// lock stops and this instance's containers go; another checkout's process
// and containers stay, and a stale pid file (nobody holds its lock) naming a
// live process kills nothing.
func TestMakeDownStopsOnlyThisCheckout(t *testing.T) {
	for _, tool := range []string{"make", "flock", "docker"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required: %v", tool, err)
		}
	}
	runnertest.Docker(t) // the busybox image the containers are created from
	suffix := make([]byte, 4)
	rand.Read(suffix)
	id := hex.EncodeToString(suffix)

	// checkout starts a process that holds dir's lock the way a sentinel
	// does (flock on sentinel.pid, its pid inside) and labels a container
	// with dir's instance.
	checkout := func(name string) (dir string, proc *exec.Cmd, container string) {
		dir = t.TempDir()
		instance := "down-test-" + id + "-" + name
		if err := writeInstanceFile(dir, instance); err != nil {
			t.Fatal(err)
		}
		pidFile := filepath.Join(dir, "sentinel.pid")
		proc = exec.Command("flock", pidFile, "sh", "-c", `echo $$ > "$0"; exec sleep 300`, pidFile)
		if err := proc.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { proc.Process.Kill(); proc.Wait() })
		out, err := exec.Command("docker", "create", "--label", runner.LabelInstance+"="+instance, runner.LocalImageBusybox, "true").Output()
		if err != nil {
			t.Fatalf("docker create: %v", err)
		}
		container = strings.TrimSpace(string(out))
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", container).Run() })
		return dir, proc, container
	}
	pidIn := func(dir string) int {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			b, _ := os.ReadFile(filepath.Join(dir, "sentinel.pid"))
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return pid
			}
		}
		t.Fatalf("no pid in %s", dir)
		return 0
	}
	alive := func(pid int) bool { return syscall.Kill(pid, 0) == nil }
	exists := func(container string) bool { return exec.Command("docker", "inspect", container).Run() == nil }
	down := func(dir string) {
		t.Helper()
		out, err := exec.Command("make", "-s", "-C", "../..", "down", "DATA_DIR="+dir).CombinedOutput()
		if err != nil {
			t.Fatalf("make down: %v\n%s", err, out)
		}
		t.Logf("make down DATA_DIR=%s:\n%s", dir, out)
	}

	mine, mineProc, mineContainer := checkout("mine")
	other, _, otherContainer := checkout("other")
	minePid, otherPid := pidIn(mine), pidIn(other)

	// A stale pid file naming a live process (the other checkout's).
	stale := t.TempDir()
	os.WriteFile(filepath.Join(stale, "sentinel.pid"), []byte(strconv.Itoa(otherPid)+"\n"), 0o644)
	down(stale)
	if !alive(otherPid) {
		t.Fatal("make down killed the process a stale pid file names")
	}

	down(mine)
	exited := make(chan struct{})
	go func() { mineProc.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Errorf("this checkout's sentinel (pid %d) still runs after make down", minePid)
	}
	if exists(mineContainer) {
		t.Error("this instance's container is still there")
	}
	if !alive(otherPid) {
		t.Error("make down stopped another checkout's sentinel")
	}
	if !exists(otherContainer) {
		t.Error("make down removed another instance's container")
	}
}
