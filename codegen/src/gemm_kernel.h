// Internal to codegen/: the GEMM micro-kernel, written directly in LLVM IR
// (gemm_kernel.cc) and driven by the blocked, packed loops of gemm.cc. No
// LLVM type crosses this header.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "ndjit/runtime/dtype.h"

namespace ndjit::codegen {

// C[MR x NR] (+)= Apanel[kc x MR]^T * Bpanel[kc x NR].
// `a` holds MR values per k (the broadcast operand), `b` NR values per k
// (the vector operand, 64-byte aligned); C's rows are `ldc` elements apart
// and contiguous. `accumulate` != 0 adds to C instead of overwriting it.
using MicroKernelFn = void (*)(int64_t kc, const char* a, const char* b, char* c, int64_t ldc,
                               int64_t accumulate);

// The register tile: MR rows (broadcasts) x NR columns (NR/lanes vectors).
// Accumulators, one vector operand set and a broadcast must all fit the
// register file: 12 x 2 vectors with 32 registers (AVX-512), 6 x 2 with 16.
struct MicroTile {
  int mr = 0;
  int nr = 0;
  int lanes = 0;
};
MicroTile GetMicroTile(DType dtype);  // float32 and float64 only

absl::StatusOr<MicroKernelFn> GetMicroKernel(DType dtype);
// The micro-kernel's LLVM IR (optimised or not) or host assembly.
absl::StatusOr<std::string> MicroKernelText(DType dtype, int stage);

}  // namespace ndjit::codegen
