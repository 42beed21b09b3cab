# Till — build, run and test. `make run` and `make test` are the two commands a new machine needs;
# both install whatever is missing first (Debian packages, npm packages, Rust tools).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

# $(call bounded,SECONDS,WHAT,COMMAND): runs a suite under a time limit, so a hung test fails the
# run with a message naming the suite instead of holding CI until its own limit.
bounded = timeout --kill-after=30 $(1) $(3) || { rc=$$?; if [ $$rc -eq 124 ]; then echo "make: $(2) did not finish within $(1) s" >&2; fi; exit $$rc; }

.PHONY: run test deps ui build lint test-rust test-ui test-app test-pg soak bench screenshots dist clean

## make run: start a local back office with the demo catalog and the app enrolled with it.
run: deps build
	scripts/run.sh

## make test: every test of the project (Rust, UI, browser, real app, PostgreSQL).
test: deps build lint test-rust test-ui test-app
	@echo "make test: all suites passed"

deps:
	scripts/install-deps.sh

ui:
	cd ui && npm run build

build: ui
	$(CARGO) build --workspace --bins

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --quiet -- -D warnings

test-rust:
	$(call bounded,2400,the Rust tests,scripts/with-postgres.sh $(CARGO) test --workspace)

test-ui:
	cd ui && npm run check
	cd ui && $(call bounded,900,the UI tests,sh -c 'npm test && npm run test:browser')

test-app:
	$(call bounded,900,the app tests,scripts/test-app.sh)

## make soak: the long crash/kill run (300 kills) and power-cut run (60 cuts), not part of
## `make test`.
soak: deps build
	TILL_SOAK=1 $(CARGO) test -p till-e2e --test crash -- --nocapture
	TILL_SOAK=1 $(CARGO) test -p till-e2e --test power_cut -- --nocapture

bench: deps build
	scripts/bench.sh

## make dist: the Debian package, dist/till_VERSION_amd64.deb, from a release build.
dist: deps ui
	scripts/dist.sh release

## make screenshots: the README's screenshots, taken from the real app.
screenshots: deps build
	scripts/screenshots.sh

clean:
	$(CARGO) clean
	rm -rf ui/dist ui/node_modules .till-run dist
