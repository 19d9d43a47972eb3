// Batched matrix multiplication on strided operands: the kernel contractions
// (einsum, matmul, tensordot) lower to.
//
//   C[b, i, j] = sum_k A[b, i, k] * B[b, k, j]     (float32 or float64)
//
// Blocked for the caches the way BLIS is: B is packed per (k block, column
// block) into panels NR columns wide, A per (row block, k block) into panels
// MR rows tall; a JIT-compiled micro-kernel (gemm_kernel.cc) keeps an MR x NR
// tile of C in vector registers through a k block. Any strides work (packing
// absorbs transposes and gaps, so no operand is copied first); threads share
// batch entries and row blocks. No LLVM type crosses this header.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ndjit/runtime/dtype.h"

namespace ndjit::codegen {

// Strides are in bytes and may be zero or negative.
struct GemmProblem {
  DType dtype = DType::kFloat32;
  int64_t batch = 1, m = 0, n = 0, k = 0;
  const char* a = nullptr;
  int64_t a_batch = 0, a_m = 0, a_k = 0;
  const char* b = nullptr;
  int64_t b_batch = 0, b_k = 0, b_n = 0;
  char* c = nullptr;
  int64_t c_batch = 0, c_m = 0, c_n = 0;
};

// A rectangle of C that holds its final values: rows [m0, m1) and columns
// [n0, n1) of batch entry `batch`. It was just written, so it is still in
// the core's L2 cache.
struct GemmBlock {
  int64_t batch = 0, m0 = 0, m1 = 0, n0 = 0, n1 = 0;
};
// Called once per block as soon as it is final, on the thread that computed
// it: where elementwise work on C runs while C is in cache (an epilogue).
// Blocks partition C. An error stops the GEMM and is returned.
using GemmEpilogue = std::function<absl::Status(const GemmBlock&)>;

bool GemmSupports(DType dtype);

absl::Status RunGemm(const GemmProblem& p, const GemmEpilogue& epilogue = nullptr);

// The blocking RunGemm uses for `dtype` on this host: micro-tile MR x NR, and
// the k, row and column block sizes (kc, mc, nc).
struct GemmBlocking {
  int mr = 0, nr = 0, kc = 0, mc = 0, nc = 0;
};
GemmBlocking GetGemmBlocking(DType dtype);
std::string DescribeGemmBlocking(DType dtype);

// The micro-kernel as the explorer shows it.
enum class GemmStage { kLLVM, kOptimizedLLVM, kAssembly };
absl::StatusOr<std::string> GemmKernelText(DType dtype, GemmStage stage);

}  // namespace ndjit::codegen
