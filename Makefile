# Thin wrapper over CMake. The README's two commands are `make demo` and `make test`.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)

.PHONY: all build demo test test-unit test-sanitize deps deps-build clean

all: build

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

deps:
	@bash scripts/deps.sh test

deps-build:
	@bash scripts/deps.sh build

# The main job.
demo: deps-build build
	./$(BUILD)/multimax demo

# The whole suite: C unit tests, CLI tests, and the PyTorch / entmax peer comparisons.
test: deps build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# C unit + CLI tests only (no Python peers needed).
test-unit: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) -LE peers

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
test-sanitize: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMMX_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
