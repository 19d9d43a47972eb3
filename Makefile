# Thin wrapper around CMake: `make run` and `make test` set up everything on a
# fresh Debian 12 machine. CMake stays the real build.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all deps configure build run test test-release test-sanitize bench clean format

all: build

deps:
	@bash tools/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/tools/ndjit-demo

# The whole suite: the Release build, then the same tests under ASan + UBSan.
test: test-release test-sanitize

test-release: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-sanitize: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DNDJIT_SANITIZE=ON \
	  -DNDJIT_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# Short benchmark run; Google Benchmark's JSON goes to bench/results/latest.json.
bench: build
	mkdir -p bench/results
	./$(BUILD)/bench/ndjit-bench --benchmark_min_time=0.2 --benchmark_repetitions=3 \
	  --benchmark_report_aggregates_only=true \
	  --benchmark_out=bench/results/latest.json --benchmark_out_format=json

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

format:
	git ls-files '*.h' '*.cc' | xargs clang-format -i
