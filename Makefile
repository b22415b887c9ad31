# RegistryLedger — `make run` and `make test` are the whole quick start.
SWIFT ?= swift
SHELL := /bin/bash
DATA ?= data/demo
HOST ?= 127.0.0.1
PORT ?= 5000
APT_PACKAGES = liblmdb-dev libpcre2-dev pkg-config
# skopeo and podman: real registry clients for the registry-API tests; docker-registry: the
# reference registry (distribution) those tests compare with, started on a loopback port of its
# own (never the system service). postgresql: cluster mode's tests start servers of their own
# from its binaries; patroni, etcd-server and haproxy: the test of the Patroni example
# (examples/patroni), run on loopback ports.
TEST_APT_PACKAGES = skopeo podman docker-registry postgresql patroni etcd-server haproxy
PYTHON ?= python3
PIP_PACKAGES = boto3 requests pytest awscli

.PHONY: deps testdeps apt pydeps build run demo test conformance fuzz bench bench-quick bench-check bench-http bench-lmdb-floor clean

# Installs the Debian packages the build needs, only when one is missing.
deps:
	@$(MAKE) --no-print-directory apt PACKAGES="$(APT_PACKAGES)"

testdeps:
	@$(MAKE) --no-print-directory apt PACKAGES="$(TEST_APT_PACKAGES)"

apt:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# Installs the Python packages the conformance suite uses, only when one is missing.
pydeps:
	@missing=""; for p in $(PIP_PACKAGES); do \
	  $(PYTHON) -m pip show -q $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; $(PYTHON) -m pip install -q $$missing; fi

build: deps
	$(SWIFT) build

# Serves the ECR, Quay and OCI APIs on $(DATA); credentials are generated into $(DATA)/config.json.
run: build
	$(SWIFT) run regledger serve --data $(DATA) --host $(HOST) --port $(PORT)

# The library tour: runs ledger-demo on data/demo-library.
demo: build
	$(SWIFT) run ledger-demo data/demo-library

test: deps testdeps pydeps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) conformance
	$(MAKE) fuzz FUZZ_SECONDS=10 FUZZ_SEED=1

# The boto3 / AWS CLI / HTTP suite against a real `regledger serve` (Tests/conformance).
conformance:
	REGLEDGER_BIN=$$($(SWIFT) build --show-bin-path)/regledger $(PYTHON) -m pytest -q Tests/conformance

# libFuzzer targets (Fuzz/), each run for FUZZ_SECONDS over its seed corpus; a crash stops with
# the input saved under Fuzz/crashes/ (make it a regression test). New corpus entries go to a
# temporary directory, so the committed seeds stay as they are.
FUZZ_SECONDS ?= 10
# 0: a random seed each run (by hand); make test passes a fixed seed so CI's runs repeat.
FUZZ_SEED ?= 0
FUZZ_TARGETS = event-record page-token manifest tag-pattern ecr-request quay-request oci-request
# Nested packages do not notice a source file of the root package that was added or removed
# since their last build (SwiftPM keeps the old file list): forget the plan, keep the objects.
STALE_PLANS = rm -f */.build/*/release/description.json */.build/*/debug/description.json

fuzz: deps
	$(STALE_PLANS)
	cd Fuzz && $(SWIFT) build -c release --toolset toolset.json
	@bin=$$(cd Fuzz && $(SWIFT) build -c release --toolset toolset.json --show-bin-path); mkdir -p Fuzz/crashes; \
	for t in $(FUZZ_TARGETS); do \
	  work=$$(mktemp -d); echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  $$bin/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -seed=$(FUZZ_SEED) -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
	    -artifact_prefix=Fuzz/crashes/$$t- $$work Fuzz/Corpus/$$t 2>&1 | grep -E 'stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY|Test unit written' ; \
	  status=$${PIPESTATUS[0]}; rm -rf $$work; [ $$status -eq 0 ] || exit $$status; \
	done

# The benchmark harness (a nested package; see BENCHMARKS.md). Fixtures are cached in Benchmarks/.fixtures.
bench: deps
	$(STALE_PLANS)
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark --no-progress

bench-quick: deps
	$(STALE_PLANS)
	cd Benchmarks && REGLEDGER_BENCH_QUICK=1 $(SWIFT) package --allow-writing-to-package-directory benchmark --no-progress

# Every goal of SPEC §5 the store owns, at full size: one JSON line per goal (BENCHMARKS.md).
bench-check: deps testdeps pydeps
	@$(PYTHON) -m pip show -q moto flask flask-cors >/dev/null 2>&1 || $(PYTHON) -m pip install -q 'moto[server]'
	$(STALE_PLANS)
	$(SWIFT) build -c release --product regledger
	cd Benchmarks && $(SWIFT) build -c release --product bench-check && $(SWIFT) build -c release --product http-paging
	REGLEDGER_BIN=$$($(SWIFT) build -c release --show-bin-path)/regledger Benchmarks/.build/release/bench-check

bench-http: deps pydeps
	@$(PYTHON) -m pip show -q moto flask flask-cors >/dev/null 2>&1 || $(PYTHON) -m pip install -q 'moto[server]'
	$(PYTHON) Benchmarks/http_paging.py

# LMDB's own cost (C, no Swift) of storing a generation the size of the 1M-event history
# fixture's (projection format 5): 1,983,000 rows of 50 bytes (key and value) and 2,200
# checkpoint values of 115 KB (BENCHMARKS.md).
bench-lmdb-floor: deps
	@dir=$$(mktemp -d); cc -O2 Benchmarks/lmdb-floor.c -llmdb -o $$dir/lmdb-floor && \
	  $$dir/lmdb-floor $$dir 1983000 32 18 2200 114700 4; status=$$?; rm -rf $$dir; exit $$status

clean:
	rm -rf .build data

