// Inputs and expressions of W7 shared by the ndjit cases (linalg_bench.cc)
// and the OpenBLAS and Eigen ones, which check their results against them.
#pragma once

#include "bench_util.h"
#include "ndjit/ndjit.h"

namespace ndjit::bench {

struct LinalgData {
  NDArray a1 = RandomFloats({1024, 1024}, 11, -1, 1), b1 = RandomFloats({1024, 1024}, 12, -1, 1);
  NDArray a2 = RandomFloats({2048, 2048}, 13, -1, 1), b2 = RandomFloats({2048, 2048}, 14, -1, 1);
  NDArray bias = RandomFloats({1024}, 15, -1, 1);
  NDArray x = RandomFloats({64, 128, 256}, 16, -1, 1), y = RandomFloats({256, 128}, 17, -1, 1);
  // The chain p(2048x64) q(64x2048) r(2048x512): (p q) r costs 16x more
  // than p (q r).
  NDArray p = RandomFloats({2048, 64}, 18, -1, 1), q = RandomFloats({64, 2048}, 19, -1, 1),
          r = RandomFloats({2048, 512}, 20, -1, 1);
};
// The FLOPs of the chain in its best order.
inline constexpr double kChainFlops = 2.0 * 64 * 2048 * 512 + 2.0 * 2048 * 64 * 512;

LinalgData& LinalgInputs();

Array<> Sgemm(const LinalgData& d, int n);
Array<> EinsumW7(const LinalgData& d);
Array<> Chain(const LinalgData& d);
Array<> Epilogue(const LinalgData& d);
bool CloseTo(const NDArray& got, const NDArray& want, double tol);

}  // namespace ndjit::bench
