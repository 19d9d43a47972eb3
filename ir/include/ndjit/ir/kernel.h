// Fusion and the loop IR. Every elementwise node reachable from a set of
// outputs of one shape becomes one kernel: a loop nest whose body is a
// straight-line SSA program of loads, scalar arguments, ops, casts and
// stores. Kernels are shape-generic: the KernelSpec (the structure) is what
// codegen compiles and caches; sizes, strides, data pointers and scalar
// values arrive at launch.
#pragma once

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "ndjit/ir/graph.h"

namespace ndjit::ir {

// One instruction; value i is the result of body[i].
//
// kAccumulate folds its value into an output with `op` (a reduction):
// out[i] = op(out[i], value[i]), where the output's strides are 0 along the
// reduced loops. The output holds the op's identity before the first run.
// `compensated` asks for Kahan summation along the innermost loop. When
// `compute` (the value's dtype) is float32 and `dtype` float64, up to four
// vectors' worth of values are added in float32 before widening: the
// conversions cost less, and the error stays that of a short pairwise sum.
//
// kRandom computes uniform [0, 1) values of `dtype` from the element's
// index in operand `slot`'s index space (runtime/philox.h): args are the
// seed, the stream and the index origin (uint64 scalar arguments), `param`
// the Philox word. The operand is never loaded (its access is kIndex).
struct Instr {
  enum Kind : uint8_t { kLoad, kScalarArg, kUfunc, kCast, kStore, kAccumulate, kRandom };
  Kind kind = kLoad;
  DType dtype = DType::kFloat64;     // the value's dtype (kStore: the stored dtype)
  DType compute = DType::kFloat64;   // kUfunc: the loop dtype its inputs arrive in
  Ufunc op = Ufunc::kAdd;            // kUfunc
  int slot = -1;                     // kLoad/kStore: operand; kScalarArg: scalar index
  absl::InlinedVector<int, 3> args;  // value indices
  bool compensated = false;          // kAccumulate
  int param = 0;                     // kRandom: the Philox word

  bool operator==(const Instr& o) const {
    return kind == o.kind && dtype == o.dtype && compute == o.compute && op == o.op &&
           slot == o.slot && compensated == o.compensated && param == o.param &&
           std::equal(args.begin(), args.end(), o.args.begin(), o.args.end());
  }
};

// How an operand is read along the innermost loop.
enum class InnerAccess : uint8_t {
  kContiguous,  // stride == itemsize: vector loads and stores
  kBroadcast,   // stride == 0: loaded once per row and splat
  kStrided,     // anything else: gathers and scatters
  // Strided along the inner loop but contiguous along the next one out (a
  // transposed input): read in lanes x lanes tiles, each row of the tile a
  // vector load, transposed in registers. Loops outside the tiles gather.
  kTransposed,
  // An index space, never loaded: kRandom reads the lanes' offsets.
  kIndex,
};

struct KernelSpec {
  // Outputs first (operand 0 decides the loop order), then inputs.
  std::vector<DType> operands;
  int num_outputs = 0;
  std::vector<DType> scalars;
  std::vector<Instr> body;
  int rank = 1;                    // depth of the loop nest, >= 1
  std::vector<InnerAccess> inner;  // per operand
  int lanes = 1;                   // vector width of the innermost loop
  // Outputs are written with non-temporal (streaming) stores: set for large
  // fresh outputs, whose writes would otherwise first read every line in.
  bool stream_outputs = false;
  // Reductions: every output's innermost stride is 0, so the innermost loop
  // folds into registers and each output element is updated once per row.
  bool reduce_inner = false;
  // Reductions whose innermost loop is kept but whose next loop is reduced
  // fold `unroll` rows of that loop in registers before each in-memory
  // update: the output row is read and written once per `unroll` rows.
  int unroll = 1;

  // Equal specs compile to the same machine code; sizes and values are not
  // part of a spec. Bytes() is every field in a fixed encoding, equal for
  // equal specs in any process (the disk cache's key); Hash() hashes it.
  bool operator==(const KernelSpec&) const = default;
  std::string Bytes() const;
  size_t Hash() const;
};

// A kernel and everything one run of it needs.
struct KernelLaunch {
  KernelSpec spec;
  std::vector<NDArray> arrays;  // per operand (outputs freshly allocated)
  std::vector<ScalarValue> scalar_values;
  bool empty = false;            // some dimension is 0: nothing to run
  Shape sizes;                   // per loop, outermost first
  std::vector<Strides> strides;  // [operand][loop], bytes
  std::vector<int64_t> offsets;  // per operand, bytes from arrays[k].data(); empty = none
  // The graph node each body instruction computes (null where none: casts
  // the planner inserts, stores), so printers can name values after them.
  std::vector<const Node*> instr_nodes;
};

// Bytes one run of `spec` over loops `sizes` moves: each operand's distinct
// elements once (loops along which it has stride 0 re-read the same ones;
// index spaces read nothing).
double MovedBytes(const KernelSpec& spec, Dims sizes, absl::Span<const Strides> strides);
// The kernel cost model, with MovedBytes: the ufunc instructions `spec`
// fuses (what statistics and the explorer count as its ops), and the
// operations one run over loops `sizes` does (each ufunc and fold
// instruction once per element; a transcendental counts as one).
int64_t FusedOps(const KernelSpec& spec);
double Flops(const KernelSpec& spec, Dims sizes);

// Where a planner's fresh arrays come from: NDArray::Empty unless given. The
// scheduler (ir/program.h) passes one that makes layout-only placeholders,
// so that planning allocates nothing.
using ArrayMaker = std::function<absl::StatusOr<NDArray>(Dims shape, DType dtype, Order order)>;

// Plans one fused kernel computing `outputs`, which must share one shape and
// contain only elementwise nodes. `vector_bytes` is the target's vector
// register size. Outputs are made by `make_outputs`: C order, or F order when
// every full-shape input array is F- and not C-contiguous (NumPy's
// order='K'); large fresh outputs get streaming stores. With `out`, the
// outputs are written into those arrays instead (one per output, of its
// shape and dtype; the caller rules out harmful overlap).
//
// Loops are coalesced (dims merged and ordered by memory, size-1 dims
// dropped) unless `loops` is kPerDim: then loop d is dim d, so the spec runs
// any box of the shape, given the box's extents as sizes and pointers moved
// to its corner (a GEMM epilogue runs on each block that way).
//
// `out_blocks`: the out arrays are row blocks of fresh outputs far larger
// than the caches, each starting on a vector boundary (ir::ScheduleBlocked's
// parts), so they get streaming stores as large fresh outputs do.
enum class LoopNest : uint8_t { kCoalesced, kPerDim };
absl::StatusOr<KernelLaunch> PlanElementwiseKernel(absl::Span<const NodePtr> outputs,
                                                   int vector_bytes,
                                                   absl::Span<const NDArray> out = {},
                                                   const ArrayMaker& make_outputs = nullptr,
                                                   LoopNest loops = LoopNest::kCoalesced,
                                                   bool out_blocks = false);

// PlanElementwiseKernel's loop nest for a kernel whose spec has its
// operands and body: `launch.arrays` holds a slot per output, then the inputs
// broadcast to `shape`. Makes the outputs (or takes `out`), then sets the
// launch's sizes, strides and empty flag and the spec's rank, inner access,
// lanes and streaming stores. Running it again over arrays of new sizes
// re-derives all that a kernel's sizes decide (ir::Respecialise).
absl::Status LayOutLoops(KernelLaunch& launch, Dims shape, int vector_bytes,
                         absl::Span<const NDArray> out = {},
                         const ArrayMaker& make_outputs = nullptr,
                         LoopNest loops = LoopNest::kCoalesced, bool out_blocks = false);

// Plans the kernels of reductions that share one input shape and one set of
// reduced axes, with the elementwise work that produces their inputs fused
// into the loop. Loops follow the inputs' memory order. When the outermost
// loop is reduced and the work is large, it is cut into `chunks` of fixed
// size (a function of the shape only, never of the thread count): each
// chunk folds into its own slab of `partials`, so chunks can run in
// parallel and the slabs are then combined in a fixed pairwise tree, which
// makes results bit-identical for every thread count.
struct ReductionPlan {
  std::vector<KernelLaunch> pieces;  // full chunks, then the ragged last one
  // Per reduction: [chunks, kept dims...] in the accumulator dtype, holding
  // the op's identity until the pieces run.
  std::vector<NDArray> partials;
  int64_t chunks = 1;
  std::vector<NodePtr> outputs;  // the kReduce nodes
  // The values kept (PlanReduction's `keep`), one C-order array each.
  std::vector<NDArray> kept;
};
// What identifies a reduction's value, keepdims aside: evaluations compute
// reductions that differ only in keepdims once.
struct ReductionKey {
  const Node* input;
  Ufunc op;
  std::vector<int> axes;
  bool operator==(const ReductionKey&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const ReductionKey& k) {
    return H::combine(std::move(h), k.input, k.op, k.axes);
  }
};
// Adds the reduction `r` to the group of `groups` it can share a pass with
// (one input shape and one set of axes, what PlanReduction takes), or to a
// new group.
void AddToReductionGroup(std::vector<std::vector<NodePtr>>& groups, NodePtr r);

// The partials are made by `make_partials` when given, and then left for the
// caller to fill with ReductionIdentity; otherwise allocated and filled here.
// `keep`: elementwise values of the reductions' input shape that the pass
// computes anyway (a reduction's input, or a value below one) and also
// writes out, each into a C-order array made the same way, so later work
// reads them instead of computing them again (softmax's exp).
absl::StatusOr<ReductionPlan> PlanReduction(absl::Span<const NodePtr> reductions, int vector_bytes,
                                            const ArrayMaker& make_partials = nullptr,
                                            absl::Span<const NodePtr> keep = {});

// The value a reduction with `op` starts from, in `dtype`.
ScalarValue ReductionIdentity(Ufunc op, DType dtype);
// Writes `v` into every element of the C-contiguous `a`.
void FillWith(const NDArray& a, const ScalarValue& v);

// After the pieces ran: combines the [chunks, kept...] slabs of `partials`
// in place, in the fixed pairwise tree, into slab 0.
void CombinePartials(const NDArray& partials, Ufunc op);
// Combines reduction k's slabs and returns its value in the node's dtype and
// shape.
absl::StatusOr<NDArray> FinishReduction(const ReductionPlan& plan, int k);

// The dtype a reduction accumulates in: float16/float32 sums and products
// in float64 (rounded once at the end), everything else in its own dtype.
DType AccumulatorDType(Ufunc op, DType dtype);

// The loop IR, as the REPL's `:loops` shows it. With `labels` (one per
// body instruction, empty for none), each instruction line ends with its
// label: the explorer passes the graph's %N names.
std::string PrintKernel(const KernelLaunch& launch, const std::vector<std::string>& labels = {});
std::string PrintKernel(const KernelSpec& spec, Dims sizes, absl::Span<const Strides> strides,
                        const std::vector<std::string>& labels = {});

}  // namespace ndjit::ir
