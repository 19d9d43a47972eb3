// Random numbers as lazy arrays: a counter-based generator (Philox4x32-10,
// runtime/philox.h) whose element i is a pure function of (seed, stream, i).
// Nothing is generated until the array is read, and then inside the fused
// kernel that consumes it: `sum(g.random(n) < 0.5)` never stores n values.
// Values are bit-identical for any thread count, vector width, tiling or
// evaluation order, and views of a random array are views of its values.
//
//   ndjit::Generator g(42);                  // NumPy's default_rng(42), in spirit
//   auto x = g.random({1 << 20});            // float64 in [0, 1)
//   auto z = g.normal(0.0, 2.0, {1000}, ndjit::DType::kFloat32);
//
// Each call draws a new stream: two calls give independent arrays, and the
// same seed and call order give the same arrays.
#pragma once

#include <cstdint>
#include <utility>

#include "ndjit/array.h"

namespace ndjit {

class Generator {
 public:
  explicit Generator(uint64_t seed) : seed_(seed) {}

  // Uniform in [0, 1), float32 or float64.
  Array<> random(Dims shape, DType dtype = DType::kFloat64);
  // Two independent uniform arrays for samples that need a pair (Monte
  // Carlo points): float32 pairs of two elements share one Philox block
  // (a quarter of the work of two random() calls), float64 pairs take one
  // block per element.
  std::pair<Array<>, Array<>> random_pair(Dims shape, DType dtype = DType::kFloat64);
  // Uniform in [low, high).
  Array<> uniform(double low, double high, Dims shape, DType dtype = DType::kFloat64);
  // Normal by Box-Muller on the two uniforms of one block.
  Array<> normal(double loc, double scale, Dims shape, DType dtype = DType::kFloat64);
  // int64 uniform in [low, high).
  Array<> integers(int64_t low, int64_t high, Dims shape);

  uint64_t seed() const { return seed_; }
  uint64_t streams_used() const { return next_stream_; }

 private:
  uint64_t seed_;
  uint64_t next_stream_ = 0;
};

}  // namespace ndjit
