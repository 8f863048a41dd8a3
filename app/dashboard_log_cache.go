package app

import (
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// logCache keeps the markup of finished steps' logs. Rendering a long log
// (colours, an anchor per line) was most of the run page's time, and a
// finished log does not change. An entry is keyed by the log's content
// (length and hash), not only by its step, so a log that did change (cut
// by retention, a step recorded again) misses rather than shows stale.
type logCache struct {
	mu    sync.Mutex
	m     map[logKey]renderedLog
	order []logKey // oldest first, for eviction
	bytes int
}

type logKey struct {
	step     int64
	size     int
	sum      uint64
	evidence string // the evidence line numbers, sorted
	max      int
}

// logCacheBytes bounds the markup the cache holds (each entry counted
// twice: its lines and its whole markup).
const logCacheBytes = 32 << 20

var logSeed = maphash.MakeSeed()

// render returns renderLog of a finished step's whole log from line 1,
// from the cache when the same log was rendered before.
func (c *logCache) render(data []byte, stepID int64, evidence map[int]bool, max int) renderedLog {
	lines := make([]int, 0, len(evidence))
	for n, ok := range evidence {
		if ok {
			lines = append(lines, n)
		}
	}
	slices.Sort(lines)
	var ev strings.Builder
	for _, n := range lines {
		ev.WriteString(strconv.Itoa(n))
		ev.WriteByte(',')
	}
	k := logKey{step: stepID, size: len(data), sum: maphash.Bytes(logSeed, data), evidence: ev.String(), max: max}
	c.mu.Lock()
	out, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return out
	}
	out = renderLog(data, stepID, 1, evidence, max, false)
	size := 2 * len(out.HTML)
	if size > logCacheBytes/4 {
		return out // one huge log would push out every other
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return out
	}
	if c.m == nil {
		c.m = map[logKey]renderedLog{}
	}
	for c.bytes+size > logCacheBytes && len(c.order) > 0 {
		old := c.order[0]
		c.order = c.order[1:]
		c.bytes -= 2 * len(c.m[old].HTML)
		delete(c.m, old)
	}
	c.m[k] = out
	c.order = append(c.order, k)
	c.bytes += size
	return out
}
