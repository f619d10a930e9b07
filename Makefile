# Every target uses the project-local CARGO_HOME (Debian's packaged crates, no network).
# Set MMS_CARGO_HOME= (empty) to use your own CARGO_HOME with crates.io instead.
MMS_CARGO_HOME ?= $(CURDIR)/cargo-home
ifneq ($(MMS_CARGO_HOME),)
export CARGO_HOME := $(MMS_CARGO_HOME)
endif
PY := /usr/bin/python3
CARGO ?= cargo
SHARED ?= $(CURDIR)/../shared

.PHONY: deps build release test test-rust test-c test-c-valgrind test-dotnet test-samples lint fmt bench demo module torture clean

## deps: Debian packages the build and tests use (apt-get only when something is missing)
deps:
	@bash .ci/install-deps

build: deps
	$(CARGO) build --release

release: build

## test: every suite (Rust unit + integration, header check, C host, .NET, shared samples)
test: test-rust test-c test-dotnet test-samples

test-rust: deps
	$(CARGO) test --release

test-c: build
	$(MAKE) -C tests/c run

## test-c-valgrind: the C host under valgrind --leak-check=full (fails on any error or leak)
test-c-valgrind: build
	$(MAKE) -C tests/c valgrind

test-dotnet: build
	@if [ -d tests/dotnet ]; then dotnet test tests/dotnet --nologo; else echo "no .NET tests yet"; fi

test-samples: build
	@if [ -x tests/samples/check.sh ]; then tests/samples/check.sh "$(SHARED)"; else echo "no sample checks yet"; fi

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --release -- -D warnings

fmt:
	$(CARGO) fmt

bench: build
	@echo "benchmarks arrive with the benchmark issue"

demo: build
	./target/release/mms --store "$$(mktemp -d)/mms.db" demo

module: build
	@echo "module packaging arrives with the PowerShell issue"

torture: build
	@echo "torture suite arrives with the reliability issue"

clean:
	$(CARGO) clean
