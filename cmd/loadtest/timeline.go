package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// window is the latency of the deliveries due in one window of the load.
type window struct {
	from          time.Duration // since the first due time
	n             int
	p50, p99, max time.Duration
}

// timeline splits the acknowledged deliveries by due time into windows of
// width w. A p99 over the whole load cannot tell a steady slowness from a
// few stalls; the windows show when the slow deliveries were due.
func timeline(samples []dueLatency, w time.Duration) []window {
	byWindow := map[int][]time.Duration{}
	last := 0
	for _, s := range samples {
		i := int(s.due / w)
		byWindow[i] = append(byWindow[i], s.latency)
		last = max(last, i)
	}
	if len(samples) == 0 {
		return nil
	}
	windows := make([]window, 0, last+1)
	for i := 0; i <= last; i++ {
		l := byWindow[i]
		slices.Sort(l)
		windows = append(windows, window{from: time.Duration(i) * w, n: len(l),
			p50: percentile(l, 50), p99: percentile(l, 99), max: percentile(l, 100)})
	}
	return windows
}

// timelineLines prints each window on a line: "  0-5 s  n 5000  p50 … p99 … max …".
func timelineLines(windows []window, w time.Duration) string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	var b strings.Builder
	for _, win := range windows {
		fmt.Fprintf(&b, "    %3.0f-%-3.0f s  %5d due  p50 %s  p99 %s  max %s\n",
			win.from.Seconds(), (win.from + w).Seconds(), win.n, ms(win.p50), ms(win.p99), ms(win.max))
	}
	return b.String()
}
