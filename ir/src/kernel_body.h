// Internal to ir/: building a kernel's straight-line body from graph nodes,
// shared by the elementwise and the reduction planners.
#pragma once

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "ndjit/ir/kernel.h"

namespace ndjit::ir {

class BodyBuilder {
 public:
  BodyBuilder(KernelLaunch& launch, Shape shape) : launch_(launch), shape_(std::move(shape)) {}

  // Emits every node reachable from `values` that is not emitted yet: array
  // leaves become loads of new input operands (broadcast to the loop
  // shape), scalars become scalar arguments. The nodes must be elementwise.
  absl::Status Emit(absl::Span<const NodePtr> values);
  int ValueOf(const Node* n) const { return value_of_.at(n); }
  // Appends an instruction computing `node` (null: none of the graph's).
  int Append(Instr in, const Node* node = nullptr);
  int CastTo(int value, DType to);

  // The leaf arrays read, in operand order after the outputs.
  std::vector<NDArray>& inputs() { return inputs_; }

 private:
  KernelLaunch& launch_;
  Shape shape_;
  std::vector<NDArray> inputs_;
  absl::flat_hash_map<const Node*, int> value_of_;
  // Random leaves that differ only in their word share one index operand
  // and one set of scalar arguments, so codegen computes their Philox block
  // once.
  struct RandomSource {
    const char* data;
    std::vector<int64_t> strides;
    uint64_t seed, stream;
    int slot;
    absl::InlinedVector<int, 3> args;
  };
  std::vector<RandomSource> random_sources_;
};

// The widest register lane any value of `spec`'s body needs, in bytes.
int WidestBytes(const KernelSpec& spec);

// How the innermost loop reaches operand k (from its innermost stride).
InnerAccess AccessOf(int64_t inner_stride, DType dtype);
// The operands kRandom instructions read become kIndex (never loaded).
void MarkIndexOperands(KernelSpec& spec);
// The innermost loop's vector width: `chains` registers of the widest value
// per step. A Philox block is ten dependent rounds, a chain the core cannot
// overlap with the next iteration's on its own: kernels that generate
// random numbers take four times the lanes, four independent chains a step
// (W10 on Zen 4: 2x 137 -> 116 ms, 4x 99 ms, 8x 100 ms), eight times when
// every random word is a pair word, whose blocks serve two lanes each (W10
// on Zen 5, in blocks per step: 2x 57 ms, 4x 47, 8x 41, 16x 58; 8x per-element
// words spill: sum of 10^8 float64 uniforms 78 -> 427 ms).
int InnerLanes(const KernelSpec& spec, int vector_bytes, int widest_bytes, int chains);

}  // namespace ndjit::ir
