package runner

import (
	"fmt"
	"os"
	"os/user"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/sentinel-ci/sentinel/store"
)

// gatePrefix holds a step's shell until its limits are set: it reads a
// line from fd 3 (the gate the parent opens after setting them) and closes
// it, so that nothing of the step runs unlimited and the step's own
// commands never see the gate. It is on the script's first line, so the
// line numbers of the step's own errors stay as written.
const gatePrefix = "read _ <&3; exec 3<&-; "

// applyLimits sets the limits the host lets a process set on another: the
// data segment (RLIMIT_DATA) for memory, the processes of the user
// (RLIMIT_NPROC) for pids, and the CPUs it may run on (affinity) for cpus.
// Children inherit all three. RLIMIT_DATA rather than RLIMIT_AS: Go and
// JVM runtimes reserve far more address space than they use and would not
// even start under an address-space limit.
func applyLimits(pid int, l Limits) error {
	if l.Memory > 0 {
		lim := unix.Rlimit{Cur: uint64(l.Memory), Max: uint64(l.Memory)}
		if err := unix.Prlimit(pid, unix.RLIMIT_DATA, &lim, nil); err != nil {
			return fmt.Errorf("memory limit (RLIMIT_DATA): %w", err)
		}
	}
	if l.Pids > 0 && os.Geteuid() != 0 {
		lim := unix.Rlimit{Cur: uint64(l.Pids), Max: uint64(l.Pids)}
		if err := unix.Prlimit(pid, unix.RLIMIT_NPROC, &lim, nil); err != nil {
			return fmt.Errorf("pids limit (RLIMIT_NPROC): %w", err)
		}
	}
	if l.NanoCPUs > 0 {
		if set, ok := cpuSubset(l.NanoCPUs); ok {
			if err := unix.SchedSetaffinity(pid, &set); err != nil {
				return fmt.Errorf("cpus limit (affinity): %w", err)
			}
		}
	}
	return nil
}

// cpuSubset is the first ceil(cpus) CPUs this process may run on; ok is
// false when that is all of them (nothing to restrict).
func cpuSubset(nanoCPUs int64) (set unix.CPUSet, ok bool) {
	var mine unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mine); err != nil {
		return set, false
	}
	want := int((nanoCPUs + 1e9 - 1) / 1e9)
	if want >= mine.Count() {
		return set, false
	}
	for cpu, n := 0, 0; n < want && cpu < len(mine)*64; cpu++ {
		if mine.IsSet(cpu) {
			set.Set(cpu)
			n++
		}
	}
	return set, true
}

// Enforcement says which of the limits l the shell runtime applies, and how.
func (s *Shell) Enforcement(l Limits) []store.StepLimit {
	memory := limitOf("memory", l.Memory, FormatBytes, true, "per process (RLIMIT_DATA): an allocation past it fails; the step is not killed as a whole")
	if l.Memory <= 0 {
		memory.How = "not set: the shell executor applies only a pipeline's own limits.memory, since a per-process data limit by default would break tools that map large ranges (race detector, sanitizers)"
	}
	out := []store.StepLimit{memory}
	cpus := limitOf("cpus", l.NanoCPUs, FormatCPUs, true, "")
	if _, ok := cpuSubset(l.NanoCPUs); ok {
		cpus.How = fmt.Sprintf("pinned to %d of the host's CPUs (affinity), not a time share", (l.NanoCPUs+1e9-1)/1e9)
	} else if l.NanoCPUs > 0 {
		cpus.Enforced, cpus.How = false, "not enforced: as many CPUs as this host lets Sentinel use, and the shell executor has no CPU quota"
	}
	out = append(out, cpus)
	pids := limitOf("pids", l.Pids, func(n int64) string { return strconv.FormatInt(n, 10) }, true, "")
	if os.Geteuid() == 0 {
		pids.Enforced, pids.How = false, "not enforced: Sentinel runs as root, whom RLIMIT_NPROC does not bind"
	} else if l.Pids > 0 {
		name := strconv.Itoa(os.Getuid())
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
		pids.How = "RLIMIT_NPROC: counts every process of user " + name + ", Sentinel's and other steps' included"
	}
	return append(out, pids)
}

// limitOf describes one limit; an unset one (0) is never enforced.
func limitOf(name string, v int64, format func(int64) string, enforced bool, how string) store.StepLimit {
	if v <= 0 {
		return store.StepLimit{Name: name, Value: "none", How: "not set"}
	}
	return store.StepLimit{Name: name, Value: format(v), Enforced: enforced, How: how}
}

// Enforcement says which limits Docker applies: all three, by cgroup.
func (d *Docker) Enforcement(l Limits) []store.StepLimit {
	return []store.StepLimit{
		limitOf("memory", l.Memory, FormatBytes, true, "cgroup memory limit, no swap: past it the step is OOM-killed"),
		limitOf("cpus", l.NanoCPUs, FormatCPUs, true, "cgroup CPU quota"),
		limitOf("pids", l.Pids, func(n int64) string { return strconv.FormatInt(n, 10) }, true, "cgroup pids limit: fork fails past it"),
	}
}

// LimitEnforcer is a runtime that can say which limits it applies.
type LimitEnforcer interface {
	Enforcement(l Limits) []store.StepLimit
}
