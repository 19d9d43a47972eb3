// Internal to the script language: what the explorer's :fused, :loops,
// :llvm, :asm, :dot and :time show of an evaluation, read from the Programs
// it ran (engine::SetProgramObserver).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ndjit/array.h"
#include "ndjit/ir/kernel.h"

namespace ndjit::script {

// One kernel launch of a Program step, or one GEMM.
struct ShownKernel {
  bool reference = false;  // a step the reference evaluator runs: `computes`
  bool gemm = false;
  // A GEMM: its dtype, its description, and whether the next kernel is its
  // epilogue (run on each block of C while the block is in cache).
  DType gemm_dtype = DType::kFloat32;
  std::string gemm_text;
  bool has_epilogue = false;
  // A kernel: what it runs, and the values it computes ("maximum f32[4]").
  ir::KernelSpec spec;
  Shape sizes;
  std::vector<Strides> strides;
  int reads = 0;  // array operands it reads
  std::vector<std::string> computes;
  // The %N name (:graph's numbering) of the node each body instruction
  // computes, "" where none; a GEMM: its contraction's.
  std::vector<std::string> labels;
};

struct Shown {
  // Each kernel once: the pieces of a chunked reduction, and the chunks of
  // a streamed evaluation, share their code.
  std::vector<ShownKernel> kernels;
  int64_t streamed_chunks = 0, streamed_passes = 0;
  double first_ms = 0;  // the evaluation's wall time
  // Why no Program ran, when the value was computed another way.
  std::string unplanned;
};

// Evaluates a fresh copy of `a`, watching the Programs it runs.
absl::StatusOr<Shown> EvaluateAndShow(const Array<>& a);

}  // namespace ndjit::script
