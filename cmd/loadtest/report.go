package main

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/sentinel-ci/sentinel/triage"
)

// result is what one load test measured.
type result struct {
	opts           options
	durableCluster bool   // a throwaway cluster started by the load test
	durability     string // the PostgreSQL settings that decide a commit's cost
	offered        offered
	stored         int // deliveries in the database after the drain
	// storedDuringLoad counts those stored by the end of the load, the
	// work the CPU spent during it (cpu) is divided by.
	storedDuringLoad      int
	cpu                   cpuSample
	loadBefore, loadAfter string // the machine's load average
	lost                  int    // acknowledged deliveries not among them
	backlogAfter          int64
	backlogByQueue        map[string]int64
	backlogLeft           int64          // after the drain
	drainTook             time.Duration  // how long the drain was waited for
	runs                  map[string]int // the runs by state, after the drain
	firstFailure          string         // why the first failed run failed
	bareBefore            float64        // bare INSERTs/s before the load
	bareAfter             float64        // and after the drain
	// The warnings and errors of serve's log and of the cluster's (nil
	// for a server of the user's), over the whole run.
	serveProblems, postgresProblems *problemLog
}

// The targets at 1,000 deliveries/s offered (issue 23); at other
// rates the achieved one is held to the same 99% of the offered.
const (
	targetAchieved = 0.99
	targetP99      = 50 * time.Millisecond
)

// achieved is the acknowledged deliveries per second, from the first due
// time to the last answer.
func (r result) achieved() float64 {
	if r.offered.elapsed <= 0 {
		return 0
	}
	return float64(r.offered.acknowledged()) / r.offered.elapsed.Seconds()
}

func (r result) drained() bool { return r.backlogLeft == 0 }

func (r result) print(w io.Writer) {
	o := r.opts
	where := "the PostgreSQL server given"
	if r.durableCluster {
		where = "a throwaway cluster"
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	fmt.Fprintf(w, "sentinel serve under load: %g deliveries/s offered for %s, %d repositories × %d branches, one no-op step (shell executor, recorded GitHub)\n",
		o.rate, o.duration, o.repos, o.branches)
	fmt.Fprintf(w, "  PostgreSQL      %s (%s)\n", where, r.durability)
	fmt.Fprintf(w, "  offered         %d deliveries\n", o.deliveries())
	fmt.Fprintf(w, "  achieved        %.1f/s (%d acknowledged in %.2f s, first due time to last answer)\n",
		r.achieved(), r.offered.acknowledged(), r.offered.elapsed.Seconds())
	fmt.Fprintf(w, "  latency to 202  p50 %s  p99 %s  max %s (from each delivery's due time)\n",
		ms(r.offered.percentile(50)), ms(r.offered.percentile(99)), ms(r.offered.percentile(100)))
	fmt.Fprintf(w, "  by due time     the latency of the deliveries due in each %s of the load\n", o.window)
	fmt.Fprint(w, timelineLines(timeline(r.offered.byDue, o.window), o.window))
	fmt.Fprintf(w, "  sender lag      p99 %s  max %s (due time to its hand-off to a sender, in the latency above)\n",
		ms(percentile(r.offered.lags, 99)), ms(percentile(r.offered.lags, 100)))
	if lag := percentile(r.offered.lags, 99); lag > targetP99 {
		fmt.Fprintf(w, "  NOTE            the load generator fell behind its schedule (sender lag p99 %s > %s): less than the rate asked was offered, and the figures judge this machine's load as much as the server\n",
			ms(lag), ms(targetP99))
	}
	fmt.Fprintf(w, "  answers         %s\n", r.answers())
	fmt.Fprintf(w, "  stored          %d deliveries; of the %d acknowledged, %d missing (a delivery its sender gave up on may be stored too)\n",
		r.stored, r.offered.acknowledged(), r.lost)
	fmt.Fprintf(w, "  backlog after   %d jobs (%s)\n", r.backlogAfter, byCount(r.backlogByQueue))
	if r.drained() {
		fmt.Fprintf(w, "  drained in      %.1f s\n", r.drainTook.Seconds())
	} else {
		fmt.Fprintf(w, "  not drained     %d jobs left after %.1f s\n", r.backlogLeft, r.drainTook.Seconds())
	}
	fmt.Fprintf(w, "  runs            %s\n", byCount(r.runs))
	if r.firstFailure != "" {
		fmt.Fprintf(w, "  first failure   %s\n", r.firstFailure)
	}
	if r.cpu.ok && r.storedDuringLoad > 0 {
		perDelivery := func(d time.Duration) string {
			return fmt.Sprintf("%.2f ms", d.Seconds()*1000/float64(r.storedDuringLoad))
		}
		pg := "PostgreSQL not measured (not started by the load test)"
		if r.durableCluster {
			pg = "PostgreSQL " + perDelivery(r.cpu.postgres)
		}
		fmt.Fprintf(w, "  CPU per stored  serve %s (its job workers included; %s of it in the git and step processes of runs), %s; load generator %s; %d deliveries stored during the load\n",
			perDelivery(r.cpu.serve), perDelivery(r.cpu.children), pg, perDelivery(r.cpu.generator), r.storedDuringLoad)
		if r.cpu.machine > 0 {
			who := "serve"
			if r.durableCluster {
				who = "serve and its PostgreSQL"
			}
			ours := r.cpu.serve + r.cpu.postgres
			fmt.Fprintf(w, "  machine         %s had %.0f%% of the busy CPU during the load (%.1f of %.1f CPU-s); load average %s before, %s after, on %d CPUs\n",
				who, 100*ours.Seconds()/r.cpu.machine.Seconds(), ours.Seconds(), r.cpu.machine.Seconds(), r.loadBefore, r.loadAfter, runtime.NumCPU())
		}
	}
	if r.serveProblems != nil {
		pg := "PostgreSQL's not read (the server given is yours)"
		var first []string
		if r.postgresProblems != nil {
			pg = "PostgreSQL " + r.postgresProblems.summary()
			first = r.postgresProblems.firstLines()
		}
		fmt.Fprintf(w, "  logs            serve %s · %s\n", r.serveProblems.summary(), pg)
		for _, line := range append(r.serveProblems.firstLines(), first...) {
			fmt.Fprintf(w, "    %s\n", triage.Clip(line, 240))
		}
	}
	fmt.Fprintf(w, "  bare INSERT     %.0f/s before the load, %.0f/s after the drain (%d connections, one row per commit)\n",
		r.bareBefore, r.bareAfter, bareInsertSenders)
	if bare := (r.bareBefore + r.bareAfter) / 2; bare > 0 {
		fmt.Fprintf(w, "  achieved/bare   %.2f\n", r.achieved()/bare)
	}
	yes := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	fmt.Fprintf(w, "  targets         achieved >= %.0f/s: %s · p99 <= %s: %s · drained within %s: %s\n",
		targetAchieved*o.rate, yes(r.achieved() >= targetAchieved*o.rate),
		ms(targetP99), yes(r.offered.percentile(99) <= targetP99),
		o.drain, yes(r.drained()))
}

// answers lists the answers by status.
func (r result) answers() string {
	var parts []string
	for _, status := range slices.Sorted(maps.Keys(r.offered.statuses)) {
		name := "no answer"
		if status != 0 {
			name = fmt.Sprintf("%d %s", status, http.StatusText(status))
		}
		parts = append(parts, fmt.Sprintf("%s: %d", name, r.offered.statuses[status]))
	}
	if r.offered.firstErr != nil {
		parts = append(parts, "first: "+r.offered.firstErr.Error())
	}
	return strings.Join(parts, ", ")
}

// byCount lists counts by name, "name n", in the order of the names.
func byCount[N int | int64](m map[string]N) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", name, m[name]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
