// Helpers shared by the benchmark files.
#pragma once

#include <random>
#include <string>

#include "ndjit/runtime/ndarray.h"
#include "ndjit/runtime/thread_pool.h"

namespace ndjit::bench {

// Sets the thread count for one case and restores the default after it, so
// a case's name (…/1T, …/2T) states what it ran with.
struct Threads {
  explicit Threads(int n) { SetNumThreads(n); }
  ~Threads() { SetNumThreads(0); }
};

// float32 values uniform in [lo, hi), reproducible from the seed.
inline NDArray RandomFloats(Dims shape, uint32_t seed, float lo, float hi) {
  NDArray a = *NDArray::Empty(shape, DType::kFloat32);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  auto* p = reinterpret_cast<float*>(a.data());
  for (int64_t i = 0; i < a.size(); ++i) p[i] = d(rng);
  return a;
}

// The W12 helper: evaluates workload `which` ("W2" or "W6") once in this
// fresh process, prints the milliseconds it took (JIT start-up, planning,
// compilation and the run), and returns the exit status.
int FirstEvalMain(const char* which);

}  // namespace ndjit::bench
