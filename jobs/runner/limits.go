package runner

import (
	"fmt"
	"strconv"
	"strings"
)

// LimitLines are the lines of a pipeline file's limits, for errors; 0 where
// a limit is unset (and always in a detected pipeline).
type LimitLines struct {
	Memory, CPUs, Pids, Disk int
}

// Or fills the limits l leaves unset (0) from def.
func (l Limits) Or(def Limits) Limits {
	if l.Memory == 0 {
		l.Memory = def.Memory
	}
	if l.NanoCPUs == 0 {
		l.NanoCPUs = def.NanoCPUs
	}
	if l.Pids == 0 {
		l.Pids = def.Pids
	}
	if l.Disk == 0 {
		l.Disk = def.Disk
	}
	return l
}

// CheckLimits refuses a pipeline whose limits ask for more than max, with a
// *ConfigError naming the line: a step silently given less than it asked for
// would fail later in a way that points nowhere near the cause. A field of
// max left at 0 has no ceiling.
func (p *Pipeline) CheckLimits(max Limits) error {
	l := p.Limits
	switch {
	case max.Memory > 0 && l.Memory > max.Memory:
		return &ConfigError{Line: p.LimitLines.Memory, Msg: fmt.Sprintf("limits.memory %s is above this Sentinel's ceiling of %s (SENTINEL_STEP_MAX_MEMORY)",
			FormatBytes(l.Memory), FormatBytes(max.Memory))}
	case max.NanoCPUs > 0 && l.NanoCPUs > max.NanoCPUs:
		return &ConfigError{Line: p.LimitLines.CPUs, Msg: fmt.Sprintf("limits.cpus %s is above this Sentinel's ceiling of %s (SENTINEL_STEP_MAX_CPUS)",
			FormatCPUs(l.NanoCPUs), FormatCPUs(max.NanoCPUs))}
	case max.Pids > 0 && l.Pids > max.Pids:
		return &ConfigError{Line: p.LimitLines.Pids, Msg: fmt.Sprintf("limits.pids %d is above this Sentinel's ceiling of %d (SENTINEL_STEP_MAX_PIDS)",
			l.Pids, max.Pids)}
	case max.Disk > 0 && l.Disk > max.Disk:
		return &ConfigError{Line: p.LimitLines.Disk, Msg: fmt.Sprintf("limits.disk %s is above this Sentinel's ceiling of %s (SENTINEL_STEP_MAX_DISK)",
			FormatBytes(l.Disk), FormatBytes(max.Disk))}
	}
	return nil
}

// ParseCPUs reads a number of CPUs, fractional allowed (2, 0.5), as
// nano-CPUs; the pipeline file and the server settings share it.
func ParseCPUs(s string) (int64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f < 0.01 || f > 1024 {
		return 0, fmt.Errorf("bad cpus %q: want a positive number such as 2 or 0.5", s)
	}
	return int64(f * 1e9), nil
}

// FormatCPUs writes nano-CPUs as a number of CPUs: 2, 0.5.
func FormatCPUs(n int64) string {
	return strconv.FormatFloat(float64(n)/1e9, 'f', -1, 64)
}

// FormatBytes writes a size in the largest binary unit that divides it
// exactly: 4 GiB, 1536 MiB, 100 bytes.
func FormatBytes(n int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d %s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}
