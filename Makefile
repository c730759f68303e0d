# The two commands a new user needs (README.md, "Quick start"):
#   make run   installs what is missing, builds Release, starts `millrace standalone`
#   make test  installs, builds with ASan+UBSan, runs every test against a throwaway PostgreSQL
SHELL := /bin/bash
JOBS  ?= $(shell nproc)
CONFIG ?= configs/millrace.conf

.PHONY: all deps build build-test run test bench bench-http bench-flows bench-cluster clean

all: build

deps:
	@.ci/deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

build-test: deps
	@cmake --preset test >/dev/null
	@cmake --build --preset test -j $(JOBS)

# exec: Ctrl-C goes straight to millrace, which stops its actors and the
# embedded PostgreSQL cluster before it exits.
run: build
	@exec build/release/bin/millrace standalone --config $(CONFIG)

test: build-test
	@.ci/with-test-pg.sh ctest --test-dir build/test --output-on-failure --timeout 600 -j 2

# Benchmarks print their figures; BENCHMARKS.md records them with these commands.
# The job benchmark beside the peers, in one run: see BENCHMARKS.md.
bench: build
	@.ci/with-test-pg.sh build/release/bin/millrace-bench-storage
	@.ci/with-test-pg.sh build/release/bin/millrace-bench-jobs

# The flow engine (per-step overhead, latency, Windmill's scenarios).
bench-flows: build
	@.ci/with-test-pg.sh build/release/bin/millrace-bench-flows

# Remote worker processes (1 to 16, up to 600 slots) and failure detection.
bench-cluster: build
	@.ci/with-test-pg.sh build/release/bin/millrace-bench-cluster

# The HTTP API with wrk (jobs_u/get, run_wait_result, jobs/run/p).
bench-http: build
	@.ci/with-test-pg.sh tests/bench/http_bench.sh

clean:
	rm -rf build
