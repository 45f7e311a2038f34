# The project's commands (docs/design.md, "Interface contract"). CI runs exactly `make test`.
#
#   make deps          install missing Debian 12 packages (apt-get as root, else print the command)
#   make build         configure and build everything into build/
#   make test          deps, format-check, check-deps, build, ctest; then the same under ASan+UBSan
#   make check-deps    the dependency rule (scripts/check_includes.py) and that no file cites a
#                      document outside the repository (scripts/check_standalone.sh)
#   make demo          deps, build, then a local Prometheus + exporter + adapter and kubectl calls
#   make fuzz          clang libFuzzer build in build-fuzz/, each target for FUZZ_SECONDS
#   make bench         scripts/bench.sh
#   make soak          scripts/soak.sh: SOAK_MINUTES (30) of polling under faults; writes
#                      docs/reliability.md (not part of `make test`; a short soak is)
#   make format        clang-format -i; make format-check checks only
#   make tidy          clang-tidy over queries/ and adapter/ using build/compile_commands.json
#   make clean         remove the build directories
#
# BUILD_DIR, ASAN_BUILD_DIR and FUZZ_BUILD_DIR may be overridden, e.g. make build BUILD_DIR=build-me.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

NPROC := $(shell nproc)
BUILD_DIR ?= build
ASAN_BUILD_DIR ?= build-asan
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
CLANG_CXX ?= clang++-14
RUN_CLANG_TIDY ?= run-clang-tidy-14

GENERATOR := -G Ninja
COMMON_CMAKE_FLAGS := -DMA_WARNINGS_AS_ERRORS=ON
# -O1 keeps the sanitizer build fast enough for the integration tests; -g for readable reports.
ASAN_CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" \
                    -DMA_SANITIZE="address;undefined"
# Tracked C++ sources (NUL-separated); outside a git checkout, every source under the code dirs.
CXX_SOURCES := { git ls-files -z -- '*.cc' '*.h' 2>/dev/null || \
                 find queries adapter test -name '*.cc' -print0 -o -name '*.h' -print0; }

.PHONY: deps build build-asan test format format-check check-deps tidy demo fuzz bench soak \
        clean

deps:
	@scripts/deps.sh

build:
	cmake -S . -B $(BUILD_DIR) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(COMMON_CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j$(NPROC)

build-asan:
	cmake -S . -B $(ASAN_BUILD_DIR) $(GENERATOR) $(ASAN_CMAKE_FLAGS) $(COMMON_CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD_DIR) -j$(NPROC)

# Sequential on purpose (even under make -j): run the quick checks before spending time building.
test:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory check-deps
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory build-asan
	@scripts/run_tests.sh $(BUILD_DIR) $(ASAN_BUILD_DIR)

format-check:
	@$(CXX_SOURCES) | xargs -0 -r clang-format --dry-run --Werror
	@echo "format-check: ok"

# Both checks run, and each names every problem it finds, before the target fails.
check-deps:
	@rc=0; python3 scripts/check_includes.py || rc=1; scripts/check_standalone.sh || rc=1; exit $$rc

format:
	@$(CXX_SOURCES) | xargs -0 -r clang-format -i

tidy:
	@test -f $(BUILD_DIR)/compile_commands.json || \
	  cmake -S . -B $(BUILD_DIR) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(COMMON_CMAKE_FLAGS)
	$(RUN_CLANG_TIDY) -p $(BUILD_DIR) -quiet -j $(NPROC) '^$(CURDIR)/(queries|adapter)/'

demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory build
	MA_ADAPTER_BIN=$(CURDIR)/$(BUILD_DIR)/bin/metrics-adapter scripts/demo.sh

# Builds only the *_fuzz targets (everything when none is declared yet, so errors still show).
fuzz:
	cmake -S . -B $(FUZZ_BUILD_DIR) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=$(CLANG_CXX) -DMA_FUZZ=ON $(COMMON_CMAKE_FLAGS)
	targets=$$(ninja -C $(FUZZ_BUILD_DIR) -t targets all | \
	  sed -n -E 's/^([A-Za-z0-9_]+_fuzz): phony$$/\1/p' | \
	  { grep -v '^cmake_object_order_depends_target_' || true; } | sort -u | tr '\n' ' '); \
	  cmake --build $(FUZZ_BUILD_DIR) -j$(NPROC) $${targets:+--target $$targets}
	scripts/run_fuzz.sh $(FUZZ_BUILD_DIR)/fuzz $(FUZZ_SECONDS) $(FUZZ_BUILD_DIR)/fuzz-work

bench:
	scripts/bench.sh

SOAK_MINUTES ?= 30
soak:
	SOAK_MINUTES=$(SOAK_MINUTES) scripts/soak.sh

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) $(FUZZ_BUILD_DIR)
