// The cache of Programs, compiled, keyed by ir::ProgramKey: a repeated
// evaluation of one structure over arrays of the same layouts skips planning
// and the JIT cache's lookups.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/codegen/target.h"
#include "ndjit/engine/engine.h"
#include "ndjit/ir/program.h"
#include "ndjit/runtime/interrupt.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit::engine {
namespace {

// Programs hold no arrays (inputs are bound per run), but each entry keeps
// its kernels' code mapped (codegen::Kernel) after the JIT's cache lets go:
// the bound keeps a process that builds endless distinct expressions from
// growing without limit.
constexpr size_t kMaxPrograms = 1024;

using Programs = absl::flat_hash_map<std::string, std::shared_ptr<const Executable>>;

struct Cache {
  std::mutex mu;
  Programs programs;  // by ir::ProgramKey; guarded by mu
  // The last Program planned for each ir::SizeFreeKey that ir::Respecialise
  // takes: roots of new sizes are made from it instead of planned. Guarded
  // by mu.
  Programs by_size_free_key;
  std::atomic<int64_t> hits{0}, misses{0};
};

// Keeps `programs` within kMaxPrograms before an insertion. No recency is
// kept: dropping every other entry is as good a guess.
void MakeRoom(Programs& programs) {
  if (programs.size() < kMaxPrograms) return;
  size_t i = 0;
  absl::erase_if(programs, [&](const auto&) { return i++ % 2 == 0; });
}

Cache& TheCache() {
  static Cache* c = new Cache;
  return *c;
}

// A cached Program outlives the graph it was planned from: the node
// pointers it keeps for printers would dangle, and the nodes it holds (a
// chunk loop's parts hold views of the inputs) would keep arrays alive.
void ForgetNodes(ir::Program& p) {
  p.held.clear();
  for (ir::Slot& s : p.slots) s.node = nullptr;
  p.origins.clear();
  for (ir::Step& s : p.steps) {
    s.nodes.clear();
    s.gemm.node = nullptr;
    ir::ForEachCall(s, [](ir::KernelCall& c) { c.instr_nodes.clear(); });
    if (s.kind != ir::Step::kChunkLoop) continue;
    auto loop = std::make_shared<ir::ChunkLoop>(*s.loop);
    for (ir::ChunkLoop::Part& part : loop->parts) {
      for (std::shared_ptr<const ir::Program>* q : {&part.body, &part.tail}) {
        if (*q == nullptr) continue;
        auto copy = std::make_shared<ir::Program>(**q);
        ForgetNodes(*copy);
        *q = std::move(copy);
      }
    }
    s.loop = std::move(loop);
  }
}

// A block's rows are read from memory once and then from L2 by the passes
// after the first; its outputs stream past the caches, so the inputs take
// about half of it (W6norm: L2/2 to 2 L2 measured best, L2/4 and 4 L2 slower).
int64_t DefaultCacheBlockBytes() {
  const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  return l2 > 0 ? l2 : int64_t{1} << 20;
}
std::atomic<int64_t> g_cache_block_bytes{DefaultCacheBlockBytes()};

thread_local const ProgramObserver* t_observer = nullptr;

// `p`'s kernels into `kernels`, one per call in ir::ForEachCall order (null
// for calls with no iterations), and its chunk loops' parts' into `parts`.
absl::Status Compile(const ir::Program& p, std::vector<codegen::Kernel>& kernels,
                     PartKernels& parts) {
  for (const ir::Step& step : p.steps) {
    absl::Status compiled = absl::OkStatus();
    ir::ForEachCall(step, [&](const ir::KernelCall& call) {
      codegen::Kernel kernel;
      if (!call.empty && compiled.ok()) {
        if (InterruptRequested()) {
          compiled = InterruptedError();
          return;
        }
        absl::StatusOr<codegen::Kernel> k = codegen::GetKernel(call.spec);
        if (k.ok()) kernel = *std::move(k);
        compiled.Update(k.status());
      }
      kernels.push_back(std::move(kernel));
    });
    NDJIT_RETURN_IF_ERROR(compiled);
    if (step.kind != ir::Step::kChunkLoop) continue;
    for (const ir::ChunkLoop::Part& part : step.loop->parts) {
      for (const ir::Program* q : {part.body.get(), part.tail.get()}) {
        if (q != nullptr && !parts.contains(q)) {
          std::vector<codegen::Kernel> own;
          NDJIT_RETURN_IF_ERROR(Compile(*q, own, parts));
          parts.emplace(q, std::move(own));
        }
      }
    }
  }
  return absl::OkStatus();
}

// `roots` scheduled (shown to `observer` first, when given), their nodes
// forgotten and their kernels compiled: a program cache miss.
absl::StatusOr<std::shared_ptr<Executable>> Planned(absl::Span<const ir::NodePtr> roots,
                                                    absl::Span<const NDArray> out,
                                                    const ProgramObserver* observer) {
  NDJIT_ASSIGN_OR_RETURN(ir::Program program, Schedule(roots, out));
  TheCache().misses.fetch_add(1, std::memory_order_relaxed);
  if (observer != nullptr) (*observer)(program);
  ForgetNodes(program);
  auto exe = std::make_shared<Executable>();
  exe->program = std::move(program);
  NDJIT_RETURN_IF_ERROR(Compile(exe->program, exe->kernels, exe->part_kernels));
  return exe;
}

}  // namespace

void SetProgramObserver(const ProgramObserver* observer) { t_observer = observer; }
const ProgramObserver* GetProgramObserver() { return t_observer; }

void AddCacheStats(Stats& s) {
  s.programs_reused = TheCache().hits.load(std::memory_order_relaxed);
  s.programs_planned = TheCache().misses.load(std::memory_order_relaxed);
}

void SetCacheBlockBytes(int64_t bytes) {
  bytes = std::max<int64_t>(0, bytes);
  // Cached Programs were planned with the old blocks.
  if (g_cache_block_bytes.exchange(bytes) != bytes) ClearProgramCache();
}
int64_t CacheBlockBytes() { return g_cache_block_bytes.load(std::memory_order_relaxed); }

absl::StatusOr<ir::Program> Schedule(absl::Span<const ir::NodePtr> roots,
                                     absl::Span<const NDArray> out) {
  const int vector_bytes = codegen::GetHostTarget().vector_bits / 8;
  // One reading: the blocks and what a reduction keeps in cache agree.
  const int64_t block = CacheBlockBytes();
  if (block > 0) {
    NDJIT_ASSIGN_OR_RETURN(std::optional<ir::Program> blocked,
                           ir::ScheduleBlocked(roots, out, block, vector_bytes, codegen::Lowers));
    if (blocked) return *std::move(blocked);
  }
  return ir::Schedule(roots, vector_bytes, out, codegen::Lowers, /*out_blocks=*/false, block);
}

absl::StatusOr<std::shared_ptr<const Executable>> Plan(absl::Span<const ir::NodePtr> roots) {
  return Plan(roots, ir::ProgramKey(roots));
}

absl::StatusOr<std::shared_ptr<const Executable>> Plan(absl::Span<const ir::NodePtr> roots,
                                                       std::string key,
                                                       absl::Span<const NDArray> out) {
  Cache& c = TheCache();
  const ProgramObserver* const observer = t_observer;
  if (observer != nullptr) return Planned(roots, out, observer);
  ir::GraphSignature size_free;  // key and leaves, from one walk
  std::shared_ptr<const Executable> template_exe;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.programs.find(key);
    if (it != c.programs.end()) {
      c.hits.fetch_add(1, std::memory_order_relaxed);
      return it->second;
    }
  }
  if (out.empty()) {
    size_free = ir::SignSizeFree(roots);
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.by_size_free_key.find(size_free.key);
    if (it != c.by_size_free_key.end()) template_exe = it->second;
  }
  std::shared_ptr<Executable> exe;
  bool respecialised = false;
  if (template_exe != nullptr) {
    std::vector<NDArray> inputs;
    for (const ir::Node* leaf : size_free.leaves.arrays) inputs.push_back(leaf->array());
    std::optional<ir::Program> made = ir::Respecialise(
        template_exe->program, roots[0]->shape(), inputs, codegen::GetHostTarget().vector_bits / 8);
    if (made) {
      // The kernels are the template's: Respecialise keeps every spec.
      exe = std::make_shared<Executable>();
      exe->program = *std::move(made);
      exe->kernels = template_exe->kernels;
      respecialised = true;
      c.hits.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (exe == nullptr) {
    NDJIT_ASSIGN_OR_RETURN(exe, Planned(roots, out, nullptr));
  }
  std::lock_guard<std::mutex> lock(c.mu);
  MakeRoom(c.programs);
  c.programs.emplace(std::move(key), exe);
  if (!size_free.key.empty() && !respecialised && ir::Respecialisable(exe->program)) {
    MakeRoom(c.by_size_free_key);
    c.by_size_free_key[std::move(size_free.key)] = exe;
  }
  return exe;
}

int64_t ProgramCacheSize() {
  std::lock_guard<std::mutex> lock(TheCache().mu);
  return static_cast<int64_t>(TheCache().programs.size());
}

void ClearProgramCache() {
  std::lock_guard<std::mutex> lock(TheCache().mu);
  TheCache().programs.clear();
  TheCache().by_size_free_key.clear();
}

}  // namespace ndjit::engine
