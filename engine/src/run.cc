// Running a Program: slots get pool memory before their first writer and
// give it back after their last reader, so a value no later step reads is
// freed before the next one allocates (the pool hands its block on).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/engine/engine.h"

namespace ndjit::engine {
namespace {

absl::Status RunCall(const ir::KernelCall& c, absl::Span<const NDArray> bound,
                     absl::Span<const ir::ScalarValue> scalars) {
  if (c.empty) return absl::OkStatus();
  absl::InlinedVector<char*, 8> ptrs;
  for (const ir::OperandRef& r : c.operands) {
    ptrs.push_back(r.fixed != nullptr ? const_cast<char*>(r.fixed)
                                      : bound[r.slot].data() + r.offset);
  }
  absl::InlinedVector<ir::ScalarValue, 4> values;
  for (const ir::ScalarRef& s : c.scalars)
    values.push_back(s.leaf >= 0 ? scalars[s.leaf] : s.value);
  if (absl::Status s = codegen::RunKernel(c.spec, ptrs, c.sizes, c.strides, values); !s.ok()) {
    return s;
  }
  CountKernel(c.spec);
  return absl::OkStatus();
}

bool SameLayout(const NDArray& a, const ir::Slot& s) {
  return a.valid() && a.dtype() == s.dtype && a.shape() == Dims(s.shape) &&
         a.strides() == Dims(s.strides);
}

}  // namespace

absl::StatusOr<std::vector<NDArray>> Run(const ir::Program& p, absl::Span<const NDArray> inputs,
                                         absl::Span<const ir::ScalarValue> scalars) {
  if (static_cast<int>(inputs.size()) != p.num_inputs ||
      static_cast<int>(scalars.size()) != p.num_scalars) {
    return absl::InvalidArgumentError(absl::StrCat("Run(): the program takes ", p.num_inputs,
                                                   " arrays and ", p.num_scalars, " scalars, not ",
                                                   inputs.size(), " and ", scalars.size()));
  }
  std::vector<NDArray> bound(p.slots.size());
  for (int i = 0; i < p.num_inputs; ++i) {
    if (!SameLayout(inputs[i], p.slots[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("Run(): input ", i, " is ", inputs[i].Describe(), ", the program takes ",
                       ir::TypeString(p.slots[i].dtype, p.slots[i].shape), " strides (",
                       absl::StrJoin(p.slots[i].strides, ","), ")"));
    }
    bound[i] = inputs[i];
  }
  const int nsteps = static_cast<int>(p.steps.size());
  for (int i = 0; i < nsteps; ++i) {
    for (size_t s = p.num_inputs; s < p.slots.size(); ++s) {
      const ir::Slot& slot = p.slots[s];
      if (slot.writer != i) continue;
      absl::StatusOr<NDArray> a = NDArray::Empty(slot.shape, slot.dtype, slot.order);
      if (!a.ok()) return a.status();
      bound[s] = *std::move(a);
    }
    const ir::Step& step = p.steps[i];
    for (const ir::Step::Fold& f : step.folds) {
      ir::FillWith(bound[f.partials], ir::ReductionIdentity(f.op, bound[f.partials].dtype()));
    }
    for (const ir::KernelCall& c : step.calls) {
      if (absl::Status s = RunCall(c, bound, scalars); !s.ok()) return s;
    }
    for (const ir::Step::Fold& f : step.folds) {
      ir::CombinePartials(bound[f.partials], f.op);
      if (f.cast_to < 0) continue;
      absl::StatusOr<NDArray> slab = bound[f.partials].Index({IndexItem{int64_t{0}}});
      if (!slab.ok()) return slab.status();
      if (absl::Status s = CopyTo(bound[f.cast_to], *slab, Casting::kUnsafe); !s.ok()) return s;
    }
    // Values no later step reads go back to the pool now.
    for (size_t s = p.num_inputs; s < p.slots.size(); ++s) {
      const ir::Slot& slot = p.slots[s];
      if (slot.last_reader == i || (slot.last_reader < 0 && slot.writer == i)) bound[s] = NDArray();
    }
  }
  std::vector<NDArray> out;
  for (const ir::ValueRef& v : p.outputs) {
    const NDArray& home = bound[v.slot];
    absl::StatusOr<NDArray> value = NDArray::FromBuffer(
        home.buffer(), home.offset() + v.offset, v.dtype, v.shape, v.strides, home.writeable());
    if (!value.ok()) return value.status();
    out.push_back(*std::move(value));
  }
  return out;
}

absl::StatusOr<std::vector<NDArray>> Evaluate(absl::Span<const ir::NodePtr> roots) {
  absl::StatusOr<std::shared_ptr<const ir::Program>> program = Plan(roots);
  if (!program.ok()) return program.status();
  const ir::Leaves leaves = ir::CollectLeaves(roots);
  std::vector<NDArray> inputs;
  inputs.reserve(leaves.arrays.size());
  for (const ir::Node* n : leaves.arrays) inputs.push_back(n->array());
  std::vector<ir::ScalarValue> scalars;
  scalars.reserve(leaves.scalars.size());
  for (const ir::Node* n : leaves.scalars) scalars.push_back(n->scalar());
  absl::StatusOr<std::vector<NDArray>> values = Run(**program, inputs, scalars);
  if (values.ok()) CountIntermediateBytes((*program)->intermediate_bytes);
  return values;
}

}  // namespace ndjit::engine
