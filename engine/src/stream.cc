// Chunk loops, as the engine runs them: streaming over memory-mapped files
// (ir::ScheduleStreamed), each chunk's pages mapped before it runs and
// dropped after, and row blocks in cache (ir::ScheduleBlocked), run by the
// pool's threads a block each; and the streaming entry points.
#include <algorithm>
#include <atomic>
#include <mutex>

#include "ndjit/codegen/jit.h"
#include "ndjit/codegen/target.h"
#include "ndjit/engine/engine.h"
#include "ndjit/runtime/interrupt.h"
#include "ndjit/runtime/status_macros.h"
#include "ndjit/runtime/thread_pool.h"
#include "run_internal.h"

namespace ndjit::engine {
namespace {

std::atomic<int64_t> g_chunk_bytes{int64_t{256} << 20};
std::atomic<int64_t> g_chunks{0};
std::atomic<int64_t> g_passes{0};

// The bytes [lo, hi) the elements of `x` occupy; empty (lo == hi) for none.
std::pair<const char*, const char*> Bytes(const NDArray& x) {
  absl::StatusOr<ByteRange> e = ByteExtent(x.shape(), x.strides(), x.itemsize());
  if (!e.ok() || e->end <= e->begin) return {x.data(), x.data()};
  return {x.data() + e->begin, x.data() + e->end};
}

using SlotFn = std::function<const NDArray&(int)>;

// Maps the bytes rows [a, b) of every source occupy.
absl::Status MapAhead(const ir::ChunkLoop& loop, const SlotFn& slot, int64_t a, int64_t b) {
  for (int s : loop.sources) {
    NDJIT_ASSIGN_OR_RETURN(const NDArray r, ir::ChunkRows(slot(s), 0, a, b));
    const auto [lo, hi] = Bytes(r);
    if (lo < hi) r.buffer()->WillNeed(lo, hi);
  }
  return absl::OkStatus();
}

// Behind each chunk, the pages of the rows done so far are dropped, up to
// the 2 MiB boundary nearest the rows still to come: the page cache holds
// files written with write() in PMD-sized folios, mapped one entry per
// 2 MiB, and dropping part of one splits its mapping into 512 entries that
// the next chunk maps again one by one (measured on 512 MiB in 8 chunks at
// 2 threads: populate 0.9 -> 0.3 ms, kernels 12.1 -> 10.0 ms). `frontier`
// (one per source) is where the dropped range ends, so no range is dropped
// twice. Sources' rows lie apart and in order (RowsApart): forward or, for
// a negative stride, backward through the mapping.
absl::Status ReleaseDone(const ir::ChunkLoop& loop, const SlotFn& slot, int64_t b,
                         std::vector<const char*>& frontier) {
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  for (size_t i = 0; i < loop.sources.size(); ++i) {
    const NDArray& x = slot(loop.sources[i]);
    NDJIT_ASSIGN_OR_RETURN(const NDArray done, ir::ChunkRows(x, 0, 0, b));
    auto [lo, hi] = Bytes(done);
    const bool forward = x.strides()[0] >= 0;
    if (b < loop.extent) {  // keep the huge page the next rows start in
      const auto at = [](const char* p) { return reinterpret_cast<uintptr_t>(p); };
      if (forward) {
        hi = reinterpret_cast<const char*>(at(hi) / kHuge * kHuge);
      } else {
        lo = reinterpret_cast<const char*>((at(lo) + kHuge - 1) / kHuge * kHuge);
      }
    }
    if (frontier[i] != nullptr) (forward ? lo : hi) = frontier[i];
    if (lo >= hi) continue;
    done.buffer()->ReleasePages(lo, hi);
    frontier[i] = forward ? hi : lo;
  }
  return absl::OkStatus();
}

// Whether writing `outs` while reading the leaves of `nodes` in one kernel
// could read an element after it was overwritten: any overlap but an output
// that is exactly one of the inputs (same element order) is.
bool HarmfulOverlap(absl::Span<const ir::NodePtr> nodes, absl::Span<const NDArray> outs) {
  for (const ir::Node* leaf : ir::TopologicalOrder(nodes)) {
    if (leaf->kind() != ir::NodeKind::kArray) continue;
    const NDArray& in = leaf->array();
    for (const NDArray& out : outs) {
      if (!MayShareMemory(in, out)) continue;
      if (!(in.data() == out.data() && in.shape() == out.shape() &&
            in.strides() == out.strides())) {
        return true;
      }
    }
  }
  for (size_t i = 0; i < outs.size(); ++i) {
    for (size_t j = i + 1; j < outs.size(); ++j) {
      if (MayShareMemory(outs[i], outs[j])) return true;
    }
  }
  return false;
}

// Outputs of one shape share a kernel, unless an out overlaps an input
// harmfully.
bool OneProgram(absl::Span<const ir::NodePtr> nodes, absl::Span<const NDArray> outs) {
  bool one_shape = true;
  for (const ir::NodePtr& n : nodes) one_shape &= n->shape() == nodes[0]->shape();
  bool all_arrays = true;
  for (const ir::NodePtr& n : nodes) all_arrays &= n->kind() == ir::NodeKind::kArray;
  return one_shape && !all_arrays && !HarmfulOverlap(nodes, outs);
}

}  // namespace

void SetStreamChunkBytes(int64_t bytes) { g_chunk_bytes.store(bytes, std::memory_order_relaxed); }
int64_t StreamChunkBytes() { return g_chunk_bytes.load(std::memory_order_relaxed); }

void AddStreamStats(Stats& s) {
  s.stream_chunks = g_chunks.load(std::memory_order_relaxed);
  s.stream_passes = g_passes.load(std::memory_order_relaxed);
}

namespace {

// Runs every part of `loop` over the rows [a, b) (a, b = 0, 1: once),
// noting the slices written along the axis in `written`.
absl::Status RunParts(const ir::ChunkLoop& loop, const SlotFn& slot,
                      absl::Span<const ir::ScalarValue> scalars, const PartKernels* kernels,
                      int64_t a, int64_t b, std::vector<NDArray>& written) {
  std::vector<NDArray> inputs, given;
  std::vector<ir::ScalarValue> values;
  for (const ir::ChunkLoop::Part& part : loop.parts) {
    const ir::Program& p = b - a < loop.rows && part.tail != nullptr ? *part.tail : *part.body;
    auto bind = [&](const ir::ChunkLoop::Bind& x) -> absl::StatusOr<NDArray> {
      if (x.axis < 0) return slot(x.slot);
      return ir::ChunkRows(slot(x.slot), x.axis, a, b);
    };
    inputs.clear();
    given.clear();
    values.clear();
    for (const ir::ChunkLoop::Bind& x : part.inputs) {
      NDJIT_ASSIGN_OR_RETURN(NDArray v, bind(x));
      inputs.push_back(std::move(v));
    }
    for (const ir::ChunkLoop::Bind& x : part.given) {
      NDJIT_ASSIGN_OR_RETURN(NDArray v, bind(x));
      if (x.axis >= 0) written.push_back(v);
      given.push_back(std::move(v));
    }
    for (int s : part.scalars) values.push_back(scalars[s]);
    NDJIT_RETURN_IF_ERROR(RunChunk(p, kernels, inputs, values, given, a).status());
  }
  return absl::OkStatus();
}

// Row blocks in cache: every chunk writes rows of its own and reads no
// other's, so the pool's threads take whole chunks (their kernels then run
// serially, each block staying in its core's cache). The error reported is
// the first chunk's to fail, whichever thread saw it first.
absl::Status RunBlocks(const ir::ChunkLoop& loop, const SlotFn& slot,
                       absl::Span<const ir::ScalarValue> scalars, const PartKernels* kernels) {
  const int64_t chunks = (loop.extent + loop.rows - 1) / loop.rows;
  std::mutex mu;
  int64_t failed_at = chunks;  // guarded by mu
  absl::Status failure;        // guarded by mu
  std::atomic<bool> stop{false};
  ParallelFor(chunks, [&](int64_t c) {
    if (stop.load(std::memory_order_relaxed)) return;
    absl::Status s = InterruptRequested() ? InterruptedError() : absl::OkStatus();
    std::vector<NDArray> written;
    if (s.ok()) {
      s = RunParts(loop, slot, scalars, kernels, c * loop.rows,
                   std::min(loop.extent, (c + 1) * loop.rows), written);
    }
    if (s.ok()) return;
    stop.store(true, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mu);
    if (c < failed_at) {
      failed_at = c;
      failure = std::move(s);
    }
  });
  return failure;
}

}  // namespace

absl::Status RunChunkLoop(const ir::ChunkLoop& loop, const SlotFn& slot,
                          absl::Span<const ir::ScalarValue> scalars, const PartKernels* kernels) {
  for (const ir::ChunkLoop::Init& init : loop.inits) {
    const NDArray& acc = slot(init.slot);
    ir::FillWith(acc, ir::ReductionIdentity(init.op, acc.dtype()));
  }
  const bool chunked = loop.extent > 0;
  if (chunked && loop.blocks == ir::ChunkLoop::Blocks::kCache) {
    return RunBlocks(loop, slot, scalars, kernels);
  }
  if (chunked) g_passes.fetch_add(1, std::memory_order_relaxed);
  const int64_t extent = chunked ? loop.extent : 1, rows = chunked ? loop.rows : 1;
  std::vector<const char*> frontier(loop.sources.size(), nullptr);
  std::vector<NDArray> written;
  for (int64_t a = 0; a < extent; a += rows) {
    if (InterruptRequested()) return InterruptedError();
    const int64_t b = std::min(extent, a + rows);
    // The chunk's pages are mapped in one call before the kernel runs: a
    // few page-table entries for files written with write() (the page
    // cache holds them in large folios), and fewer traps than faulting
    // for files written through a mapping (4 KiB pages). Mapping the next
    // chunk on a helper thread instead measured slower at 2 threads (the
    // helper competes with the kernel's threads for the two cores).
    if (chunked) NDJIT_RETURN_IF_ERROR(MapAhead(loop, slot, a, b));
    written.clear();
    NDJIT_RETURN_IF_ERROR(RunParts(loop, slot, scalars, kernels, a, b, written));
    if (!chunked) continue;
    for (const NDArray& w : written) {
      const auto [lo, hi] = Bytes(w);
      w.buffer()->ReleasePages(lo, hi);
    }
    g_chunks.fetch_add(1, std::memory_order_relaxed);
    NDJIT_RETURN_IF_ERROR(ReleaseDone(loop, slot, b, frontier));
  }
  return absl::OkStatus();
}

absl::Status EvaluateInto(absl::Span<const ir::NodePtr> nodes, absl::Span<const NDArray> outs) {
  if (OneProgram(nodes, outs)) return Evaluate(nodes, outs).status();
  // Every value first, then the copies: no kernel reads what another wrote.
  std::vector<NDArray> values;
  for (const ir::NodePtr& n : nodes) {
    if (n->kind() == ir::NodeKind::kArray) {
      values.push_back(n->array());
      continue;
    }
    NDJIT_ASSIGN_OR_RETURN(std::vector<NDArray> v, Evaluate({n}));
    values.push_back(std::move(v[0]));
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    NDJIT_RETURN_IF_ERROR(CopyTo(outs[i], values[i], Casting::kUnsafe));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<ir::Program>> ScheduleStreamed(absl::Span<const ir::NodePtr> roots,
                                                            absl::Span<const NDArray> outs) {
  // Every evaluation passes here: without a mapped file alive, nothing can
  // stream, and the analysis (a walk of the graph) is not worth making.
  if (Buffer::LiveFileBacked() == 0) return std::optional<ir::Program>();
  if (!outs.empty() && !OneProgram(roots, outs)) return std::optional<ir::Program>();
  return ir::ScheduleStreamed(roots, outs, g_chunk_bytes.load(std::memory_order_relaxed),
                              codegen::GetHostTarget().vector_bits / 8, codegen::Lowers);
}

absl::StatusOr<std::optional<std::vector<NDArray>>> EvaluateStreamed(
    absl::Span<const ir::NodePtr> roots, absl::Span<const NDArray> outs) {
  using Result = std::optional<std::vector<NDArray>>;
  NDJIT_ASSIGN_OR_RETURN(std::optional<ir::Program> program, ScheduleStreamed(roots, outs));
  if (!program) return Result();
  if (const ProgramObserver* observer = GetProgramObserver()) (*observer)(*program);
  std::vector<NDArray> inputs;
  std::vector<ir::ScalarValue> scalars;
  BindLeaves(ir::CollectLeaves(roots), inputs, scalars);
  NDJIT_ASSIGN_OR_RETURN(std::vector<NDArray> values, Run(*program, inputs, scalars, outs));
  return Result(std::move(values));
}

}  // namespace ndjit::engine
