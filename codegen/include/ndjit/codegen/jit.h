// The JIT: compiles loop-IR kernels to host machine code through LLVM ORC,
// caches them by structure, and runs them. No LLVM type crosses this header.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ndjit/ir/kernel.h"

namespace ndjit::codegen {

// Every kernel's C signature (see codegen/src/lower.h for the layout).
using KernelFn = void (*)(char* const* ptrs, const int64_t* sizes, const int64_t* strides,
                          const char* scalars, int64_t* status);

// A compiled kernel. fn() is its entry: where tiers apply (below), the fast
// tier's code at first, replaced by the optimised tier's when the background
// compile finishes, with the same results. A launch reads fn() once. The
// machine code (every tier's) stays mapped while any copy of the Kernel
// lives: the JIT's cache holds one, evaluation plans hold theirs, and the
// code is freed when the last goes (the cache is bounded, below).
struct KernelCode {
  virtual ~KernelCode() = default;
  std::atomic<KernelFn> entry{nullptr};
  std::atomic<bool> optimised{false};  // entry is the optimised tier's (compiled or loaded)
};
struct Kernel {
  KernelFn fn() const { return code ? code->entry.load(std::memory_order_acquire) : nullptr; }
  bool optimised() const { return code && code->optimised.load(std::memory_order_acquire); }
  std::shared_ptr<KernelCode> code;  // null for a call with no iterations
};

// How kernels compile. kOpt: LLVM's O3 pipeline and instruction selection,
// waited for. kFast: a short pipeline (the lowering has vectorised already)
// and the fast instruction selector: several times quicker to compile,
// slower to run where a kernel computes much per byte. kAuto (the default):
// fast first, then the optimised tier compiled on a background thread and
// swapped in. Disk-cached kernels (disk_cache.h) are optimised code and load
// in any tier but kFast. NDJIT_JIT_TIER=fast|opt|auto sets it at start.
enum class JitTier : uint8_t { kFast, kOpt, kAuto };
void SetJitTier(JitTier tier);
JitTier GetJitTier();
// Returns once every optimised compile queued so far has finished.
void WaitForBackgroundCompiles();

struct CompileStats {
  int64_t kernels_compiled = 0;  // kernels made callable: compiled or loaded from disk
  int64_t cache_hits = 0;
  int64_t kernels_evicted = 0;  // dropped from the cache (freed once unreferenced)
  double compile_ms = 0;        // total wall time callers waited for kernels
  int64_t fast_compiled = 0;    // kernels whose first code was the fast tier's
  int64_t tiered_up = 0;        // of those, now running their optimised code
  double background_ms = 0;     // wall time of the optimised compiles in the background
  double startup_ms = 0;        // making the JIT: LLVM's target, the TargetMachine, ORC
};

// Whether the JIT lowers `spec` (every kernel but complex reductions);
// GetKernel is Unimplemented for the rest.
bool Lowers(const ir::KernelSpec& spec);

// The compiled kernel for `spec`: from the cache when a kernel of the same
// structure was compiled before. Thread-safe.
absl::StatusOr<Kernel> GetKernel(const ir::KernelSpec& spec);

// The cache keeps at most this many kernels (default 1024); past it, the
// least recently used quarter is dropped. A process that compiles endless
// distinct kernels thus keeps a bounded number mapped: the cache's plus
// those its live plans hold. Setting it evicts at once.
void SetKernelCacheCapacity(int64_t kernels);
int64_t KernelCacheCapacity();
int64_t KernelCacheSize();

// Compiles (or reuses) and runs the launch's kernel, writing its outputs.
absl::Status RunKernel(const ir::KernelLaunch& launch);

// The same from raw parts: one data pointer per operand (outputs first), the
// loop sizes, per-operand strides and the scalar values.
absl::Status RunKernel(const ir::KernelSpec& spec, absl::Span<char* const> ptrs, Dims sizes,
                       absl::Span<const Strides> strides,
                       absl::Span<const ir::ScalarValue> scalar_values);
// The same with `fn` = GetKernel(spec).fn() already looked up.
absl::Status RunKernel(KernelFn fn, const ir::KernelSpec& spec, absl::Span<char* const> ptrs,
                       Dims sizes, absl::Span<const Strides> strides,
                       absl::Span<const ir::ScalarValue> scalar_values);

CompileStats GetCompileStats();

// The kernel's LLVM IR, before or after the optimisation pipeline, and its
// host assembly: what the REPL's :llvm and :asm show.
// `labels` (one per body instruction, optional) name the values: "%3"
// becomes the LLVM value g3.
absl::StatusOr<std::string> KernelLLVMIR(const ir::KernelSpec& spec, bool optimized,
                                         const std::vector<std::string>& labels = {});
absl::StatusOr<std::string> KernelAssembly(const ir::KernelSpec& spec);

}  // namespace ndjit::codegen
