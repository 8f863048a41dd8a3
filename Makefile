# The README's two commands are `make demo` and `make test`.
GO      ?= go
PKGS    ?= ./...
SCENARIO ?=

.PHONY: build run demo test bench down reset

# A first build compiles every dependency (a minute or more on two cores):
# go build -v names each package it compiles, and awk turns that into a line
# of progress every few seconds; errors pass through, and go's exit status
# is make's.
build:
	@{ $(GO) build -v -o bin/sentinel ./cmd/sentinel 2>&1; echo "go-build-exit $$?"; } | awk \
	  -v total="$$($(GO) list -deps ./cmd/sentinel 2>/dev/null | wc -l)" \
	  'BEGIN { last = systime() } \
	   /^go-build-exit / { if ($$2 == 0 && n > 20) printf "build: bin/sentinel built (%d packages compiled)\n", n; exit $$2 } \
	   /^[^ #:]+$$/ { n++; if (systime() - last >= 5) { printf "build: compiling bin/sentinel, %d of at most %d packages (%s)\n", n, total, $$0; fflush(); last = systime() }; next } \
	   { print; fflush() }'

run: build
	./bin/sentinel serve

ARGS ?=
demo: build
	./bin/sentinel demo $(ARGS) $(SCENARIO)

# go test prints its own per-package summary; -race because the runner and
# intake are concurrent code.
test:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# Benchmarks report ratios against a baseline measured in the same run.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 1 $(PKGS) | tee bench.out.tmp | grep -E '^(Benchmark|ok|FAIL|PASS|goos|pkg)'

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
