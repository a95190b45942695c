# Entry points for developers and CI. Each target first installs what is missing (scripts/bootstrap),
# so `make test` and `make demo` work on a fresh Debian machine.
#
#   make build           configure (once) and build into build/
#   make test            build, then every test suite
#   make test-sanitize   ASan/UBSan build in build-asan/, then its tests
#   make test-tsan       ThreadSanitizer build in build-tsan/, then the core, C ABI and cloud tests
#   make soak            a device against a crashing broker and `twinlink serve` for DURATION (2m)
#   make test-valgrind   the tests labelled `valgrind`, under valgrind
#   make demo            build, then scripts/demo
#   make test-python     the Python binding into .venv, then mypy --strict, stubtest and its pytest suite
#   make wheel           a Python wheel carrying libtwinlink and Paho (auditwheel), checked in a fresh venv
#   make wheel-manylinux manylinux_2_28 wheels for x86_64 and aarch64 (zig, dependencies from source) in
#                        build-manylinux/, each tried in a fresh venv (aarch64 under qemu-user)
#   make sdist           the Python sdist (build/python-dist/), self-contained: pip install builds it anywhere
#   make test-node       the Node binding (addon against build/'s libtwinlink), then its node --test suite
#   make node-pack       the npm tarball with a prebuilt linux-x64 addon, installed and checked in temporary projects
#   make test-rust       the Rust binding's cargo tests (against build/'s libtwinlink), cargo package, clippy, rustfmt
#   make bench           build, then scripts/bench, the Python, Node and Rust benchmarks, their
#                        charts (scripts/plot-bench: build/bench/*.png) and the table of the
#                        performance goals (scripts/bench-goals: build/bench/goals.md)
#   make fuzz            libFuzzer targets (clang, ASan+UBSan) in build-fuzz/, each for FUZZ_SECONDS (60)
#   make deb             Debian packages in build-deb/deb/, lintian, then installed, tried and removed (root)
#   make cross-arm64     arm64 build in build-arm64/, its tests under qemu-user, arm64 .debs, wheel, npm prebuild
#   make clean           remove the build directories

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

BUILD_DIR := build
ASAN_BUILD_DIR := build-asan
TSAN_BUILD_DIR := build-tsan
JOBS := 2
# ccache, when installed (scripts/bootstrap installs it): the sanitizer builds and a fresh clone
# reuse the objects of an earlier build. CCACHE_BASEDIR makes the paths of a clone relative, and
# CCACHE_NOHASHDIR leaves the build directory out of the hash of -g objects, so a clone in
# another directory hits the same cache entries. Looked for when a build directory is configured
# (CCACHE_LAUNCHER, in `configure`), not when make starts: on a fresh machine the first run's
# bootstrap installs it.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
# Room for the objects of all five builds (build, build-asan, build-tsan, the Python extension,
# build-fuzz): at ccache's default 5 GB, a TSan build evicted by the others took 11 to 18 minutes
# to rebuild instead of 2. Set CCACHE_MAXSIZE to keep another size.
export CCACHE_MAXSIZE ?= 12G
CMAKE_FLAGS := -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
CCACHE_LAUNCHER := $$(command -v ccache >/dev/null && echo -DCMAKE_C_COMPILER_LAUNCHER=ccache \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
CTEST_FLAGS := --output-on-failure -j$(JOBS) --timeout 600

# LeakSanitizer's suppressions of third-party leaks, each with its reason (none needed at present).
LSAN_SUPPRESSIONS := tests/sanitizers/lsan.supp
# The sanitizer runs: most tests wait on a broker, so ctest runs more of them at a time than there
# are cores; the cycle tests run 50 cycles instead of 300 and 1000 (a leak or race of one cycle
# shows in every cycle). The examples are not built there.
SANITIZER_CYCLES := 50
# Defined before SANITIZER_ENV, which expands it at once (:=).
SANITIZER_ENV := ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  LSAN_OPTIONS=suppressions=$(abspath $(LSAN_SUPPRESSIONS)) TWINLINK_TEST_CYCLES=$(SANITIZER_CYCLES)
SANITIZER_CMAKE_FLAGS := -DTWINLINK_BUILD_EXAMPLES=OFF
SANITIZER_CTEST_FLAGS := --output-on-failure -j4 --timeout 900

# ThreadSanitizer: Paho C is not instrumented, so its own threads' accesses are invisible to TSan
# and the races it reports inside Paho are false; tests/sanitizers/tsan.supp names Paho's frames
# only. A race in twinlink is fixed, never suppressed. A test with a report fails (TSan's exit
# code 66); second_deadlock_stack: both stacks of a lock-order inversion.
TSAN_SUPPRESSIONS := tests/sanitizers/tsan.supp
TSAN_ENV := TSAN_OPTIONS="second_deadlock_stack=1 suppressions=$(abspath $(TSAN_SUPPRESSIONS))" \
  TWINLINK_TEST_CYCLES=$(SANITIZER_CYCLES)
TSAN_LABELS := core|capi|cloud|datapoints|shadow

VALGRIND_SUPPRESSIONS := $(wildcard tests/valgrind.supp)
VALGRIND_OPTIONS := --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible \
  --num-callers=40 $(if $(VALGRIND_SUPPRESSIONS),--suppressions=$(abspath $(VALGRIND_SUPPRESSIONS)))

# Every language adds its suite here (test-python, test-node, test-rust, ...); `make test` runs them all.
# pytest goes last: its closing line ("N passed") is the run's last word, where cargo's last one
# counts the doc tests of a crate that has none.
TEST_SUITES := test-native test-node test-rust test-python

# The Python binding: .venv is made by scripts/bootstrap; the extension's CMake build tree is
# build/python/<tag>, kept between runs so that rebuilds are incremental.
PYTHON := .venv/bin/python
PYTHON_BUILD := CMAKE_BUILD_PARALLEL_LEVEL=$(JOBS) $(PYTHON) -m pip
WHEEL_DIR := build/python/dist
WHEELHOUSE := build/python/wheelhouse
SDIST_DIR := build/python-dist

.PHONY: all bootstrap build test $(TEST_SUITES) test-sanitize test-tsan test-valgrind demo bench clean python wheel sdist \
  wheel-manylinux \
  node test-node node-pack bench-node fuzz soak

# The Node binding: npm packages from scripts/bootstrap node, and the addon compiled in
# bindings/node/build/ against the libtwinlink of build/ (so it is not compiled twice).
NODE_DIR := bindings/node
NODE_ENV := TWINLINK_BUILD_DIR=$(CURDIR)/$(BUILD_DIR) TWINLINK_CLI=$(CURDIR)/$(BUILD_DIR)/tools/twinlink/twinlink

all: build

bootstrap:
	@scripts/bootstrap

# $(call configure,DIR,EXTRA_FLAGS): configure DIR unless it already is.
configure = [ -f $(1)/CMakeCache.txt ] || cmake -S . -B $(1) $(CMAKE_FLAGS) $(CCACHE_LAUNCHER) $(2)

build: bootstrap
	@$(call configure,$(BUILD_DIR))
	cmake --build $(BUILD_DIR) -j$(JOBS)

test: $(TEST_SUITES)

# GoogleTest suites of the core, the C ABI and the fixtures, through ctest.
test-native: build
	ctest --test-dir $(BUILD_DIR) $(CTEST_FLAGS)

# The Python package installed into .venv from bindings/python (its tests use the C++ build's
# `twinlink serve`, hence `build`).
python: bootstrap
	$(PYTHON_BUILD) install -q --no-build-isolation --no-deps ./bindings/python

# Before pytest: mypy --strict over the package's sources (the extension seen through its stub,
# _native.pyi), and stubtest, which compares that stub with the extension as installed.
# Their cache goes in .venv (stubtest writes it where it runs).
test-python: build python
	$(PYTHON) -m mypy --strict --cache-dir .venv/.mypy_cache bindings/python/src/twinlink
	cd .venv && bin/python -m mypy.stubtest twinlink._native
	$(PYTHON) -m pytest bindings/python/tests -q

# A wheel for any Linux of its glibc or newer: auditwheel copies in the libraries it needs (Paho,
# OpenSSL), then it is installed and imported in a fresh virtual environment. Zip level 9: 15 KB
# less than the default's 4,111 KiB.
wheel: bootstrap
	rm -rf $(WHEEL_DIR) $(WHEELHOUSE)
	$(PYTHON_BUILD) wheel -q --no-build-isolation --no-deps -w $(WHEEL_DIR) ./bindings/python
	PATH="$(CURDIR)/.venv/bin:$$PATH" $(PYTHON) -m auditwheel repair -z 9 -w $(WHEELHOUSE) $(WHEEL_DIR)/twinlink-*.whl
	bindings/python/packaging/check_wheel $(WHEELHOUSE)/twinlink-*.whl

# Wheels for older Linux systems than this machine's (manylinux_2_28: glibc 2.28 or newer), x86_64
# and aarch64, without a manylinux container: scripts/manylinux-wheel builds OpenSSL, Paho and SQLite
# from source with zig's compiler into build-manylinux/, then the wheels, repairs them with auditwheel
# and tries them (docs/install.md). MANYLINUX_ARCHES picks one.
MANYLINUX_ARCHES := x86_64 aarch64
wheel-manylinux: bootstrap
	@scripts/bootstrap manylinux
	scripts/manylinux-wheel $(MANYLINUX_ARCHES)

# The sdist: the binding with the sources of the core, the C ABI and the tool under native/, which
# `pip install twinlink-<version>.tar.gz` builds against the Debian dev packages, with no checkout
# around it. bindings/python/tests/test_sdist.py (in test-python) installs one in a fresh venv.
sdist: bootstrap
	rm -rf $(SDIST_DIR)
	bindings/python/packaging/build_sdist $(SDIST_DIR)

# The addon and its package, as `npm install ./bindings/node` builds them (with build/'s libtwinlink).
node: build
	@scripts/bootstrap node
	cd $(NODE_DIR) && $(NODE_ENV) node scripts/install.js --build

# Its tests use the C++ build's `twinlink serve`, hence `build`. The same addon is then tested on
# the oldest and the newest Node release lines the package supports, and the npm tarball is
# installed the ways users install it (node-pack).
NODE_OTHER_VERSIONS := 18.20.8 22.23.5
test-node: build node
	cd $(NODE_DIR) && $(NODE_ENV) npm test
	cd $(NODE_DIR) && $(NODE_ENV) scripts/other-nodes $(CURDIR)/build/node-versions $(NODE_OTHER_VERSIONS)
	@$(MAKE) --no-print-directory node-pack

# The npm tarball (build/node/twinlink-<version>.tgz) with the prebuilt addon, libtwinlink and Paho
# beside it, then installed in temporary projects: from the prebuild, and compiled from its sources.
node-pack: build
	@scripts/bootstrap node
	$(NODE_DIR)/scripts/prebuild $(CURDIR)/$(BUILD_DIR) $(CURDIR)/build/node
	$(NODE_DIR)/scripts/check-pack $(CURDIR)/build/node/twinlink-*.tgz

# The Rust binding links build/'s libtwinlink (TWINLINK_LIB_DIR, so it is not compiled a second time
# by the crate's bundled CMake build) and its tests use build/'s `twinlink serve`, hence `build`.
RUST_DIR := bindings/rust
RUST_ENV := PATH="$$HOME/.cargo/bin:$$PATH" CARGO_BUILD_JOBS=$(JOBS) \
  TWINLINK_LIB_DIR=$(CURDIR)/$(BUILD_DIR)/capi TWINLINK_CLI=$(CURDIR)/$(BUILD_DIR)/tools/twinlink/twinlink \
  LD_LIBRARY_PATH=$(CURDIR)/$(BUILD_DIR)/capi$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH}

test-rust: build
	@scripts/bootstrap rust
	cd $(RUST_DIR) && $(RUST_ENV) cargo test --workspace --locked
	cd $(RUST_DIR) && $(RUST_ENV) scripts/check-package
	cd $(RUST_DIR) && if $(RUST_ENV) cargo clippy --version >/dev/null 2>&1; then \
	  $(RUST_ENV) cargo clippy --workspace --all-targets --locked -- -D warnings; \
	else echo "test-rust: clippy is not installed, skipped"; fi
	cd $(RUST_DIR) && if $(RUST_ENV) cargo fmt --version >/dev/null 2>&1; then \
	  $(RUST_ENV) cargo fmt --all --check; \
	else echo "test-rust: rustfmt is not installed, skipped"; fi

bench-node: build node
	cd $(NODE_DIR) && $(NODE_ENV) node bench/bench.js

test-sanitize: bootstrap
	@$(call configure,$(ASAN_BUILD_DIR),-DTWINLINK_SANITIZE=ON $(SANITIZER_CMAKE_FLAGS))
	cmake --build $(ASAN_BUILD_DIR) -j$(JOBS)
	$(SANITIZER_ENV) ctest --test-dir $(ASAN_BUILD_DIR) $(SANITIZER_CTEST_FLAGS)

# The suites with threads of their own (labels TSAN_LABELS): the fuzz corpora and the docs checks
# are single-threaded.
test-tsan: bootstrap
	@$(call configure,$(TSAN_BUILD_DIR),-DTWINLINK_TSAN=ON $(SANITIZER_CMAKE_FLAGS))
	cmake --build $(TSAN_BUILD_DIR) -j$(JOBS)
	$(TSAN_ENV) ctest --test-dir $(TSAN_BUILD_DIR) -L '$(TSAN_LABELS)' $(SANITIZER_CTEST_FLAGS)

# A device with a shadow and datapoints against its own mosquitto, SIGKILLed and restarted every
# SOAK_RESTART_EVERY, and `twinlink serve`, for DURATION (90s, 30m, 2h); fails when the device's
# RSS, descriptors or threads grow after the warm-up, or when a point is lost. The samples go to
# build/soak.csv.
DURATION := 2m
SOAK_RESTART_EVERY := 45s
soak: build
	nice $(BUILD_DIR)/tests/soak/twinlink_soak --duration $(DURATION) --restart-every $(SOAK_RESTART_EVERY) \
	  --serve $(BUILD_DIR)/tools/twinlink/twinlink --csv $(BUILD_DIR)/soak.csv

# The fuzz targets of tests/fuzz as libFuzzer binaries, built with clang (scripts/bootstrap fuzz
# installs it) in their own directory, then run one after another for FUZZ_SECONDS each, nice'd.
# New inputs go to build-fuzz/fuzz-new/ (not committed), findings to build-fuzz/fuzz-crashes/.
# FUZZ_TARGETS picks some (e.g. FUZZ_TARGETS="receipt topic"); `make test` runs the committed
# corpora with the normal compiler instead (ctest label fuzz).
FUZZ_BUILD_DIR := build-fuzz
FUZZ_SECONDS := 60
FUZZ_TARGETS :=
fuzz:
	@scripts/bootstrap system fuzz
	@$(call configure,$(FUZZ_BUILD_DIR),-DTWINLINK_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
	cmake --build $(FUZZ_BUILD_DIR) -j$(JOBS) --target fuzz_targets
	tests/fuzz/run $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# ctest's memcheck mode reads DartConfiguration.tcl, which only include(CTest) writes; a minimal one
# is enough because the valgrind command and options are given here.
test-valgrind: build
	@[ -f $(BUILD_DIR)/DartConfiguration.tcl ] || \
	  printf 'SourceDirectory: %s\nBuildDirectory: %s\n' "$(CURDIR)" "$(abspath $(BUILD_DIR))" \
	    > $(BUILD_DIR)/DartConfiguration.tcl
	TWINLINK_TEST_CYCLES=$(SANITIZER_CYCLES) ctest --test-dir $(BUILD_DIR) -T memcheck -L valgrind $(CTEST_FLAGS) \
	  --overwrite MemoryCheckCommand="$$(command -v valgrind)" \
	  --overwrite MemoryCheckCommandOptions="$(strip $(VALGRIND_OPTIONS))"

demo: build
	scripts/demo

# scripts/bench-goals --begin marks the run's start; at the end, scripts/bench-goals judges the
# performance goals from this run's results only (build/bench/goals.md, goals.json).
bench: build python node
	$(PYTHON) scripts/bench-goals --begin
	@if [ -x scripts/bench ]; then scripts/bench; else echo "No benchmark exists yet."; fi
	@scripts/bootstrap python_bench
	$(PYTHON) bindings/python/bench/bench.py
	CMAKE_BUILD_PARALLEL_LEVEL=$(JOBS) $(PYTHON) bindings/python/bench/callcost/callcost.py
	$(PYTHON) bindings/python/bench/aio_concurrency.py
	cd $(NODE_DIR) && $(NODE_ENV) node bench/bench.js
	@scripts/bootstrap rust
	cd $(RUST_DIR) && $(RUST_ENV) cargo run --release --locked -q -p twinlink-bench
	$(PYTHON) scripts/plot-bench
	$(PYTHON) scripts/bench-goals

# The Debian packages libtwinlink0, libtwinlink-dev and twinlink-tools (CPack, packaging/CMakeLists.txt)
# from a build configured for /usr, in $(DEB_BUILD_DIR)/deb/. lintian fails on errors and lists its
# warnings; then packaging/deb/check-debs installs them on this machine (as root), builds and runs
# the C examples against them and removes them again. Not part of `make test`.
DEB_BUILD_DIR := build-deb
.PHONY: deb
deb: bootstrap
	@scripts/bootstrap deb
	@$(call configure,$(DEB_BUILD_DIR),-DCMAKE_INSTALL_PREFIX=/usr -DTWINLINK_BUILD_TESTS=OFF -DTWINLINK_BUILD_EXAMPLES=OFF)
	cmake --build $(DEB_BUILD_DIR) -j$(JOBS)
	rm -rf $(DEB_BUILD_DIR)/deb
	cd $(DEB_BUILD_DIR) && cpack -G DEB -B deb
	rm -rf $(DEB_BUILD_DIR)/deb/_CPack_Packages
	lintian --fail-on error --display-level '>=warning' $(DEB_BUILD_DIR)/deb/*.deb
	packaging/deb/check-debs $(DEB_BUILD_DIR)/deb

# arm64, the typical device: scripts/cross-arm64 cross-builds libtwinlink, the CLI, the examples and the
# core, C ABI and datapoint suites in build-arm64/ (cmake/toolchains/aarch64-linux-gnu.cmake), runs
# those suites under qemu-user, and makes the arm64 .debs, wheel and npm prebuild, each tried under
# qemu against a native mosquitto and build/'s `twinlink serve` (docs/install.md, "Cross-building
# for a device"). It takes most of an hour here, so it is not part of `make test`.
.PHONY: cross-arm64
cross-arm64: build
	@scripts/bootstrap deb node cross-arm64
	scripts/cross-arm64

# Needs nothing installed, so no bootstrap.
clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) $(TSAN_BUILD_DIR) $(FUZZ_BUILD_DIR)
