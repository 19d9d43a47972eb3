// The plan of one evaluation, as a value: which memory every value lives in
// (slots) and what runs, in order (steps). Schedule() makes it from the
// graph's roots and the layouts of its leaves; it allocates nothing, runs
// nothing and changes no graph, so a Program can be printed, compared,
// cached and run again over new arrays of the same layouts (engine/).
//
//   Graph --Schedule--> Program --engine::Run--> arrays
//
// Values computed inside the evaluation (reduction results that later
// kernels read) are planned over placeholder arrays: NDArray views of a
// buffer that has an address range but no memory, one per slot. Every view
// operation works on them as on real arrays; the engine moves each operand
// to the slot's real memory at the same byte offset.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ndjit/ir/gemm_plan.h"
#include "ndjit/ir/graph.h"
#include "ndjit/ir/kernel.h"

namespace ndjit::ir {

// Where a slot's memory comes from when the Program runs.
enum class SlotHome : uint8_t {
  kInput,   // a leaf array of the graph, bound at run time and only read
  kTemp,    // from the pool before its first writer, back after its last reader
  kOutput,  // a root's value, handed to the caller
  kGiven,   // the caller's out= array for a root, bound at run time
};

struct Slot {
  SlotHome home = SlotHome::kTemp;
  DType dtype = DType::kFloat64;
  Shape shape;
  Strides strides;             // kInput: the planned layout; else from shape and order
  Order order = Order::kC;     // kTemp/kOutput: allocated C- or F-contiguous
  const Node* node = nullptr;  // kInput: its leaf (for printers)
  int writer = -1;             // the step that writes it first (-1: an input)
  int last_reader = -1;        // the last step that reads it (-1: none)
};

// A kernel operand: `offset` bytes from the first element of slot `slot`,
// or a fixed address (the index space random values are computed from).
// In a chunk loop's body, a fixed address moves `per_row` bytes for each row
// the chunk starts at (a random leaf sliced with the files).
struct OperandRef {
  int slot = -1;
  int64_t offset = 0;
  const char* fixed = nullptr;
  int64_t per_row = 0;
};

// A scalar argument: the value of scalar leaf `leaf` (bound at run time), or
// a fixed value (a random leaf's seed, stream and origin).
struct ScalarRef {
  int leaf = -1;
  ScalarValue value;
};

// One launch of a compiled kernel.
struct KernelCall {
  KernelSpec spec;
  Shape sizes;                   // per loop, outermost first
  std::vector<Strides> strides;  // [operand][loop], bytes
  std::vector<OperandRef> operands;
  std::vector<ScalarRef> scalars;
  bool empty = false;  // some loop has no iterations
  // The graph node each body instruction computes (null: none), for labels.
  std::vector<const Node*> instr_nodes;
};

// One GEMM, C[batch, m, n] = sum_k A[batch, m, k] * B[batch, k, n], over
// operands at `a`, `b`, `c` with these byte strides (ir/gemm_plan.h maps a
// contraction onto it). With an epilogue, each block of C runs `epilogue`
// as soon as it is final: a kernel planned over the whole result with one
// loop per dim (LoopNest::kPerDim), launched per block with the block's
// extents and its operands moved to the block's corner.
struct GemmCall {
  DType dtype = DType::kFloat32;
  int64_t batch = 1, m = 0, n = 0, k = 0;
  OperandRef a, b, c;
  int64_t a_strides[3] = {0, 0, 0};  // batch, m, k
  int64_t b_strides[3] = {0, 0, 0};  // batch, k, n
  int64_t c_strides[3] = {0, 0, 0};  // batch, m, n
  // For C's three dims: the result dim each one is (-1: an empty group).
  int result_dim[3] = {-1, -1, -1};
  bool has_epilogue = false;
  KernelCall epilogue;
  const Node* node = nullptr;  // the kContract node, for printers
};

struct Program;

// Programs run inside another one (a Step::kChunkLoop), once or chunk by
// chunk along the streamed axis of memory-mapped arrays: each part is a
// Program planned over the first chunk, its input and out= slots bound per
// chunk to views of the outer Program's slots (a binding's `axis` is the
// one the chunk's rows are taken along; -1: the whole slot). Parts write
// only through out= slots, so every outer slot has the layout planned for it.
struct ChunkLoop {
  struct Bind {
    int slot = -1;
    int axis = -1;
  };
  struct Part {
    std::shared_ptr<const Program> body;  // over `rows` rows (or the whole, once)
    std::shared_ptr<const Program> tail;  // over the last extent % rows rows; null: none
    std::vector<Bind> inputs;             // one per body input slot
    std::vector<Bind> given;              // one per body out= slot
    std::vector<int> scalars;             // the outer scalar leaf of each body scalar
  };
  // Accumulators set to their op's identity before the first chunk; each
  // chunk folds its partial into them in place (a body out= slot bound to
  // the accumulator, which it also reads).
  struct Init {
    int slot = -1;
    Ufunc op = Ufunc::kAdd;
  };
  // What the chunks are: rows of memory-mapped files, run in order, each
  // mapped ahead and dropped behind; or row blocks of memory sized to stay
  // in cache while every part runs over them (no accumulators: each chunk
  // writes its own rows, so chunks may run at once on the pool's threads).
  enum class Blocks : uint8_t { kFiles, kCache };
  Blocks blocks = Blocks::kFiles;
  int64_t extent = 0;  // rows of the streamed axis; 0: the parts run once
  int64_t rows = 0;    // per chunk (the last takes what is left)
  std::vector<Part> parts;
  std::vector<Init> inits;
  // Input slots (memory-mapped) whose chunk is mapped before it runs and
  // whose rows are dropped from the process after (as are the rows of the
  // slots parts write along the axis).
  std::vector<int> sources;
};

// What a binding along `axis` views of a slot for the chunk of rows
// [begin, end): the slot's array with that axis sliced.
absl::StatusOr<NDArray> ChunkRows(const NDArray& slot, int axis, int64_t begin, int64_t end);

struct Step {
  enum Kind : uint8_t {
    kKernel,  // one elementwise kernel: `calls[0]`
    // A group of reductions sharing one pass: each fold's partials are set
    // to its op's identity, the pieces (`calls`) accumulate into them, the
    // slabs are combined in a fixed tree, and slab 0 is cast into `cast_to`
    // when the value's dtype is not the accumulator's.
    kReduce,
    kGemm,  // `gemm`, with its epilogue
    // Values the JIT does not lower (complex reductions; contractions of
    // dtypes the GEMM does not take): `reference` roots computed by the
    // reference evaluator, each into slot `reference_dest[k]` (C order, the
    // root's layout). Their leaves are stand-ins bound at run time to the
    // slots `reference_leaves` names.
    kReference,
    kChunkLoop,  // `loop`: Programs run once or per chunk (streaming)
  };
  // A leaf of a reference step's graph: a view at `offset` bytes from the
  // first element of slot `slot`, of the leaf's own layout.
  struct Leaf {
    const Node* leaf = nullptr;
    int slot = -1;
    int64_t offset = 0;
  };
  struct Fold {
    int partials = -1;  // slot [chunks, kept dims...] of the accumulator dtype
    Ufunc op = Ufunc::kAdd;
    int cast_to = -1;  // slot of the value in the node's dtype, or -1: slab 0 is it
  };
  Kind kind = kKernel;
  std::vector<KernelCall> calls;
  std::vector<Fold> folds;
  GemmCall gemm;
  std::vector<NodePtr> reference;  // kept when a cached Program drops its nodes
  std::vector<int> reference_dest;
  std::vector<Leaf> reference_leaves;
  std::shared_ptr<const ChunkLoop> loop;
  std::vector<const Node*> nodes;  // the graph nodes the step computes
};

// Calls fn(call) for every kernel launch of `step`, in the order the
// engine compiles and runs them: its calls, then a GEMM's epilogue. (Not a
// chunk loop's: those belong to its parts' Programs.)
template <typename Fn>
void ForEachCall(const Step& step, Fn&& fn) {
  for (const KernelCall& c : step.calls) fn(c);
  if (step.kind == Step::kGemm && step.gemm.has_epilogue) fn(step.gemm.epilogue);
}
template <typename Fn>
void ForEachCall(Step& step, Fn&& fn) {
  for (KernelCall& c : step.calls) fn(c);
  if (step.kind == Step::kGemm && step.gemm.has_epilogue) fn(step.gemm.epilogue);
}

// A root's value: a view of a slot's memory.
struct ValueRef {
  int slot = -1;
  int64_t offset = 0;
  DType dtype = DType::kFloat64;
  Shape shape;
  Strides strides;
};

// The Node pointers a Program holds (Slot::node, Step::nodes,
// KernelCall::instr_nodes) are for printers; `held` keeps the nodes they
// point to alive. Running a Program reads none of them, and a cached one
// drops them all (holding leaves would hold their arrays).
struct Program {
  std::vector<Slot> slots;  // inputs first, in leaf order
  std::vector<Step> steps;
  std::vector<ValueRef> outputs;  // one per root
  int num_inputs = 0;             // array leaves bound at run time
  int num_scalars = 0;            // scalar leaves bound at run time
  std::vector<int> given;         // kGiven slots, in root order (out= evaluations)
  // Bytes of values the evaluation computes but does not return: cast
  // reductions' partials, and reduction results the last kernel reads.
  int64_t intermediate_bytes = 0;
  std::vector<NodePtr> held;
  // For printers: every node the scheduler rebuilt (reductions' values
  // substituted below it) -> the node of the roots' graph it stands for.
  absl::flat_hash_map<const Node*, const Node*> origins;
};

// The leaves a Program binds, in its order: the array leaves and scalar
// leaves of the roots' graph, each once, in topological order.
struct Leaves {
  std::vector<const Node*> arrays;
  std::vector<const Node*> scalars;
};
Leaves CollectLeaves(absl::Span<const NodePtr> roots);

// What every planner starts a Program with: an input slot per array leaf
// of `roots` (in CollectLeaves order, of the leaf's layout), the scalar
// leaves' count, and a kGiven slot per out= array. Returns where each leaf
// is bound: array leaf -> input slot, scalar leaf -> scalar index.
struct Bindings {
  absl::flat_hash_map<const Node*, int> input_slot;
  absl::flat_hash_map<const Node*, int> scalar_leaf;
};
Bindings AddBindings(Program& program, absl::Span<const NodePtr> roots,
                     absl::Span<const NDArray> out);
// What every planner asks of its roots: some, of one shape, and one out
// array each when `out` is given. Errors name `planner`.
absl::Status CheckRoots(absl::string_view planner, absl::Span<const NodePtr> roots,
                        absl::Span<const NDArray> out);

// A key equal for two sets of roots exactly when one Program serves both:
// the same structure (kinds, ops, dtypes, shapes, axes, sharing), leaves of
// the same layout (dtype, shape, strides; out= arrays also their 64-byte
// alignment class, which decides streaming stores) and random leaves of the
// same seeds. Not scalar leaves' values: a Program binds them at run time,
// and what simplification made of a value (x * 1 is x, x ** 2 is square(x))
// is in the graph's structure already, decided when the node was built.
std::string ProgramKey(absl::Span<const NodePtr> roots);

// ProgramKey and CollectLeaves from one walk of the graph.
struct GraphSignature {
  std::string key;
  Leaves leaves;
};
GraphSignature Sign(absl::Span<const NodePtr> roots, absl::Span<const NDArray> out = {});

// A key equal for roots of one structure whose sizes may differ: extents as
// their class (0, 1, more) and leaves without strides. Roots of one such key
// may share a Program through Respecialise, which checks the rest.
std::string SizeFreeKey(absl::Span<const NodePtr> roots);
// SizeFreeKey and CollectLeaves from one walk of the graph.
GraphSignature SignSizeFree(absl::Span<const NodePtr> roots);

// `program`, which Schedule planned for roots of one structure, made for new
// sizes without planning: exactly what Schedule would return for roots of
// that structure (SizeFreeKey) of shape `shape` over leaves of the layouts of
// `inputs` (one per input slot). For Programs of one elementwise kernel that
// reads input slots and writes fresh outputs: the kernel's loop nest is laid
// out again over the new layouts (LayOutLoops). nullopt for other Programs,
// for empty arrays, and where the new sizes change what the kernel compiles
// to (its loop order and merged dims, vector access, streaming stores): the
// caller then plans. The result names no graph node.
std::optional<Program> Respecialise(const Program& program, Dims shape,
                                    absl::Span<const NDArray> inputs, int vector_bytes);
// Whether Respecialise takes `program` for some sizes: one elementwise
// kernel reading input slots and writing fresh outputs.
bool Respecialisable(const Program& program);

// Whether the JIT lowers a kernel (codegen::Lowers); Schedule plans what it
// does not as reference steps.
using LowersFn = std::function<bool(const KernelSpec&)>;

// Plans the evaluation of `roots` (one shape, as evaluations group them):
// reductions innermost first in waves, those of one input shape and axes in
// one pass, then one kernel for the roots. With `out` (NumPy's out=, one
// array per root, of its shape and dtype, writeable, overlapping the inputs
// only where an elementwise kernel may), that kernel writes into kGiven
// slots of those layouts. Contractions become GEMM steps; elementwise work
// on a root's one contraction of the root's shape runs as the GEMM's
// epilogue. Reductions whose kernels `lowers` refuses (null: all lower),
// and contractions the GEMM does not take, become reference steps.
// `out_blocks`: the out arrays are row blocks of larger fresh outputs
// (PlanElementwiseKernel), as ScheduleBlocked's parts write. `keep_bytes`:
// a reduction's input that computes a transcendental per element and that
// the roots read again (softmax's exp(x - max)) is written out by the
// reduction's pass and read back, not computed twice, when it spans at most
// this many bytes (what stays in cache until it is read; 0: never).
absl::StatusOr<Program> Schedule(absl::Span<const NodePtr> roots, int vector_bytes,
                                 absl::Span<const NDArray> out = {},
                                 const LowersFn& lowers = nullptr, bool out_blocks = false,
                                 int64_t keep_bytes = 0);

// Plans `roots` (one shape) chunk by chunk along the first axis of the
// memory-mapped arrays they read or are written to (`out`, as for Schedule),
// when together those span more than `chunk_bytes`: a Program of chunk-loop
// steps. Reductions over that axis fold per-chunk partials into
// accumulators (sum adds, max takes the maximum, ...; a reduction of values
// that need an earlier one, like var's mean, takes one more pass over the
// chunks); values broadcast over the chunks are computed once between the
// passes; elementwise values are written chunk by chunk. nullopt when the
// roots do not qualify: no such arrays, or a graph whose streamed axis
// cannot be followed (it meets itself transposed, or enters a contraction).
absl::StatusOr<std::optional<Program>> ScheduleStreamed(absl::Span<const NodePtr> roots,
                                                        absl::Span<const NDArray> out,
                                                        int64_t chunk_bytes, int vector_bytes,
                                                        const LowersFn& lowers = nullptr);

// Plans `roots` (one shape; `out` as for Schedule) row block by row block
// along the first axis of the arrays they read, when a reduction that keeps
// that axis is read back by elementwise work over the same rows (softmax,
// layer norm, standardisation) and the arrays span more than four blocks of
// `block_bytes`: each block is read from memory once, and every pass over
// it (the reductions, then the consumers) finds it in cache. Each row's
// reductions fold in the same order as in Schedule's Program, so values are
// the same bits. nullopt when the roots do not qualify (no such reduction, a
// reduction over that axis, arrays whose rows interleave, a contraction).
absl::StatusOr<std::optional<Program>> ScheduleBlocked(absl::Span<const NodePtr> roots,
                                                       absl::Span<const NDArray> out,
                                                       int64_t block_bytes, int vector_bytes,
                                                       const LowersFn& lowers = nullptr);

// Slots and steps, under stable names (in0, t1, out0; step 0, ...).
std::string PrintProgram(const Program& program);

}  // namespace ndjit::ir
