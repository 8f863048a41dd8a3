# The README's two commands are `make demo` and `make test`.
GO      ?= go
PKGS    ?= ./...
SCENARIO ?=

.PHONY: build run demo test drill bench loadtest down reset

# A first build compiles every dependency (a minute or more on two cores):
# go build -v names each package it compiles, and the loop turns that into a
# line of progress at least every 10 seconds (a ticker covers long packages);
# errors pass through, and go's exit status is make's. A shell loop, not awk:
# mawk reads a pipe in blocks, which would hold the lines back.
build:
	@total=$$($(GO) list -deps ./cmd/sentinel 2>/dev/null | wc -l); n=0; pkg=; last=$$(date +%s); \
	{ (while sleep 3; do echo "go-build-tick"; done) & ticker=$$!; \
	  $(GO) build -v -o bin/sentinel ./cmd/sentinel 2>&1; code=$$?; kill $$ticker; echo "go-build-exit $$code"; } | \
	while IFS= read -r line; do \
	  case "$$line" in \
	    "go-build-exit "*) code=$${line#go-build-exit }; \
	      if [ "$$code" = 0 ] && [ $$n -gt 20 ]; then echo "build: bin/sentinel built ($$n packages compiled)"; fi; exit $$code ;; \
	    go-build-tick) ;; \
	    *" "*|"#"*|*:*) echo "$$line"; continue ;; \
	    *) n=$$((n+1)); pkg=$$line ;; \
	  esac; \
	  now=$$(date +%s); \
	  if [ $$n -gt 0 ] && [ $$((now - last)) -ge 7 ]; then echo "build: compiling bin/sentinel, $$n of at most $$total packages ($$pkg)"; last=$$now; fi; \
	done

run: build
	./bin/sentinel serve

ARGS ?=
demo: build
	./bin/sentinel demo $(ARGS) $(SCENARIO)

# go test prints its own per-package summary; -race because the runner and
# intake are concurrent code.
# The timeout is per package and generous: jobs and cmd/sentinel run Go in
# Docker containers (about 4 minutes each on a quiet 2-core machine, since
# each repository's build cache volume starts as a copy of the local Go
# image's warm cache); on a loaded machine with fuse-overlayfs they took
# 20 minutes when every container compiled the standard library.
test:
	$(GO) test -race -count=1 -timeout 45m $(PKGS)

# Drills against real serve/worker processes, PostgreSQL and Docker at full
# size (make test runs a bounded form); each prints its numbers. Needs
# TEST_DATABASE_URL, as the tests do.
drill:
	SENTINEL_DRILL=full $(GO) test -count=1 -timeout 90m -v -run '^TestDrill' ./cmd/sentinel

# Benchmarks measure each figure against an anchor in interleaved blocks of
# the same run, then cmd/benchtable prints one table: figure, anchor, goal,
# measured. It keys on metric names (b.ReportMetric): figure F as F-min,
# F-med and F-max over the blocks, its anchor as anchor-F-min/med/max in the
# same unit, F ÷ anchor as x-anchor-min/med/max; the goals, with the
# benchmark and F of each, are one table in cmd/benchtable/goals.go. A figure
# not found shows as MISSING and, like a failed benchmark, makes bench fail.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 1 $(PKGS) | tee bench.out.tmp | grep -E '^(Benchmark|ok|FAIL|PASS|goos|pkg|--- FAIL)'
	$(GO) run ./cmd/benchtable bench.out.tmp

# The real `sentinel serve` under a steady stream of signed pushes
# (cmd/loadtest): a throwaway durable PostgreSQL (fsync on), recorded GitHub
# mode, the shell executor, pushes offered open-loop at RATE per second for
# DURATION to 50 repositories x 4 branches of a one-step no-op pipeline.
# Prints the rate achieved, p50/p99/max latency (overall and for each WINDOW
# of the load), deliveries acknowledged and stored, the job backlog and its
# drain, beside a bare INSERT rate measured on the same PostgreSQL.
# LOADTEST_DATABASE_URL runs it on a server of your own instead (a fresh
# database is created in it and dropped after).
RATE     ?= 1000
DURATION ?= 60s
WINDOW   ?= 5s
loadtest: build
	$(GO) run ./cmd/loadtest -bin bin/sentinel -rate $(RATE) -duration $(DURATION) -window $(WINDOW)

# Stops what `make run`/`make demo` of this checkout started, and nothing
# else: the sentinel holding the data directory's lock (its pid is in
# sentinel.pid; a pid file whose lock nobody holds is stale and ignored; the
# managed PostgreSQL stops with it), then the job containers labelled with
# this instance (sentinel.instance, written at start). Other checkouts'
# Sentinels and their containers are left alone.
DATA_DIR ?= $(or $(SENTINEL_DATA_DIR),data)
down:
	@pid=$$(cat "$(DATA_DIR)/sentinel.pid" 2>/dev/null); \
	if [ -n "$$pid" ] && ! flock -n "$(DATA_DIR)/sentinel.pid" true 2>/dev/null && kill -0 "$$pid" 2>/dev/null; then \
	  echo "down: stopping sentinel (pid $$pid) of $(DATA_DIR)"; kill -TERM "$$pid"; \
	  for i in $$(seq 60); do kill -0 "$$pid" 2>/dev/null || break; sleep 1; done; \
	fi
	@inst=$$(cat "$(DATA_DIR)/sentinel.instance" 2>/dev/null); \
	if [ -n "$$inst" ] && command -v docker >/dev/null; then \
	  ids=$$(docker ps -aq --filter "label=sentinel.instance=$$inst"); \
	  if [ -n "$$ids" ]; then echo "down: removing the job containers of instance $$inst"; docker rm -f $$ids >/dev/null; fi; \
	fi

reset: down
	rm -rf "$(DATA_DIR)"
