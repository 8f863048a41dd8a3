package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The machine may be shared: CPU time says what the server and its
// PostgreSQL spent per delivery, and what share of the machine's busy CPU
// they got, whatever else ran meanwhile. Read from /proc (Linux); where it
// cannot be read the figures are left out.

// clockTicks is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const clockTicks = 100

// cpuSample is the CPU spent so far by the server, its PostgreSQL (when
// the load test started it), this process (the load generator) and the
// whole machine.
type cpuSample struct {
	// serve counts the children it waited for; children is that part
	// alone: the git and step processes of the runs it executed, which
	// compete with the intake for the same cores.
	serve, children              time.Duration
	postgres, generator, machine time.Duration
	ok                           bool
}

// since is the CPU spent between an earlier sample and this one.
func (s cpuSample) since(earlier cpuSample) cpuSample {
	return cpuSample{serve: s.serve - earlier.serve, children: s.children - earlier.children,
		postgres: s.postgres - earlier.postgres, generator: s.generator - earlier.generator,
		machine: s.machine - earlier.machine, ok: s.ok && earlier.ok}
}

// sampleCPU reads the CPU of serve (and the children it waited for: git
// and steps), of the postmaster pgPID (0: not known) and its backends, of
// this process, and the machine's busy time over all CPUs.
func sampleCPU(servePID, pgPID int) cpuSample {
	var s cpuSample
	var ok1, ok2 bool
	var self time.Duration
	self, s.children, ok1 = processCPU(servePID)
	s.serve = self + s.children
	s.generator, _, _ = processCPU(os.Getpid())
	s.machine, ok2 = machineBusy()
	s.ok = ok1 && ok2
	if pgPID > 0 {
		self, children, _ := processCPU(pgPID)
		s.postgres = self + children
		for _, pid := range childrenOf(pgPID) {
			d, _, _ := processCPU(pid)
			s.postgres += d
		}
	}
	return s
}

// processCPU is a process's user and system time, and that of the
// children it waited for, read together from /proc/PID/stat.
func processCPU(pid int) (self, children time.Duration, ok bool) {
	f, ok := statFields(pid)
	if !ok || len(f) < 17 {
		return 0, 0, false
	}
	// Fields 14-17 of /proc/PID/stat (utime, stime, cutime, cstime); f
	// starts at field 3.
	var ticks [4]int64
	for i, v := range f[11:15] {
		ticks[i], _ = strconv.ParseInt(v, 10, 64)
	}
	toDuration := func(t int64) time.Duration { return time.Duration(t) * time.Second / clockTicks }
	return toDuration(ticks[0] + ticks[1]), toDuration(ticks[2] + ticks[3]), true
}

// statFields are the fields of /proc/PID/stat after the command name.
func statFields(pid int) ([]string, bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, false
	}
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return nil, false
	}
	return strings.Fields(string(data[i+1:])), true
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f, ok := statFields(child); ok && len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// machineBusy is the CPU time all CPUs spent not idle (nor waiting for
// I/O) since boot.
func machineBusy() (time.Duration, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, false
	}
	var ticks int64
	for i, v := range f[1:8] { // user nice system idle iowait irq softirq
		if i == 3 || i == 4 {
			continue
		}
		t, _ := strconv.ParseInt(v, 10, 64)
		ticks += t
	}
	return time.Duration(ticks) * time.Second / clockTicks, true
}

// postmasterPID reads the postmaster's pid from a cluster's data directory.
func postmasterPID(dataDir string) int {
	data, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// loadAverage is the machine's one-minute load average ("" unknown).
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
