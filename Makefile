# Every target uses the project-local CARGO_HOME (Debian's packaged crates, no network).
# Set MMS_CARGO_HOME= (empty) to use your own CARGO_HOME with crates.io instead.
MMS_CARGO_HOME ?= $(CURDIR)/cargo-home
ifneq ($(MMS_CARGO_HOME),)
export CARGO_HOME := $(MMS_CARGO_HOME)
endif
PY := /usr/bin/python3
CARGO ?= cargo
SHARED ?= $(CURDIR)/../shared

.PHONY: deps build release test test-rust test-c test-c-valgrind test-dotnet test-samples lint fmt bench demo module module-help torture torture-short clean

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

## bench: one table of every performance figure against its baseline (BENCH_SCALE=0.1 for a quick run)
bench: build
	@benches/run.sh

demo: build
	./target/release/mms --store "$$(mktemp -d)/mms.db" demo

## module: out/module/MeetingMigrationService/, ready to copy into a PowerShell module path
MODULE_OUT := out/module/MeetingMigrationService
UNAME_S := $(shell uname -s)
UNAME_M := $(shell uname -m)
NATIVE_OS := $(if $(filter Darwin,$(UNAME_S)),osx,linux)
NATIVE_ARCH := $(if $(filter x86_64 amd64,$(UNAME_M)),x64,$(if $(filter aarch64 arm64,$(UNAME_M)),arm64,$(UNAME_M)))
NATIVE_LIB := $(if $(filter Darwin,$(UNAME_S)),libmms.dylib,libmms.so)
module: build
	dotnet build powershell/MeetingMigrationService -c Release --nologo -v q
	rm -rf $(MODULE_OUT)
	mkdir -p $(MODULE_OUT)/en-US $(MODULE_OUT)/runtimes/$(NATIVE_OS)-$(NATIVE_ARCH)/native
	cd powershell/MeetingMigrationService/bin/Release/net8.0 && cp MeetingMigrationService.dll MeetingMigrationService.psd1 MeetingMigrationService.Format.ps1xml $(CURDIR)/$(MODULE_OUT)/
	cp powershell/MeetingMigrationService/en-US/MeetingMigrationService.dll-Help.xml $(MODULE_OUT)/en-US/
	cp target/release/$(NATIVE_LIB) $(MODULE_OUT)/runtimes/$(NATIVE_OS)-$(NATIVE_ARCH)/native/
	@echo "module ready: $(MODULE_OUT) (copy it into a folder of \$$env:PSModulePath)"

## module-help: regenerate the MAML help from the cmdlet classes and powershell/docs/help.json
module-help: build
	MMS_UPDATE_HELP=1 dotnet test tests/dotnet --nologo --filter "FullyQualifiedName~HelpTests.Committed_maml"
	dotnet test tests/dotnet --nologo --filter "FullyQualifiedName~HelpTests"

## torture: kill -9 trials, faults, concurrency, hostile input, security, C exports under valgrind (TORTURE_KILL_TRIALS, TORTURE_CASES, TORTURE_HOSTILE)
torture: build
	@tests/torture/run.sh

## torture-short: the same suites, smaller (5 kill trials per path, 100,000 property cases, 10,000 generated calendars).
## Not part of `make test`: test-rust already runs every one of these suites at its small default.
torture-short: build
	@TORTURE_KILL_TRIALS=$${TORTURE_KILL_TRIALS:-5} TORTURE_CASES=$${TORTURE_CASES:-100000} TORTURE_HOSTILE=$${TORTURE_HOSTILE:-10000} tests/torture/run.sh

clean:
	$(CARGO) clean
