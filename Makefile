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
	   /^[^ #:]+$$/ { n++; if (systime() - last >= 5) { printf "build: compiling bin/sentinel, %d of at most %d packages (%s)\n", n, total, $$0; last = systime() }; next } \
	   { print }'

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

# Stops what `make run`/`make demo` started (the managed PostgreSQL stops
# with Sentinel) and removes containers the runner labelled.
down:
	-pkill -TERM -f 'bin/sentinel (serve|demo|worker)' || true
	-docker ps -aq --filter label=sentinel.run | xargs -r docker rm -f >/dev/null 2>&1 || true

reset: down
	rm -rf data
