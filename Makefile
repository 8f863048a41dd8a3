# The README's two commands are `make demo` and `make test`.
GO      ?= go
PKGS    ?= ./...
SCENARIO ?=

.PHONY: build run demo test drill bench down reset

build:
	$(GO) build -o bin/sentinel ./cmd/sentinel

run: build
	./bin/sentinel serve

ARGS ?=
demo: build
	./bin/sentinel demo $(ARGS) $(SCENARIO)

# go test prints its own per-package summary; -race because the runner and
# intake are concurrent code.
test:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# Drills against real serve/worker processes, PostgreSQL and Docker at full
# size (make test runs a bounded form); each prints its numbers. Needs
# TEST_DATABASE_URL, as the tests do.
drill:
	SENTINEL_DRILL=full $(GO) test -count=1 -timeout 90m -v -run '^TestDrill' ./cmd/sentinel

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
