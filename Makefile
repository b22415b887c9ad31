# RegistryLedger — `make run` and `make test` are the whole quick start.
SWIFT ?= swift
DATA ?= data/demo
HOST ?= 127.0.0.1
PORT ?= 5000
APT_PACKAGES = liblmdb-dev libpcre2-dev pkg-config
# skopeo: a real registry client for the OCI tag-listing tests.
TEST_APT_PACKAGES = skopeo
PYTHON ?= python3
PIP_PACKAGES = boto3 requests pytest awscli

.PHONY: deps testdeps apt pydeps build run demo test conformance bench bench-quick bench-http clean

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

# The boto3 / AWS CLI / HTTP suite against a real `regledger serve` (Tests/conformance).
conformance:
	REGLEDGER_BIN=$$($(SWIFT) build --show-bin-path)/regledger $(PYTHON) -m pytest -q Tests/conformance

# The benchmark harness (a nested package; see BENCHMARKS.md). Fixtures are cached in Benchmarks/.fixtures.
bench: deps
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark --no-progress

bench-quick: deps
	cd Benchmarks && REGLEDGER_BENCH_QUICK=1 $(SWIFT) package --allow-writing-to-package-directory benchmark --no-progress

bench-http: deps pydeps
	@$(PYTHON) -m pip show -q moto flask flask-cors >/dev/null 2>&1 || $(PYTHON) -m pip install -q 'moto[server]'
	$(PYTHON) Benchmarks/http_paging.py

clean:
	rm -rf .build data
