# Thin wrapper around CMake: `make run` and `make test` set up everything on a
# fresh Debian 12 machine. CMake stays the real build.
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
PREFIX     ?= /usr/local

PYTHON     ?= /usr/bin/python3

.PHONY: all deps configure build python python-remove run test test-release test-sanitize test-tsan test-fuzz fuzz fuzz-build install deb bench bench-full bench-deps clean format

all: build

deps:
	@bash tools/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# `import ndjit` from any directory: a .pth file in the user's site-packages
# of Debian's python3 names the package the build assembled in
# $(BUILD)/python (rebuilding updates it; `make python-remove` undoes it).
python: build
	@site=$$($(PYTHON) -m site --user-site) && mkdir -p "$$site" && \
	  echo "$(abspath $(BUILD))/python" > "$$site/ndjit.pth" && \
	  echo "python: $$site/ndjit.pth -> $(abspath $(BUILD))/python"
	@cd / && $(PYTHON) -c "import ndjit, numpy as np; print('import ndjit:', np.asarray(ndjit.asarray(np.arange(3.0)) * 2))"

python-remove:
	rm -f "$$($(PYTHON) -m site --user-site)/ndjit.pth"

# The tour: `ndjit run` on a script of examples, each stage of their lowering
# shown and timed against the eager evaluator; `import ndjit` set up.
run: build python
	./$(BUILD)/tools/ndjit run tools/tour/tour.ndjit

# The libraries, headers, CLI, CMake package and ndjit.pc under $(PREFIX)
# (`make install PREFIX=$$HOME/.local`).
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# The Debian package, build/ndjit_<version>_amd64.deb.
deb: build
	cd $(BUILD) && cpack -G DEB

# The whole suite: the Release build, then the same tests under ASan + UBSan,
# then the concurrency tests under ThreadSanitizer, then each fuzzer briefly.
# Each build's tests keep their compiled kernels in that build's directory,
# not in the user's cache.
test: test-release test-sanitize test-tsan test-fuzz

test-release: build
	NDJIT_CACHE_DIR=$(BUILD)/kernel-cache ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-sanitize: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DNDJIT_SANITIZE=ON \
	  -DNDJIT_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	NDJIT_CACHE_DIR=$(ASAN_BUILD)/kernel-cache ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

test-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DNDJIT_TSAN=ON \
	  -DNDJIT_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(TSAN_BUILD) -j $(JOBS)
	NDJIT_CACHE_DIR=$(TSAN_BUILD)/kernel-cache ctest --test-dir $(TSAN_BUILD) --output-on-failure -j $(JOBS)

# The roofline report: every workload beside this machine's limits and the
# other tools, medians of 3 short repetitions (about 2 minutes). Writes
# Google Benchmark's JSON, a markdown table and a PNG chart to bench/results/;
# then the Python cases (ndjit, NumPy and numexpr from Python, beside the
# same C++ cases) to bench/results/python.{md,json} (about 3 minutes), and
# the Dask cases on a two-process cluster to bench/results/dask.{md,json}.
BENCH_ARGS = --benchmark_report_aggregates_only=true --ndjit_report_dir=bench/results \
  --benchmark_out=bench/results/latest.json --benchmark_out_format=json
# The bench-only packages (OpenBLAS among them) go in before CMake
# configures, which is when it looks for them.
bench: bench-deps
	mkdir -p bench/results
	./$(BUILD)/bench/ndjit-bench --benchmark_min_time=0.2 --benchmark_repetitions=3 $(BENCH_ARGS)
	PYTHONPATH=$(abspath $(BUILD))/python $(PYTHON) bench/python/python_bench.py \
	  --ndjit-bench $(BUILD)/bench/ndjit-bench --out bench/results --reps 5
	PYTHONPATH=$(abspath $(BUILD))/python $(PYTHON) bench/python/dask_bench.py \
	  --out bench/results --reps 3

# The same with longer runs: 9 repetitions of at least a second each.
bench-full: bench-deps
	mkdir -p bench/results
	./$(BUILD)/bench/ndjit-bench --benchmark_min_time=1 --benchmark_repetitions=9 $(BENCH_ARGS)
	PYTHONPATH=$(abspath $(BUILD))/python $(PYTHON) bench/python/python_bench.py \
	  --ndjit-bench $(BUILD)/bench/ndjit-bench --out bench/results --reps 9
	PYTHONPATH=$(abspath $(BUILD))/python $(PYTHON) bench/python/dask_bench.py \
	  --out bench/results --reps 9

bench-deps:
	@bash tools/install-deps.sh bench
	$(MAKE) build

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)

format:
	git ls-files '*.h' '*.cc' | xargs clang-format -i

# The fuzzers (fuzz/: libFuzzer, clang, ASan + UBSan) from their committed
# seed corpora: `make fuzz FUZZ_SECONDS=600` runs each that long (random
# seeds); test-fuzz is make test's 20-second smoke run (a fixed seed).
fuzz-build: deps
	CC=clang-19 CXX=clang++-19 cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug \
	  -DNDJIT_FUZZ=ON -DNDJIT_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

fuzz: fuzz-build
	cmake -DNDJIT_FUZZ_SECONDS=$(FUZZ_SECONDS) -DNDJIT_FUZZ_SEED=0 $(FUZZ_BUILD) > /dev/null
	NDJIT_CACHE_DIR=$(FUZZ_BUILD)/kernel-cache ctest --test-dir $(FUZZ_BUILD) --output-on-failure -j $(JOBS)

test-fuzz: fuzz-build
	cmake -DNDJIT_FUZZ_SECONDS=20 -DNDJIT_FUZZ_SEED=1 $(FUZZ_BUILD) > /dev/null
	NDJIT_CACHE_DIR=$(FUZZ_BUILD)/kernel-cache ctest --test-dir $(FUZZ_BUILD) --output-on-failure -j $(JOBS)
