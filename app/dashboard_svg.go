package app

import (
	"fmt"
	"html"
	"html/template"
	"strings"
	"time"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

// Charts are small inline SVGs drawn on the server: no script, readable as
// a table too (each chart is followed by one for screen readers and
// people without CSS, inside <details>). Colours come from the stylesheet.

const chartW, chartH, chartPad = 560.0, 140.0, 24.0

// durationChart draws the p50 and p95 run durations per day.
func durationChart(points []store.DurationPoint) template.HTML {
	if len(points) == 0 {
		return ""
	}
	var maxV float64
	for _, p := range points {
		maxV = max(maxV, p.P95.Seconds(), p.P50.Seconds())
	}
	if maxV == 0 {
		maxV = 1
	}
	x := func(i int) float64 {
		if len(points) == 1 {
			return chartW / 2
		}
		return chartPad + float64(i)*(chartW-2*chartPad)/float64(len(points)-1)
	}
	y := func(v float64) float64 { return chartH - chartPad - v/maxV*(chartH-2*chartPad) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="dur-title"><title id="dur-title">Run duration per day, p50 and p95</title>`, chartW, chartH)
	fmt.Fprintf(&b, `<line class="axis" x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f"/>`, chartPad, y(0), chartW-chartPad, y(0))
	fmt.Fprintf(&b, `<text class="lbl" x="2" y="%.1f">%s</text>`, y(maxV)+4, html.EscapeString(jobs.FormatDuration(time.Duration(maxV*float64(time.Second)))))
	for _, series := range []struct {
		class string
		v     func(store.DurationPoint) float64
	}{{"p95", func(p store.DurationPoint) float64 { return p.P95.Seconds() }}, {"p50", func(p store.DurationPoint) float64 { return p.P50.Seconds() }}} {
		var pts []string
		for i, p := range points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(series.v(p))))
		}
		fmt.Fprintf(&b, `<polyline class="%s" points="%s"/>`, series.class, strings.Join(pts, " "))
		for i, p := range points {
			fmt.Fprintf(&b, `<circle class="%s" cx="%.1f" cy="%.1f" r="3"><title>%s %s: %s (%d runs)</title></circle>`,
				series.class, x(i), y(series.v(p)), p.Day.Format("Jan 2"), series.class,
				jobs.FormatDuration(time.Duration(series.v(p)*float64(time.Second))), p.Runs)
		}
	}
	fmt.Fprintf(&b, `<text class="lbl" x="%.0f" y="%.0f">%s</text>`, chartPad, chartH-4, points[0].Day.Format("Jan 2"))
	fmt.Fprintf(&b, `<text class="lbl" x="%.0f" y="%.0f" text-anchor="end">%s</text>`, chartW-chartPad, chartH-4, points[len(points)-1].Day.Format("Jan 2"))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// dailyBars draws occurrences per day over the days window ending at now,
// with empty days as gaps.
func dailyBars(counts []store.DayCount, now time.Time, days int) template.HTML {
	if len(counts) == 0 {
		return ""
	}
	byDay := map[string]int{}
	maxC := 1
	for _, c := range counts {
		byDay[c.Day.UTC().Format(time.DateOnly)] = c.Count
		maxC = max(maxC, c.Count)
	}
	start := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(days - 1))
	bw := (chartW - 2*chartPad) / float64(days)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="occ-title"><title id="occ-title">Occurrences per day, last %d days</title>`, chartW, chartH, days)
	fmt.Fprintf(&b, `<text class="lbl" x="2" y="%.0f">%d</text>`, chartPad, maxC)
	for i := 0; i < days; i++ {
		day := start.AddDate(0, 0, i)
		c := byDay[day.Format(time.DateOnly)]
		h := float64(c) / float64(maxC) * (chartH - 2*chartPad)
		fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %d</title></rect>`,
			chartPad+float64(i)*bw+1, chartH-chartPad-h, max(bw-2, 1), h, day.Format("Jan 2"), c)
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f"/>`, chartPad, chartH-chartPad, chartW-chartPad, chartH-chartPad)
	fmt.Fprintf(&b, `<text class="lbl" x="%.0f" y="%.0f">%s</text>`, chartPad, chartH-4, start.Format("Jan 2"))
	fmt.Fprintf(&b, `<text class="lbl" x="%.0f" y="%.0f" text-anchor="end">%s</text>`, chartW-chartPad, chartH-4, now.UTC().Format("Jan 2"))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// sparkPoint is one point of a sparkline: its value, whether it has one
// (a week without runs has no failure rate: no dot, not a zero) and the
// words its tooltip says.
type sparkPoint struct {
	V     float64
	OK    bool
	Label string
}

const sparkW, sparkH, sparkPad = 112.0, 24.0, 2.0

// sparkline draws a row-sized trend: a line through the points that have a
// value (passing over those that have none, which keep their place on the
// axis) and a dot per such point carrying its label; maxV is the top of the
// scale (at least the largest value).
func sparkline(title string, pts []sparkPoint, maxV float64) template.HTML {
	if len(pts) == 0 {
		return ""
	}
	for _, p := range pts {
		if p.OK {
			maxV = max(maxV, p.V)
		}
	}
	if maxV <= 0 {
		maxV = 1
	}
	x := func(i int) float64 {
		if len(pts) == 1 {
			return sparkW / 2
		}
		return sparkPad + float64(i)*(sparkW-2*sparkPad)/float64(len(pts)-1)
	}
	y := func(v float64) float64 { return sparkH - sparkPad - v/maxV*(sparkH-2*sparkPad) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="spark" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s"><title>%s</title>`,
		sparkW, sparkH, sparkW, sparkH, html.EscapeString(title), html.EscapeString(title))
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f"/>`, sparkPad, y(0), sparkW-sparkPad, y(0))
	var line []string
	for i, p := range pts {
		if p.OK {
			line = append(line, fmt.Sprintf("%.1f,%.1f", x(i), y(p.V)))
		}
	}
	if len(line) > 1 {
		fmt.Fprintf(&b, `<polyline points="%s"/>`, strings.Join(line, " "))
	}
	for i, p := range pts {
		if p.OK {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="1.6"><title>%s</title></circle>`, x(i), y(p.V), html.EscapeString(p.Label))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// dailySpark draws occurrences per day over the days ending at now's day
// (UTC), a point for every day, zero included.
func dailySpark(counts []store.DayCount, now time.Time, days int) template.HTML {
	byDay := make(map[string]int, len(counts))
	total := 0
	for _, c := range counts {
		byDay[c.Day.UTC().Format(time.DateOnly)] = c.Count
		total += c.Count
	}
	start := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(days - 1))
	pts := make([]sparkPoint, days)
	for i := range pts {
		day := start.AddDate(0, 0, i)
		n := byDay[day.Format(time.DateOnly)]
		pts[i] = sparkPoint{V: float64(n), OK: true, Label: fmt.Sprintf("%s: %d", day.Format("Jan 2"), n)}
	}
	return sparkline(fmt.Sprintf("%d occurrences in the last %d days", total, days), pts, 0)
}
