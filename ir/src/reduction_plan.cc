// Planning of reduction kernels: the loop nest over the input's shape in
// the inputs' memory order, outputs with zero strides along the reduced
// loops, and the outermost reduced loop cut into fixed chunks.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernel_body.h"
#include "ndjit/ir/kernel.h"
#include "ndjit/ir/scalar_ops.h"
#include "ndjit/runtime/status_macros.h"
#include "ndjit/runtime/strided_loop.h"

namespace ndjit::ir {
namespace {

// Chunking pays off once there is enough work to share between threads;
// its size depends on the element count only, so the combine tree does too.
constexpr int64_t kChunkMinElements = int64_t{1} << 15;
constexpr int64_t kElementsPerChunk = int64_t{1} << 16;
constexpr int64_t kMaxChunks = 64;
constexpr int64_t kMaxPartialBytes = int64_t{128} << 10;
// Enough chunks to share between the threads of a typical machine, whatever
// the partials cost (the count must not depend on the thread setting).
constexpr int64_t kMinChunks = 8;
// Rows of a reduced loop folded in registers per in-memory update.
constexpr int kUnrollRows = 8;

}  // namespace

ScalarValue ReductionIdentity(Ufunc op, DType t) {
  ScalarValue v;
  auto set_float = [&](double d) {
    v.c = d;
    v.i = 0;
  };
  switch (op) {
    case Ufunc::kMultiply:
    case Ufunc::kLogicalAnd:
      v.i = 1;
      v.c = 1;
      return v;
    case Ufunc::kMaximum:
    case Ufunc::kMinimum: {
      const bool max = op == Ufunc::kMaximum;
      if (IsFloating(t)) {
        set_float(max ? -INFINITY : INFINITY);
        return v;
      }
      if (t == DType::kBool) {
        v.i = max ? 0 : 1;
        return v;
      }
      const int bits = 8 * ItemSize(t);
      if (Kind(t) == DTypeKind::kUInt) {
        v.i = max ? 0 : static_cast<int64_t>(bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1);
      } else {
        const int64_t hi =
            bits == 64 ? std::numeric_limits<int64_t>::max() : (int64_t{1} << (bits - 1)) - 1;
        v.i = max ? -hi - 1 : hi;
      }
      return v;
    }
    default:
      return v;  // add, logical_or: zero
  }
}

void FillWith(const NDArray& a, const ScalarValue& v) {
  char one[16];
  ScalarToStorage(v, a.dtype(), one);
  // The partials are fresh C-contiguous arrays: fill by doubling copies.
  const int64_t bytes = a.nbytes();
  if (bytes == 0) return;
  std::memcpy(a.data(), one, a.itemsize());
  for (int64_t done = a.itemsize(); done < bytes; done *= 2) {
    std::memcpy(a.data() + done, a.data(), std::min(done, bytes - done));
  }
}

namespace {

// The input that decides the loop order: the one with the most
// non-broadcast dims, then the largest.
int OrderDecider(const std::vector<NDArray>& inputs) {
  int best = -1, best_dims = -1;
  int64_t best_bytes = -1;
  for (size_t k = 0; k < inputs.size(); ++k) {
    int dims = 0;
    for (int64_t s : inputs[k].strides()) dims += s != 0;
    const int64_t bytes = inputs[k].buffer() ? inputs[k].buffer()->size() : 0;
    if (dims > best_dims || (dims == best_dims && bytes > best_bytes)) {
      best = static_cast<int>(k);
      best_dims = dims;
      best_bytes = bytes;
    }
  }
  return best;
}

// slab[i] = op(slab[i], slab[i + step]) for i = 0, 2 step, 4 step, ...:
// the same tree for every thread count.
template <typename T>
void CombineSlabs(const NDArray& partials, Ufunc op) {
  const int64_t chunks = partials.shape()[0];
  const int64_t n = partials.size() / std::max<int64_t>(chunks, 1);
  T* p = reinterpret_cast<T*>(partials.data());
  for (int64_t step = 1; step < chunks; step *= 2) {
    for (int64_t i = 0; i + step < chunks; i += 2 * step) {
      T* x = p + i * n;
      const T* y = p + (i + step) * n;
      for (int64_t e = 0; e < n; ++e) {
        if constexpr (std::is_same_v<T, bool>) {
          x[e] = op == Ufunc::kLogicalAnd || op == Ufunc::kMultiply || op == Ufunc::kMinimum
                     ? (x[e] && y[e])
                     : (x[e] || y[e]);
        } else if constexpr (std::is_same_v<T, float16>) {
          x[e] =
              float16(scalar::Apply<float>(op, static_cast<float>(x[e]), static_cast<float>(y[e])));
        } else {
          x[e] = scalar::Apply<T>(op, x[e], y[e]);
        }
      }
    }
  }
}

}  // namespace

void CombinePartials(const NDArray& p, Ufunc op) {
  switch (p.dtype()) {
#define NDJIT_X(e, T, name, kind, size, descr) \
  case DType::e:                               \
    CombineSlabs<T>(p, op);                    \
    break;
    NDJIT_DTYPES(NDJIT_X)
#undef NDJIT_X
  }
}

absl::StatusOr<NDArray> FinishReduction(const ReductionPlan& plan, int k) {
  const NDArray& p = plan.partials[k];
  const NodePtr& node = plan.outputs[k];
  CombinePartials(p, node->op());
  absl::StatusOr<NDArray> slab = p.Index({IndexItem{int64_t{0}}});
  if (!slab.ok()) return slab.status();
  if (slab->dtype() != node->dtype()) {
    slab = slab->AsType(node->dtype(), Casting::kUnsafe, Order::kC);
    if (!slab.ok()) return slab.status();
  }
  return slab->Reshape(node->shape());
}

void AddToReductionGroup(std::vector<std::vector<NodePtr>>& groups, NodePtr r) {
  auto g = std::find_if(groups.begin(), groups.end(), [&](const std::vector<NodePtr>& grp) {
    return grp[0]->inputs()[0]->shape() == r->inputs()[0]->shape() &&
           std::equal(grp[0]->axes().begin(), grp[0]->axes().end(), r->axes().begin(),
                      r->axes().end());
  });
  if (g == groups.end()) {
    groups.push_back({std::move(r)});
  } else {
    g->push_back(std::move(r));
  }
}

DType AccumulatorDType(Ufunc op, DType dtype) {
  const bool widen = (op == Ufunc::kAdd || op == Ufunc::kMultiply) &&
                     (dtype == DType::kFloat16 || dtype == DType::kFloat32);
  return widen ? DType::kFloat64 : dtype;
}

absl::StatusOr<ReductionPlan> PlanReduction(absl::Span<const NodePtr> reductions, int vector_bytes,
                                            const ArrayMaker& make_partials,
                                            absl::Span<const NodePtr> keep) {
  if (reductions.empty()) return absl::InvalidArgumentError("PlanReduction(): no reductions");
  const NodePtr& first = reductions[0];
  for (const NodePtr& r : reductions) {
    if (r->kind() != NodeKind::kReduce || r->inputs()[0]->shape() != first->inputs()[0]->shape() ||
        !std::equal(r->axes().begin(), r->axes().end(), first->axes().begin(),
                    first->axes().end())) {
      return absl::InvalidArgumentError(
          "PlanReduction(): the reductions must share an input shape and axes");
    }
  }
  const Dims in_shape = first->inputs()[0]->shape();
  for (const NodePtr& v : keep) {
    if (v->shape() != in_shape || v->has_reduction()) {
      return absl::InvalidArgumentError(
          "PlanReduction(): a kept value must be elementwise work of the reductions' input shape");
    }
  }
  const Shape shape(in_shape.begin(), in_shape.end());
  const int ndim = static_cast<int>(shape.size());
  auto reduced = [&](int d) {
    return std::find(first->axes().begin(), first->axes().end(), d) != first->axes().end();
  };
  Shape kept;
  int64_t total = 1, kept_size = 1;
  for (int d = 0; d < ndim; ++d) {
    total *= shape[d];
    if (!reduced(d)) kept.push_back(shape[d]);
    if (!reduced(d)) kept_size *= shape[d];
  }

  // One template launch: the body, operands and strides over the input's
  // dims; pieces are cut from it below.
  KernelLaunch base;
  KernelSpec& spec = base.spec;
  const int nout = static_cast<int>(reductions.size());
  const int nkeep = static_cast<int>(keep.size());
  spec.num_outputs = nout + nkeep;
  ReductionPlan plan;
  plan.outputs.assign(reductions.begin(), reductions.end());
  std::vector<DType> acc(nout);
  for (int k = 0; k < nout; ++k) {
    acc[k] = AccumulatorDType(reductions[k]->op(), reductions[k]->dtype());
    spec.operands.push_back(acc[k]);
  }
  for (const NodePtr& v : keep) spec.operands.push_back(v->dtype());
  BodyBuilder body(base, shape);
  std::vector<NodePtr> values;
  for (const NodePtr& r : reductions) values.push_back(r->inputs()[0]);
  values.insert(values.end(), keep.begin(), keep.end());
  NDJIT_RETURN_IF_ERROR(body.Emit(values));
  // Vector width from the values, not the accumulators: float32 work stays
  // at full width and widens only for the adds.
  const int value_bytes = WidestBytes(base.spec);
  for (int k = 0; k < nout; ++k) {
    const NodePtr& r = reductions[k];
    Instr a;
    a.kind = Instr::kAccumulate;
    a.op = r->op();
    a.dtype = acc[k];
    a.slot = k;
    a.compensated = r->op() == Ufunc::kAdd && IsFloating(r->dtype()) && acc[k] == r->dtype();
    // float32 values widen inside the accumulate, after a few have been
    // added in float32 (see Instr); other dtypes arrive in the accumulator's.
    const bool widen_late = r->dtype() == DType::kFloat32 && acc[k] == DType::kFloat64;
    a.compute = widen_late ? DType::kFloat32 : acc[k];
    a.args = {body.CastTo(body.ValueOf(r->inputs()[0].get()), a.compute)};
    body.Append(std::move(a), r.get());
  }
  for (int i = 0; i < nkeep; ++i) {
    Instr st;
    st.kind = Instr::kStore;
    st.dtype = keep[i]->dtype();
    st.compute = st.dtype;
    st.slot = nout + i;
    st.args = {body.ValueOf(keep[i].get())};
    body.Append(std::move(st));
  }

  // Loops: dims of the input, ordered by the deciding input's strides.
  std::vector<NDArray>& inputs = body.inputs();
  std::vector<Dims> strides;
  const int decider = OrderDecider(inputs);
  Strides order_key(ndim, 0);
  if (decider >= 0)
    order_key.assign(inputs[decider].strides().begin(), inputs[decider].strides().end());
  strides.push_back(order_key);
  // Output strides over the input's dims, within one slab of the partials.
  std::vector<Strides> out_strides(nout, Strides(ndim, 0));
  for (int k = 0; k < nout; ++k) {
    int64_t s = ItemSize(acc[k]);
    for (int d = ndim - 1; d >= 0; --d) {
      if (reduced(d)) continue;
      out_strides[k][d] = s;
      s *= shape[d];
    }
    strides.push_back(out_strides[k]);
  }
  for (const NodePtr& v : keep) {
    NDJIT_ASSIGN_OR_RETURN(NDArray a, make_partials ? make_partials(shape, v->dtype(), Order::kC)
                                                    : NDArray::Empty(shape, v->dtype()));
    plan.kept.push_back(std::move(a));
  }
  // Views of the arrays' strides: taken once no array moves any more.
  for (const NDArray& a : plan.kept) strides.push_back(a.strides());
  for (const NDArray& a : inputs) strides.push_back(a.strides());
  const CoalescedDims c = CoalesceDims(shape, strides);
  Shape sizes;
  std::vector<Strides> loop_strides(strides.size() - 1);
  if (c.empty || c.sizes.empty()) {
    sizes = {c.empty ? 0 : 1};
    for (auto& s : loop_strides) s = {0};
  } else {
    sizes.assign(c.sizes.begin(), c.sizes.end());
    for (size_t k = 1; k < strides.size(); ++k) {
      loop_strides[k - 1].assign(c.strides[k].begin(), c.strides[k].end());
    }
  }
  int64_t chunk_len = sizes[0];
  bool outer_reduced = true;
  for (int k = 0; k < nout; ++k) outer_reduced &= loop_strides[k][0] == 0;
  if (!c.empty && outer_reduced && total >= kChunkMinElements && sizes[0] >= 2) {
    // Each chunk owns a slab of partial results: bound their total size.
    int64_t slab_bytes = 0;
    for (int k = 0; k < nout; ++k) slab_bytes += ItemSize(acc[k]) * kept_size;
    const int64_t by_bytes =
        std::max<int64_t>(2, kMaxPartialBytes / std::max<int64_t>(slab_bytes, 1));
    const int64_t want = std::clamp(total / kElementsPerChunk, int64_t{2},
                                    std::min(kMaxChunks, std::max(kMinChunks, by_bytes)));
    chunk_len = (sizes[0] + std::min(want, sizes[0]) - 1) / std::min(want, sizes[0]);
    plan.chunks = (sizes[0] + chunk_len - 1) / chunk_len;
  }

  for (int k = 0; k < nout; ++k) {
    Shape pshape{plan.chunks};
    pshape.insert(pshape.end(), kept.begin(), kept.end());
    NDJIT_ASSIGN_OR_RETURN(NDArray p, make_partials ? make_partials(pshape, acc[k], Order::kC)
                                                    : NDArray::Empty(pshape, acc[k]));
    if (!make_partials) FillWith(p, ReductionIdentity(reductions[k]->op(), acc[k]));
    plan.partials.push_back(p);
    base.arrays.push_back(p);
  }
  for (const NDArray& a : plan.kept) base.arrays.push_back(a);
  for (NDArray& a : inputs) base.arrays.push_back(std::move(a));
  const int nops = static_cast<int>(base.arrays.size());
  spec.reduce_inner = true;
  for (int k = 0; k < nout; ++k) spec.reduce_inner &= loop_strides[k].back() == 0;
  // Twice the register width: two independent accumulator chains; more
  // for floating maxima and minima, whose NaN- and signed-zero-exact fold is
  // a chain of about six dependent instructions a step.
  const bool long_fold = std::any_of(spec.body.begin(), spec.body.end(), [](const Instr& in) {
    return in.kind == Instr::kAccumulate && IsFloating(in.dtype) &&
           (in.op == Ufunc::kMaximum || in.op == Ufunc::kMinimum);
  });
  spec.lanes = InnerLanes(spec, vector_bytes, value_bytes, long_fold ? 4 : 2);
  base.empty = c.empty;
  if (c.empty) {
    spec.rank = static_cast<int>(sizes.size());
    for (int k = 0; k < nops; ++k) spec.inner.push_back(InnerAccess::kBroadcast);
    MarkIndexOperands(spec);
    base.sizes = sizes;
    base.strides = loop_strides;
    plan.pieces.push_back(std::move(base));
    return plan;
  }

  if (plan.chunks == 1) {
    spec.rank = static_cast<int>(sizes.size());
    base.sizes = sizes;
    base.strides = loop_strides;
  } else {
    // Loop 0 becomes (chunk, position in chunk); the chunk index steps
    // through the partials' slabs.
    spec.rank = static_cast<int>(sizes.size()) + 1;
    base.sizes = {sizes[0] / chunk_len, chunk_len};
    base.sizes.insert(base.sizes.end(), sizes.begin() + 1, sizes.end());
    for (int k = 0; k < nops; ++k) {
      const Strides& s = loop_strides[k];
      const int64_t outer = k < nout ? plan.partials[k].strides()[0] : s[0] * chunk_len;
      Strides split{outer, s[0]};
      split.insert(split.end(), s.begin() + 1, s.end());
      base.strides.push_back(std::move(split));
    }
  }
  for (int k = 0; k < nops; ++k) {
    spec.inner.push_back(AccessOf(base.strides[k].back(), spec.operands[k]));
  }
  MarkIndexOperands(spec);
  if (!spec.reduce_inner && spec.rank >= 2) {
    bool next_reduced = true;
    for (int k = 0; k < nout; ++k) next_reduced &= base.strides[k][spec.rank - 2] == 0;
    if (next_reduced) spec.unroll = kUnrollRows;
  }
  const int64_t tail = plan.chunks > 1 ? sizes[0] % chunk_len : 0;
  if (tail > 0) {
    KernelLaunch last = base;
    last.sizes[0] = 1;
    last.sizes[1] = tail;
    last.offsets.resize(nops);
    for (int k = 0; k < nops; ++k) last.offsets[k] = base.strides[k][0] * (sizes[0] / chunk_len);
    // chunk_len <= sizes[0]: there is always at least one full chunk.
    plan.pieces.push_back(std::move(base));
    base = std::move(last);
  }
  plan.pieces.push_back(std::move(base));
  return plan;
}

}  // namespace ndjit::ir
