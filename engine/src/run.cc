// Running a Program: slots get pool memory before their first writer and
// give it back after their last reader, so a value no later step reads is
// freed before the next one allocates (the pool hands its block on).
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ndjit/codegen/gemm.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/engine/engine.h"
#include "ndjit/ir/reference.h"
#include "ndjit/runtime/cast.h"
#include "ndjit/runtime/interrupt.h"
#include "ndjit/runtime/status_macros.h"
#include "run_internal.h"

namespace ndjit::engine {
namespace {

// Each slot's array while a Program runs: inputs and out= arrays are the
// caller's (referred to, not copied), the others are held here.
class Slots {
 public:
  // `row0`: the row a chunk loop's chunk starts at (random operands move).
  Slots(const ir::Program& p, absl::Span<const NDArray> inputs, absl::Span<const NDArray> outs,
        int64_t row0)
      : where_(p.slots.size(), nullptr),
        held_(p.slots.size() - p.num_inputs),
        first_held_(p.num_inputs),
        row0_(row0) {
    for (int i = 0; i < p.num_inputs; ++i) where_[i] = &inputs[i];
    for (size_t k = 0; k < outs.size(); ++k) where_[p.given[k]] = &outs[k];
  }
  const NDArray& operator[](int slot) const { return *where_[slot]; }
  int64_t row0() const { return row0_; }
  void Hold(int slot, NDArray a) {
    NDArray& h = held_[slot - first_held_];
    h = std::move(a);
    where_[slot] = &h;
  }
  // Moved out (not assigned a null array, which GCC 12 misreads as a read
  // of uninitialised storage): the block goes back to the pool here.
  void Drop(int slot) { NDArray gone = std::move(held_[slot - first_held_]); }

 private:
  absl::InlinedVector<const NDArray*, 8> where_;
  absl::InlinedVector<NDArray, 2> held_;
  int first_held_;
  int64_t row0_;
};

char* Address(const ir::OperandRef& r, const Slots& bound) {
  return r.fixed != nullptr ? const_cast<char*>(r.fixed) + bound.row0() * r.per_row
                            : bound[r.slot].data() + r.offset;
}

using Pointers = absl::InlinedVector<char*, 8>;
using Scalars = absl::InlinedVector<ir::ScalarValue, 4>;

void Bind(const ir::KernelCall& c, const Slots& bound, absl::Span<const ir::ScalarValue> scalars,
          Pointers& ptrs, Scalars& values) {
  for (const ir::OperandRef& r : c.operands) ptrs.push_back(Address(r, bound));
  for (const ir::ScalarRef& s : c.scalars)
    values.push_back(s.leaf >= 0 ? scalars[s.leaf] : s.value);
}

absl::Status RunCall(const ir::KernelCall& c, codegen::KernelFn fn, const Slots& bound,
                     absl::Span<const ir::ScalarValue> scalars) {
  if (c.empty) return absl::OkStatus();
  Pointers ptrs;
  Scalars values;
  Bind(c, bound, scalars, ptrs, values);
  NDJIT_RETURN_IF_ERROR(fn != nullptr
                            ? codegen::RunKernel(fn, c.spec, ptrs, c.sizes, c.strides, values)
                            : codegen::RunKernel(c.spec, ptrs, c.sizes, c.strides, values));
  CountKernel(c.spec);
  return absl::OkStatus();
}

// NumPy's arrays start 16 bytes past a 64-byte boundary. A kernel that reads
// them into fresh 64-byte aligned outputs splits every full-vector load over
// two cache lines (W3 from Python ran 1.28x its C++ time). When every array a
// one-loop contiguous kernel reads starts the same `shift` bytes past a
// boundary, its fresh outputs are placed at that shift too, and the first
// 64 - shift bytes run as a launch of their own: the rest reads and writes
// whole lines (and its streaming stores stay aligned). 0: no such kernel.
int64_t SharedShift(const ir::Program& p, int step, const Slots& bound) {
  constexpr int64_t kMinBytes = int64_t{256} << 10;  // below this a second launch costs more
  const ir::Step& st = p.steps[step];
  if (st.kind != ir::Step::kKernel || st.calls.size() != 1) return 0;
  const ir::KernelCall& c = st.calls[0];
  if (c.empty || c.sizes.size() != 1) return 0;
  const int64_t item = ItemSize(c.spec.operands[0]);
  if (c.sizes[0] * item < kMinBytes) return 0;
  int64_t shift = -1;
  for (size_t k = 0; k < c.operands.size(); ++k) {
    const ir::OperandRef& r = c.operands[k];
    if (r.fixed != nullptr || ItemSize(c.spec.operands[k]) != item || c.strides[k][0] != item) {
      return 0;
    }
    const ir::Slot& slot = p.slots[r.slot];
    if (static_cast<int>(k) < c.spec.num_outputs) {
      // A fresh output this step writes whole, from its start.
      if (slot.writer != step || slot.home == ir::SlotHome::kGiven || r.offset != 0) return 0;
      continue;
    }
    if (slot.writer == step) return 0;
    const int64_t at =
        static_cast<int64_t>(reinterpret_cast<uintptr_t>(Address(r, bound)) % kBufferAlignment);
    if (shift >= 0 && at != shift) return 0;
    shift = at;
  }
  if (shift <= 0 || shift % item != 0) return 0;
  // The head must fit in less than one vector, so its launch is all masked
  // tail: a full vector there would be a streaming store off its alignment
  // (a fault) where vectors are narrower than a line (AVX2's 32 bytes).
  if ((static_cast<int64_t>(kBufferAlignment) - shift) / item >= c.spec.lanes) return 0;
  return shift;
}

// A slot's array `shift` bytes past the start of a fresh pool block.
absl::StatusOr<NDArray> EmptyAt(const ir::Slot& slot, int64_t shift) {
  if (shift == 0) return NDArray::Empty(slot.shape, slot.dtype, slot.order);
  NDJIT_ASSIGN_OR_RETURN(int64_t n, CheckedSize(slot.shape));
  NDJIT_ASSIGN_OR_RETURN(BufferPtr block, Buffer::Allocate(n * ItemSize(slot.dtype) + shift));
  return NDArray::FromBuffer(std::move(block), shift, slot.dtype, slot.shape,
                             ContiguousStrides(slot.shape, ItemSize(slot.dtype), slot.order));
}

// The call in two launches: the first `head` elements, then the rest.
absl::Status RunSplit(const ir::KernelCall& c, codegen::KernelFn fn, const Slots& bound,
                      absl::Span<const ir::ScalarValue> scalars, int64_t head) {
  Pointers ptrs;
  Scalars values;
  Bind(c, bound, scalars, ptrs, values);
  const int64_t sizes[2][1] = {{head}, {c.sizes[0] - head}};
  for (int part = 0; part < 2; ++part) {
    NDJIT_RETURN_IF_ERROR(fn != nullptr
                              ? codegen::RunKernel(fn, c.spec, ptrs, sizes[part], c.strides, values)
                              : codegen::RunKernel(c.spec, ptrs, sizes[part], c.strides, values));
    for (size_t k = 0; k < ptrs.size(); ++k) ptrs[k] += head * c.strides[k][0];
  }
  CountKernel(c.spec);
  return absl::OkStatus();
}

// The step's graph over the slots' memory, by the reference evaluator.
absl::Status RunReference(const ir::Step& step, const Slots& bound) {
  absl::flat_hash_map<const ir::Node*, ir::NodePtr> with;
  for (const ir::Step::Leaf& l : step.reference_leaves) {
    const NDArray& home = bound[l.slot];
    const NDArray& stand_in = l.leaf->array();
    NDJIT_ASSIGN_OR_RETURN(
        NDArray view,
        NDArray::FromBuffer(home.buffer(), home.offset() + l.offset, stand_in.dtype(),
                            stand_in.shape(), stand_in.strides(), /*writeable=*/false));
    with[l.leaf] = ir::MakeArray(view);
  }
  for (size_t k = 0; k < step.reference.size(); ++k) {
    NDJIT_ASSIGN_OR_RETURN(ir::NodePtr graph, ir::Substitute(step.reference[k], with));
    NDJIT_ASSIGN_OR_RETURN(NDArray value, ir::EvaluateReference(graph));
    NDJIT_RETURN_IF_ERROR(CopyTo(bound[step.reference_dest[k]], value));
    CountFallback();
  }
  return absl::OkStatus();
}

bool SameLayout(const NDArray& a, const ir::Slot& s) {
  return a.valid() && a.dtype() == s.dtype && SameDims(a.shape(), s.shape) &&
         SameDims(a.strides(), s.strides);
}

// Runs the GEMM `g` over A, B and C at `a`, `b`, `c`; with an epilogue
// (`epilogue`: compiled, or null to look it up), g.epilogue runs on each
// block of C as soon as the block is final, its operands at `epilogue_ptrs`
// moved to the block's corner.
absl::Status RunGemm(const ir::GemmCall& g, const char* a, const char* b, char* c,
                     codegen::KernelFn epilogue, absl::Span<char* const> epilogue_ptrs,
                     absl::Span<const ir::ScalarValue> epilogue_scalars) {
  codegen::GemmProblem p;
  p.dtype = g.dtype;
  p.batch = g.batch;
  p.m = g.m;
  p.n = g.n;
  p.k = g.k;
  p.a = a;
  p.a_batch = g.a_strides[0];
  p.a_m = g.a_strides[1];
  p.a_k = g.a_strides[2];
  p.b = b;
  p.b_batch = g.b_strides[0];
  p.b_k = g.b_strides[1];
  p.b_n = g.b_strides[2];
  p.c = c;
  p.c_batch = g.c_strides[0];
  p.c_m = g.c_strides[1];
  p.c_n = g.c_strides[2];
  codegen::GemmEpilogue on_block;
  const ir::KernelCall& e = g.epilogue;
  if (g.has_epilogue && !e.empty) {
    if (epilogue_ptrs.size() != e.spec.operands.size()) {
      return absl::InternalError("RunGemm(): the epilogue's operands are not all given");
    }
    on_block = [&](const codegen::GemmBlock& blk) {
      // The block as a box of the result: its corner and extents per dim.
      Shape corner(e.sizes.size(), 0), sizes = e.sizes;
      const int64_t lo[3] = {blk.batch, blk.m0, blk.n0}, hi[3] = {blk.batch + 1, blk.m1, blk.n1};
      for (int d = 0; d < 3; ++d) {
        const int r = g.result_dim[d];
        if (r < 0) continue;
        if (r >= static_cast<int>(sizes.size())) {
          return absl::InternalError("RunGemm(): a GEMM dim beyond the epilogue's loops");
        }
        corner[r] = lo[d];
        sizes[r] = hi[d] - lo[d];
      }
      Pointers ptrs;
      for (size_t k = 0; k < epilogue_ptrs.size(); ++k) {
        int64_t shift = 0;
        for (size_t d = 0; d < corner.size(); ++d) shift += corner[d] * e.strides[k][d];
        ptrs.push_back(epilogue_ptrs[k] + shift);
      }
      NDJIT_RETURN_IF_ERROR(
          epilogue != nullptr
              ? codegen::RunKernel(epilogue, e.spec, ptrs, sizes, e.strides, epilogue_scalars)
              : codegen::RunKernel(e.spec, ptrs, sizes, e.strides, epilogue_scalars));
      CountKernel(e.spec);
      CountEpilogue();
      return absl::OkStatus();
    };
  }
  NDJIT_RETURN_IF_ERROR(codegen::RunGemm(p, on_block));
  CountGemm();
  return absl::OkStatus();
}

// Values no later step reads go back to the pool once step `i` ran.
void ReleaseDead(const ir::Program& p, int i, Slots& bound) {
  for (size_t s = p.num_inputs; s < p.slots.size(); ++s) {
    const ir::Slot& slot = p.slots[s];
    if (slot.home == ir::SlotHome::kGiven) continue;
    if (slot.last_reader == i || (slot.last_reader < 0 && slot.writer == i)) {
      bound.Drop(static_cast<int>(s));
    }
  }
}

// `kernels`: one per call in step order, or empty to look each one up.
absl::StatusOr<std::vector<NDArray>> RunWith(const ir::Program& p,
                                             absl::Span<const codegen::Kernel> kernels,
                                             const PartKernels* parts,
                                             absl::Span<const NDArray> inputs,
                                             absl::Span<const ir::ScalarValue> scalars,
                                             absl::Span<const NDArray> outs, int64_t row0) {
  if (static_cast<int>(inputs.size()) != p.num_inputs ||
      static_cast<int>(scalars.size()) != p.num_scalars) {
    return absl::InvalidArgumentError(absl::StrCat("Run(): the program takes ", p.num_inputs,
                                                   " arrays and ", p.num_scalars, " scalars, not ",
                                                   inputs.size(), " and ", scalars.size()));
  }
  for (int i = 0; i < p.num_inputs; ++i) {
    if (!SameLayout(inputs[i], p.slots[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("Run(): input ", i, " is ", inputs[i].Describe(), ", the program takes ",
                       ir::TypeString(p.slots[i].dtype, p.slots[i].shape), " strides (",
                       absl::StrJoin(p.slots[i].strides, ","), ")"));
    }
  }
  if (outs.size() != p.given.size()) {
    return absl::InvalidArgumentError(absl::StrCat("Run(): the program writes ", p.given.size(),
                                                   " out= arrays, not ", outs.size()));
  }
  for (size_t k = 0; k < outs.size(); ++k) {
    const ir::Slot& slot = p.slots[p.given[k]];
    if (!SameLayout(outs[k], slot) || !outs[k].writeable()) {
      return absl::InvalidArgumentError(absl::StrCat("Run(): out array ", k, " is ",
                                                     outs[k].Describe(), ", the program writes ",
                                                     ir::TypeString(slot.dtype, slot.shape)));
    }
  }
  Slots bound(p, inputs, outs, row0);
  const int nsteps = static_cast<int>(p.steps.size());
  size_t next_kernel = 0;
  for (int i = 0; i < nsteps; ++i) {
    if (InterruptRequested()) return InterruptedError();
    const int64_t shift = SharedShift(p, i, bound);
    for (size_t s = p.num_inputs; s < p.slots.size(); ++s) {
      const ir::Slot& slot = p.slots[s];
      if (slot.writer != i || slot.home == ir::SlotHome::kGiven) continue;
      NDJIT_ASSIGN_OR_RETURN(NDArray a, EmptyAt(slot, shift));
      bound.Hold(static_cast<int>(s), std::move(a));
    }
    const ir::Step& step = p.steps[i];
    if (shift > 0) {
      const ir::KernelCall& c = step.calls[0];
      const int64_t head = (kBufferAlignment - shift) / ItemSize(c.spec.operands[0]);
      const codegen::KernelFn fn = kernels.empty() ? nullptr : kernels[next_kernel++].fn();
      NDJIT_RETURN_IF_ERROR(RunSplit(c, fn, bound, scalars, head));
      ReleaseDead(p, i, bound);
      continue;
    }
    for (const ir::Step::Fold& f : step.folds) {
      ir::FillWith(bound[f.partials], ir::ReductionIdentity(f.op, bound[f.partials].dtype()));
    }
    for (const ir::KernelCall& c : step.calls) {
      const codegen::KernelFn fn = kernels.empty() ? nullptr : kernels[next_kernel++].fn();
      NDJIT_RETURN_IF_ERROR(RunCall(c, fn, bound, scalars));
    }
    if (step.kind == ir::Step::kReference) {
      NDJIT_RETURN_IF_ERROR(RunReference(step, bound));
    }
    if (step.kind == ir::Step::kChunkLoop) {
      NDJIT_RETURN_IF_ERROR(RunChunkLoop(
          *step.loop, [&](int slot) -> const NDArray& { return bound[slot]; }, scalars, parts));
    }
    if (step.kind == ir::Step::kGemm) {
      const ir::GemmCall& g = step.gemm;
      Pointers ptrs;
      Scalars values;
      codegen::KernelFn fn = nullptr;
      if (g.has_epilogue) {
        Bind(g.epilogue, bound, scalars, ptrs, values);
        if (!kernels.empty()) fn = kernels[next_kernel++].fn();
      }
      if (absl::Status s = RunGemm(g, Address(g.a, bound), Address(g.b, bound), Address(g.c, bound),
                                   fn, ptrs, values);
          !s.ok()) {
        return s;
      }
    }
    for (const ir::Step::Fold& f : step.folds) {
      ir::CombinePartials(bound[f.partials], f.op);
      if (f.cast_to < 0) continue;
      // Both are slots the engine allocated C-ordered: slab 0 is the first
      // elements of the partials, one per element of the value.
      const NDArray &slabs = bound[f.partials], &value = bound[f.cast_to];
      if (!slabs.IsCContiguous() || !value.IsCContiguous() || slabs.ndim() == 0 ||
          value.size() * slabs.shape()[0] != slabs.size()) {
        return absl::InternalError(absl::StrCat("Run(): partials ", slabs.Describe(),
                                                " do not fold into ", value.Describe()));
      }
      GetCastFn(slabs.dtype(), value.dtype())(slabs.data(), ItemSize(slabs.dtype()), value.data(),
                                              ItemSize(value.dtype()), value.size());
    }
    ReleaseDead(p, i, bound);
  }
  std::vector<NDArray> out;
  out.reserve(p.outputs.size());
  for (const ir::ValueRef& v : p.outputs) {
    const NDArray& home = bound[v.slot];
    // A value that is its whole slot is the slot's array, as allocated.
    if (v.offset == 0 && v.dtype == home.dtype() && SameDims(v.shape, home.shape()) &&
        SameDims(v.strides, home.strides())) {
      out.push_back(home);
      continue;
    }
    NDJIT_ASSIGN_OR_RETURN(NDArray value,
                           NDArray::FromBuffer(home.buffer(), home.offset() + v.offset, v.dtype,
                                               v.shape, v.strides, home.writeable()));
    out.push_back(std::move(value));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<NDArray>> Run(const Executable& e, absl::Span<const NDArray> inputs,
                                         absl::Span<const ir::ScalarValue> scalars,
                                         absl::Span<const NDArray> outs) {
  return RunWith(e.program, e.kernels, &e.part_kernels, inputs, scalars, outs, 0);
}

absl::StatusOr<std::vector<NDArray>> Run(const ir::Program& p, absl::Span<const NDArray> inputs,
                                         absl::Span<const ir::ScalarValue> scalars,
                                         absl::Span<const NDArray> outs) {
  return RunWith(p, {}, nullptr, inputs, scalars, outs, 0);
}

void BindLeaves(const ir::Leaves& leaves, std::vector<NDArray>& inputs,
                std::vector<ir::ScalarValue>& scalars) {
  inputs.reserve(inputs.size() + leaves.arrays.size());
  for (const ir::Node* n : leaves.arrays) inputs.push_back(n->array());
  scalars.reserve(scalars.size() + leaves.scalars.size());
  for (const ir::Node* n : leaves.scalars) scalars.push_back(n->scalar());
}

absl::StatusOr<std::vector<NDArray>> RunChunk(const ir::Program& p, const PartKernels* parts,
                                              absl::Span<const NDArray> inputs,
                                              absl::Span<const ir::ScalarValue> scalars,
                                              absl::Span<const NDArray> outs, int64_t row0) {
  absl::Span<const codegen::Kernel> kernels;
  if (parts != nullptr) {
    if (auto it = parts->find(&p); it != parts->end()) kernels = it->second;
  }
  return RunWith(p, kernels, parts, inputs, scalars, outs, row0);
}

namespace {

// A Program with its bindings, for one root.
struct Bound {
  ir::NodePtr root;  // keeps the key's node (and so its address) alive
  std::shared_ptr<const Executable> exe;
  std::vector<NDArray> inputs;
  std::vector<ir::ScalarValue> scalars;
};

// Evaluations of one root over small arrays, by root node. Interning makes
// the same expression over the same arrays the same root, so rebuilding an
// expression in a loop finds it here without walking its graph; holding the
// root holds its graph too, which then is not rebuilt. Holding a root holds
// its inputs, hence the size limit.
class RootMemo {
 public:
  static constexpr int64_t kMaxInputBytes = int64_t{64} << 10;
  static constexpr size_t kMaxEntries = 256;

  std::shared_ptr<const Bound> Find(const ir::Node* root) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = memo_.find(root);
    return it == memo_.end() ? nullptr : it->second;
  }
  void Put(std::shared_ptr<const Bound> b) {
    int64_t bytes = 0;
    for (const NDArray& a : b->inputs) bytes += a.buffer()->size();
    if (bytes > kMaxInputBytes) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (memo_.size() >= kMaxEntries) memo_.clear();
    memo_[b->root.get()] = std::move(b);
  }

 private:
  std::mutex mu_;
  absl::flat_hash_map<const ir::Node*, std::shared_ptr<const Bound>> memo_;  // guarded by mu_
};

RootMemo& Memo() {
  static RootMemo* m = new RootMemo;
  return *m;
}

absl::StatusOr<std::vector<NDArray>> RunBound(const Bound& b, absl::Span<const NDArray> outs) {
  absl::StatusOr<std::vector<NDArray>> values = Run(*b.exe, b.inputs, b.scalars, outs);
  if (values.ok()) CountIntermediateBytes(b.exe->program.intermediate_bytes);
  return values;
}

}  // namespace

absl::StatusOr<std::vector<NDArray>> Evaluate(absl::Span<const ir::NodePtr> roots,
                                              absl::Span<const NDArray> out) {
  const bool memo = roots.size() == 1 && out.empty() && GetProgramObserver() == nullptr;
  if (memo) {
    if (std::shared_ptr<const Bound> b = Memo().Find(roots[0].get())) return RunBound(*b, {});
  }
  ir::GraphSignature sig = ir::Sign(roots, out);
  NDJIT_ASSIGN_OR_RETURN(std::shared_ptr<const Executable> exe,
                         Plan(roots, std::move(sig.key), out));
  auto b = std::make_shared<Bound>();
  b->exe = std::move(exe);
  BindLeaves(sig.leaves, b->inputs, b->scalars);
  absl::StatusOr<std::vector<NDArray>> values = RunBound(*b, out);
  if (memo && values.ok()) {
    b->root = roots[0];
    Memo().Put(std::move(b));
  }
  return values;
}

}  // namespace ndjit::engine
