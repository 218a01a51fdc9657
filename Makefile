# Portcullis — the commands a newcomer uses. Each target installs what is missing first.
#   make run     build and start the demo gateway on 127.0.0.1:8080
#   make test    build and run every test (unit, integration)
#   make build   release binary at build/portcullis
#   make bench   benchmarks against nginx (see bench/README.md)
#   make asan    unit and integration tests under AddressSanitizer and UBSan, then a short fuzz run
#   make fuzz    libFuzzer targets (HTTP, JOSE, JSON, config), FUZZ_SECONDS each (default 60)

SHELL := /bin/bash
JOBS  ?= $(shell nproc)
PRESET ?= release
BUILD_DIR := build/$(PRESET)
export CCACHE_DIR ?= $(HOME)/.cache/ccache
# Paths relative to the checkout, so a second clone hits the same cache entries.
export CCACHE_BASEDIR ?= $(CURDIR)
# Debug builds (asan, fuzz) carry -g, and ccache then hashes the build directory too: every new
# clone (CI's included) would compile them cold. The paths in debug info are not worth that.
export CCACHE_NOHASHDIR ?= 1

.PHONY: all deps deps-test deps-bench configure build run test unit integration bench asan fuzz clean

all: build

deps:
	@bash scripts/install-deps.sh

deps-test:
	@bash scripts/install-deps.sh test
	@bash scripts/install-npm.sh

deps-bench:
	@bash scripts/install-deps.sh bench
	@bash scripts/install-npm.sh

configure: deps
	@if [ ! -f $(BUILD_DIR)/build.ninja ]; then cmake --preset $(PRESET) >/dev/null; fi

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)
	@ln -sf $(PRESET)/portcullis build/portcullis

# Only the binary: a newcomer's first `make run` need not compile the tests.
run: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target portcullis
	@ln -sf $(PRESET)/portcullis build/portcullis
	@./build/portcullis serve --demo

test: deps-test build
	@bash scripts/test.sh $(BUILD_DIR)

unit:
	@ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

integration:
	@PORTCULLIS_BIN=$(CURDIR)/build/portcullis node --test --test-concurrency=2 --test-reporter=spec tests/integration/

# Load (gateway vs nginx and HAProxy), then the one-core micro-benchmarks (JWT verification vs
# openssl speed, Authenticator cache hits), then durable audit appends, then redaction MB/s
# (clean and PII-dense text, bench/redaction.sh), then the admin list with
# 100,000 tenants, then async jobs accepted per second and 10,000 concurrent SSE invokes (gateway
# RSS), then the MCP gateway (tools/call through it vs direct, 10,000 idle MCP sessions), then the
# A2A proxy (SendMessage through it vs direct to the SDK runtime, a 1,000-event stream), then
# three nodes on PostgreSQL + Redis (aggregate req/s, shared limit accuracy). All of them run even
# when one fails; the target fails only on errors (a peer that failed, non-2xx responses), never
# on a missed goal.
bench: deps-bench build
	@rc=0; \
	bash bench/run.sh || rc=1; \
	bash bench/verify.sh $(BUILD_DIR) || rc=1; \
	bash bench/audit.sh $(BUILD_DIR) || rc=1; \
	bash bench/redaction.sh $(BUILD_DIR) || rc=1; \
	bash bench/admin_list.sh $(BUILD_DIR) || rc=1; \
	bash bench/jobs.sh || rc=1; \
	bash bench/sse.sh || rc=1; \
	bash bench/mcp.sh || rc=1; \
	bash bench/a2a.sh || rc=1; \
	bash bench/cluster.sh || rc=1; \
	exit $$rc

# Unit and integration tests against an AddressSanitizer + UBSan build (leaks checked at exit).
# Any finding fails the run: ASan aborts, UBSan halts (the options apply to both steps).
# ASAN_IT: the integration test files to run (default: all of them). Then a short run of every
# fuzz target (libFuzzer with ASan and UBSan), ASAN_FUZZ_SECONDS each.
ASAN_IT ?= tests/integration/
ASAN_FUZZ_SECONDS ?= 10
SANITIZER_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
asan: deps-test
	@$(MAKE) --no-print-directory PRESET=asan configure
	@cmake --build build/asan -j $(JOBS)
	@$(SANITIZER_ENV) bash scripts/with-postgres.sh ctest --test-dir build/asan --output-on-failure -j $(JOBS)
	@$(SANITIZER_ENV) PORTCULLIS_BIN=$(CURDIR)/build/asan/portcullis \
	  node --test --test-concurrency=2 $(ASAN_IT)
	@bash scripts/fuzz.sh $(ASAN_FUZZ_SECONDS)

# Each fuzz target for FUZZ_SECONDS from its seed corpus (fuzz/corpus/); prints executions and
# crashes, fails on a crash. scripts/fuzz.sh 10 is the short run for CI.
FUZZ_SECONDS ?= 60
fuzz:
	@bash scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf build
