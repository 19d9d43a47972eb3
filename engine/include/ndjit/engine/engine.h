// The engine runs Programs (ir/program.h): it allocates each slot from the
// pool before its first writer and gives it back after its last reader,
// launches the kernels, folds reduction partials, keeps the cache of
// Programs and counts what evaluations did. It never calls the public API.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/ir/kernel.h"
#include "ndjit/ir/program.h"

namespace ndjit::engine {

// Compiled kernels of chunk loops' parts (body or tail Programs), each in
// the order ir::ForEachCall visits its steps, by part.
using PartKernels = absl::flat_hash_map<const ir::Program*, std::vector<codegen::Kernel>>;

// A Program with its kernels compiled (one per KernelCall, in step order;
// null for calls with no iterations), its chunk loops' parts' too: what the
// cache keeps. Holding the kernels keeps their code mapped while the JIT's
// cache evicts them, and no launch, a row block's included, asks the JIT's
// cache for one.
struct Executable {
  ir::Program program;
  std::vector<codegen::Kernel> kernels;
  PartKernels part_kernels;
};

// Runs `program` over `inputs` (one per input slot, in leaf order, each of
// the layout it was planned for), `scalars` (one per scalar leaf) and, for
// a Program planned with out=, `outs` (one per kGiven slot, of its layout).
// Returns one array per root.
absl::StatusOr<std::vector<NDArray>> Run(const Executable& executable,
                                         absl::Span<const NDArray> inputs,
                                         absl::Span<const ir::ScalarValue> scalars,
                                         absl::Span<const NDArray> outs = {});
// The same for a Program not compiled yet (kernels come from the JIT's cache).
absl::StatusOr<std::vector<NDArray>> Run(const ir::Program& program,
                                         absl::Span<const NDArray> inputs,
                                         absl::Span<const ir::ScalarValue> scalars,
                                         absl::Span<const NDArray> outs = {});

// ir::Schedule for this host: its vector width, and reference steps for
// what the JIT does not lower (codegen::Lowers); ir::ScheduleBlocked's
// Program instead when its row blocks (of CacheBlockBytes) qualify.
absl::StatusOr<ir::Program> Schedule(absl::Span<const ir::NodePtr> roots,
                                     absl::Span<const NDArray> out = {});

// The Executable for `roots`: from the cache when roots of the same key
// (ir::ProgramKey) were planned before; else, without out=, made by
// ir::Respecialise from the Program last planned for roots of the same
// size-free key (ir::SizeFreeKey), kernels and all, when it takes it; else
// scheduled and compiled (and kept by its size-free key too). Cached by key.
// Unimplemented for graphs ir::Schedule does not plan.
absl::StatusOr<std::shared_ptr<const Executable>> Plan(absl::Span<const ir::NodePtr> roots);
// The same with the roots' key already computed (ir::Sign), for values
// written into `out` (see ir::Schedule).
absl::StatusOr<std::shared_ptr<const Executable>> Plan(absl::Span<const ir::NodePtr> roots,
                                                       std::string key,
                                                       absl::Span<const NDArray> out = {});

// While set on a thread (null: unset), every Program the evaluations on it
// run is passed to `observer` first, planned afresh past the caches so that
// it still names the graph's nodes: how the explorer shows what runs.
using ProgramObserver = std::function<void(const ir::Program&)>;
void SetProgramObserver(const ProgramObserver* observer);
const ProgramObserver* GetProgramObserver();

// Plan and Run: the values of `roots`, bound from their own leaves, written
// into `out` when given (NumPy's out=, one per root, of its shape and dtype).
absl::StatusOr<std::vector<NDArray>> Evaluate(absl::Span<const ir::NodePtr> roots,
                                              absl::Span<const NDArray> out = {});

// NumPy's way: one kernel per node (each a Program of its own), every
// intermediate materialised and dropped after its last reader.
absl::StatusOr<NDArray> EvaluateEager(const ir::NodePtr& root);
// The reference evaluator (ir/reference.h), counted as a fallback.
absl::StatusOr<std::vector<NDArray>> EvaluateReference(absl::Span<const ir::NodePtr> roots);

// Writes `nodes` (each of its out's shape and dtype already) into `outs`:
// one Program when no out overlaps an input harmfully, else every value
// first and then the copies. Never streams.
absl::Status EvaluateInto(absl::Span<const ir::NodePtr> nodes, absl::Span<const NDArray> outs);

// --- Streaming over memory-mapped files -------------------------------------
// ir::ScheduleStreamed for this host and the chunk budget (StreamChunkBytes):
// the Program evaluating `roots` chunk by chunk along the first axis of the
// memory-mapped arrays they read or are written to (outs[i], when given, is
// where roots[i] goes, already broadcast and cast to it). nullopt when they
// do not qualify (see there), or when an out overlaps an input.
absl::StatusOr<std::optional<ir::Program>> ScheduleStreamed(absl::Span<const ir::NodePtr> roots,
                                                            absl::Span<const NDArray> outs = {});
// That Program run (each chunk's pages dropped from this process after
// use); nullopt, having done nothing, when there is none.
absl::StatusOr<std::optional<std::vector<NDArray>>> EvaluateStreamed(
    absl::Span<const ir::NodePtr> roots, absl::Span<const NDArray> outs = {});
void SetStreamChunkBytes(int64_t bytes);
int64_t StreamChunkBytes();
// The bytes of one row block evaluations over arrays larger than the caches
// run every pass over before the next (ir::ScheduleBlocked): by default the
// size of this core's L2 cache; 0 turns row blocks off.
void SetCacheBlockBytes(int64_t bytes);
int64_t CacheBlockBytes();

// --- Statistics of everything evaluations ran, whichever path ran it ------
struct Stats {
  int64_t kernels_run = 0;         // JIT kernel launches
  int64_t kernel_ops = 0;          // ufunc instructions in them
  int64_t fallbacks = 0;           // values the reference evaluator computed
  int64_t intermediate_bytes = 0;  // computed but not returned (see EvalStats)
  int64_t gemms_run = 0;
  int64_t fused_epilogues = 0;
  int64_t programs_planned = 0;  // program cache misses
  int64_t programs_reused = 0;   // program cache hits, by key or size-free key
  int64_t stream_chunks = 0;     // chunks streamed evaluations ran
  int64_t stream_passes = 0;     // passes over the chunks
};
Stats GetStats();
void CountKernel(const ir::KernelSpec& spec);
void CountFallback();
void CountIntermediateBytes(int64_t bytes);
void CountGemm();
void CountEpilogue();

// Programs kept (bounded; the oldest half goes when full), and emptying it.
int64_t ProgramCacheSize();
void ClearProgramCache();

}  // namespace ndjit::engine
