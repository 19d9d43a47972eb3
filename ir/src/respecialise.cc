// A Program of one elementwise kernel, laid out again for new sizes: the
// kernel's structure (operands, body) comes from the Program, everything the
// sizes decide from LayOutLoops, the code Schedule's kernels get theirs from.
#include <optional>

#include "ndjit/ir/program.h"
#include "stand_in.h"

namespace ndjit::ir {
namespace {

// Where the fresh outputs' stand-ins lie while the loops are laid out: as
// Schedule's placeholders, aligned beyond any vector (streaming stores ask),
// each in a span of its own, never dereferenced.
constexpr uintptr_t kOutputsBase = uintptr_t{1} << 52;
constexpr uintptr_t kOutputSpan = uintptr_t{1} << 48;

}  // namespace

bool Respecialisable(const Program& p) {
  if (p.steps.size() != 1 || p.steps[0].kind != Step::kKernel || p.steps[0].calls.size() != 1 ||
      !p.given.empty()) {
    return false;
  }
  const KernelCall& call = p.steps[0].calls[0];
  const int nout = call.spec.num_outputs;
  if (static_cast<int>(p.outputs.size()) != nout ||
      static_cast<int>(p.slots.size()) != p.num_inputs + nout) {
    return false;
  }
  // Output k is the whole of slot num_inputs + k; every input a whole leaf.
  for (size_t k = 0; k < call.operands.size(); ++k) {
    const OperandRef& r = call.operands[k];
    if (r.fixed != nullptr || r.offset != 0) return false;
    if (static_cast<int>(k) >= nout) {
      if (r.slot < 0 || r.slot >= p.num_inputs) return false;
      continue;
    }
    const ValueRef& v = p.outputs[k];
    if (r.slot != p.num_inputs + static_cast<int>(k) || v.slot != r.slot || v.offset != 0 ||
        p.slots[r.slot].home != SlotHome::kOutput) {
      return false;
    }
  }
  return true;
}

std::optional<Program> Respecialise(const Program& p, Dims shape, absl::Span<const NDArray> inputs,
                                    int vector_bytes) {
  if (!Respecialisable(p) || static_cast<int>(inputs.size()) != p.num_inputs) return std::nullopt;
  for (int64_t d : shape) {
    if (d == 0) return std::nullopt;
  }
  const KernelCall& call = p.steps[0].calls[0];
  const int nout = call.spec.num_outputs;
  KernelLaunch launch;
  launch.spec = call.spec;
  launch.arrays.resize(nout);
  for (size_t k = nout; k < call.operands.size(); ++k) {
    absl::StatusOr<NDArray> b = inputs[call.operands[k].slot].BroadcastTo(shape);
    if (!b.ok()) return std::nullopt;
    launch.arrays.push_back(*std::move(b));
  }
  std::vector<Order> orders;
  const ArrayMaker stand_ins = [&](Dims s, DType dtype, Order order) {
    orders.push_back(order);
    const int64_t item = ItemSize(dtype);
    return StandIn(kOutputsBase + orders.size() * kOutputSpan, dtype, s,
                   ContiguousStrides(s, item, order), /*writeable=*/true);
  };
  if (!LayOutLoops(launch, shape, vector_bytes, {}, stand_ins).ok() ||
      !(launch.spec == call.spec)) {
    return std::nullopt;
  }
  Program q = p;
  q.held.clear();
  q.origins.clear();
  for (int i = 0; i < p.num_inputs; ++i) {
    Slot& s = q.slots[i];
    s.shape.assign(inputs[i].shape().begin(), inputs[i].shape().end());
    s.strides.assign(inputs[i].strides().begin(), inputs[i].strides().end());
    s.node = nullptr;
  }
  for (int k = 0; k < nout; ++k) {
    Slot& s = q.slots[p.num_inputs + k];
    s.shape.assign(shape.begin(), shape.end());
    s.order = orders[k];
    s.strides.assign(launch.arrays[k].strides().begin(), launch.arrays[k].strides().end());
    ValueRef& v = q.outputs[k];
    v.shape = s.shape;
    v.strides = s.strides;
  }
  Step& step = q.steps[0];
  step.nodes.clear();
  KernelCall& c = step.calls[0];
  c.sizes = std::move(launch.sizes);
  c.strides = std::move(launch.strides);
  c.empty = launch.empty;
  c.instr_nodes.clear();
  return q;
}

}  // namespace ndjit::ir
