// Command loadtest measures the real `sentinel serve` under a steady stream
// of pushes (make loadtest): it starts the binary on a durable PostgreSQL in
// recorded GitHub mode with the shell executor, offers signed push
// deliveries open-loop at a given rate from this separate process, and
// prints the rate achieved, the latency, the deliveries acknowledged and
// stored, the job backlog left and how long it took to drain, beside a bare
// INSERT rate measured on the same PostgreSQL in the same run.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	var opts options
	fs.Float64Var(&opts.rate, "rate", 1000, "deliveries offered per second")
	fs.DurationVar(&opts.duration, "duration", 60*time.Second, "how long deliveries are offered")
	fs.IntVar(&opts.repos, "repos", 50, "repositories pushed to")
	fs.IntVar(&opts.branches, "branches", 4, "branches of each repository; each push supersedes its branch's previous run")
	fs.DurationVar(&opts.drain, "drain", 60*time.Second, "how long to wait after the load for the job backlog to drain")
	fs.DurationVar(&opts.anchorFor, "anchor", 5*time.Second, "how long the bare INSERT rate is measured, before the load and again after the drain")
	fs.DurationVar(&opts.window, "window", 5*time.Second, "the width of each window of the latency timeline")
	fs.StringVar(&opts.bin, "bin", "bin/sentinel", "the sentinel binary to start")
	fs.StringVar(&opts.databaseURL, "database-url", os.Getenv("LOADTEST_DATABASE_URL"),
		"a PostgreSQL server to create a fresh database in (default $LOADTEST_DATABASE_URL; unset starts a throwaway durable cluster)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if err := opts.validate(); err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: %v\n", err)
		os.Exit(2)
	}
	res, err := loadTest(ctx, opts, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: %v\n", err)
		os.Exit(1)
	}
	res.print(os.Stdout)
	if res.lost > 0 {
		os.Exit(1)
	}
}

// options are the load test's parameters.
type options struct {
	rate        float64
	duration    time.Duration
	repos       int
	branches    int
	drain       time.Duration
	anchorFor   time.Duration
	window      time.Duration
	bin         string
	databaseURL string
}

func (o options) validate() error {
	switch {
	case o.rate <= 0 || o.duration <= 0:
		return fmt.Errorf("-rate and -duration must be positive")
	case o.repos < 1 || o.branches < 1:
		return fmt.Errorf("-repos and -branches must be at least 1")
	case o.anchorFor <= 0 || o.window <= 0 || o.drain < 0:
		return fmt.Errorf("-anchor and -window must be positive and -drain not negative")
	}
	if _, err := os.Stat(o.bin); err != nil {
		return fmt.Errorf("the sentinel binary: %w (make build writes bin/sentinel)", err)
	}
	return nil
}

// deliveries is how many pushes the load offers.
func (o options) deliveries() int { return int(o.rate * o.duration.Seconds()) }

// loadTest runs one load test and says what it is doing on progress.
func loadTest(ctx context.Context, opts options, progress io.Writer) (result, error) {
	say := func(format string, a ...any) { fmt.Fprintf(progress, "loadtest: "+format+"\n", a...) }
	res := result{opts: opts}
	dir, err := os.MkdirTemp("", "sentinel-loadtest-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	// The managed cluster runs as the postgres user when this runs as root.
	if err := os.Chmod(dir, 0o755); err != nil {
		return res, err
	}
	log := slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelWarn}))

	if opts.databaseURL == "" {
		say("starting a throwaway durable PostgreSQL cluster")
	}
	db, obs, err := openObserved(ctx, opts.databaseURL, dir, log)
	if err != nil {
		return res, err
	}
	defer db.stop()
	defer obs.Close()
	if res.durability, err = durability(ctx, obs); err != nil {
		return res, err
	}
	res.durableCluster = opts.databaseURL == ""

	lanes := opts.repos * opts.branches
	perLane := (opts.deliveries() + lanes - 1) / lanes
	say("preparing %d repositories × %d branches of %d commits each", opts.repos, opts.branches, perLane)
	git, err := startGitServer(dir)
	if err != nil {
		return res, err
	}
	defer git.stop()
	pushes, err := prepareLanes(git.root, git.url, opts.repos, opts.branches, perLane)
	if err != nil {
		return res, err
	}

	say("measuring the bare INSERT rate for %s", opts.anchorFor)
	if res.bareBefore, err = bareInsertRate(ctx, obs, opts.anchorFor); err != nil {
		return res, err
	}

	say("starting %s serve", opts.bin)
	secret := fmt.Sprintf("loadtest-%d", time.Now().UnixNano())
	srv, err := startServe(ctx, opts.bin, dir, db.url, secret)
	if err != nil {
		return res, err
	}
	defer srv.stop()

	say("offering %d deliveries at %g/s for %s", opts.deliveries(), opts.rate, opts.duration)
	res.loadBefore = loadAverage()
	cpu0 := sampleCPU(srv.cmd.Process.Pid, db.pgPID)
	res.offered = offer(ctx, srv.webhookURL(), secret, fmt.Sprint(time.Now().Unix()), pushes, opts.deliveries(), opts.rate)
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	res.cpu = sampleCPU(srv.cmd.Process.Pid, db.pgPID).since(cpu0)
	res.loadAfter = loadAverage()
	if res.storedDuringLoad, err = countDeliveries(ctx, obs); err != nil {
		return res, err
	}
	if srv.exited() {
		return res, fmt.Errorf("serve exited during the load:\n%s", srv.logTail())
	}
	if res.backlogAfter, res.backlogByQueue, err = backlog(ctx, obs); err != nil {
		return res, err
	}
	say("waiting up to %s for a backlog of %d jobs to drain", opts.drain, res.backlogAfter)
	drainStart := time.Now()
	res.backlogLeft = res.backlogAfter
	for res.backlogLeft > 0 && time.Since(drainStart) < opts.drain {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if res.backlogLeft, _, err = backlog(ctx, obs); err != nil {
			return res, err
		}
	}
	res.drainTook = time.Since(drainStart)
	// Counted once the server is done: deliveries it was still committing
	// when the load ended are stored, whether or not their sender waited.
	if res.stored, res.lost, err = storedDeliveries(ctx, obs, res.offered.ackedIDs); err != nil {
		return res, err
	}
	if res.runs, res.firstFailure, err = runStates(ctx, obs); err != nil {
		return res, err
	}

	say("measuring the bare INSERT rate again, serve idle")
	if res.bareAfter, err = bareInsertRate(ctx, obs, opts.anchorFor); err != nil {
		return res, err
	}
	res.serveProblems = srv.problems.snapshot()
	if res.postgresProblems, err = db.postgresProblems(); err != nil {
		return res, fmt.Errorf("PostgreSQL's log: %w", err)
	}
	if srv.exited() {
		return res, fmt.Errorf("serve exited:\n%s", srv.logTail())
	}
	return res, nil
}
