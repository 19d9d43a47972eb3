// Kernel launches: splitting the outer loop across threads, the scalar
// arguments, the run's status and the profiler's record.
#include <algorithm>
#include <atomic>
#include <chrono>

#include "absl/container/inlined_vector.h"
#include "lower.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/codegen/profile.h"
#include "ndjit/runtime/cast.h"
#include "ndjit/runtime/interrupt.h"
#include "ndjit/runtime/status_macros.h"
#include "ndjit/runtime/thread_pool.h"
#include "profile_internal.h"

namespace ndjit::codegen {

// Below this many elements a kernel runs on the calling thread: waking a
// thread costs microseconds.
constexpr int64_t kParallelMinElements = int64_t{1} << 16;

absl::Status RunKernel(const ir::KernelSpec& spec, absl::Span<char* const> ptrs, Dims sizes,
                       absl::Span<const Strides> strides,
                       absl::Span<const ir::ScalarValue> scalar_values) {
  // The Kernel is held while it runs: another thread may evict it meanwhile.
  NDJIT_ASSIGN_OR_RETURN(Kernel kernel, GetKernel(spec));
  return RunKernel(kernel.fn(), spec, ptrs, sizes, strides, scalar_values);
}

absl::Status RunKernel(KernelFn fn, const ir::KernelSpec& spec, absl::Span<char* const> ptrs,
                       Dims sizes, absl::Span<const Strides> strides,
                       absl::Span<const ir::ScalarValue> scalar_values) {
  absl::InlinedVector<int64_t, 32> flat;
  for (const Strides& s : strides) flat.insert(flat.end(), s.begin(), s.end());
  absl::InlinedVector<char, 64> scalars(spec.scalars.size() * kScalarSlotBytes + 1);
  for (size_t s = 0; s < spec.scalars.size(); ++s) {
    ir::ScalarToStorage(scalar_values[s], spec.scalars[s], scalars.data() + s * kScalarSlotBytes);
  }
  // The outermost loop runs in parallel when every output moves along it
  // (no two tasks write one element) and there is enough work to share.
  int64_t total = 1;
  for (int64_t s : sizes) total *= s;
  bool splittable = sizes[0] >= 2;
  for (int k = 0; k < spec.num_outputs; ++k) splittable &= strides[k][0] != 0;
  const int threads = GetNumThreads();
  int64_t tasks = 1;
  if (splittable && threads > 1 && total >= kParallelMinElements && !InParallelTask()) {
    // A few tasks per thread even out threads that a busy machine slows.
    tasks = std::min({sizes[0], int64_t{4} * threads, total / (kParallelMinElements / 2)});
  }
  const int64_t rank = static_cast<int64_t>(sizes.size());
  // A rank-1 loop is the vector loop itself: tasks start on 64-element
  // boundaries, which keeps streaming stores aligned.
  const int64_t align = rank == 1 ? 64 : 1;
  absl::InlinedVector<int64_t, 16> status(tasks, 0);
  const bool profiling = ProfilingEnabled();
  const auto start =
      profiling ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
  std::atomic<bool> interrupted{false};
  auto run = [&](int64_t t) {
    if (InterruptRequested()) {
      interrupted.store(true, std::memory_order_relaxed);
      return;
    }
    auto bound = [&](int64_t i) {
      return i == tasks ? sizes[0] : std::min(sizes[0], sizes[0] * i / tasks / align * align);
    };
    const int64_t begin = bound(t), end = bound(t + 1);
    if (end <= begin) return;
    absl::InlinedVector<int64_t, 8> local_sizes(sizes.begin(), sizes.end());
    local_sizes[0] = end - begin;
    absl::InlinedVector<char*, 8> local_ptrs(ptrs.begin(), ptrs.end());
    for (size_t k = 0; k < local_ptrs.size(); ++k) local_ptrs[k] += begin * strides[k][0];
    fn(local_ptrs.data(), local_sizes.data(), flat.data(), scalars.data(), &status[t]);
  };
  // One task runs here: a short kernel's launch is most of its time.
  if (tasks == 1) {
    run(0);
  } else {
    ParallelFor(tasks, run);
  }
  if (profiling) {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    profile::RecordRun(reinterpret_cast<const void*>(fn), profile::DescribeSpec(spec), ms,
                       ir::MovedBytes(spec, sizes, strides), ir::Flops(spec, sizes),
                       static_cast<int>(std::min<int64_t>(tasks, threads)));
  }
  if (interrupted.load(std::memory_order_relaxed)) return InterruptedError();
  for (int64_t s : status) {
    if (s == kStatusNegativePower) {
      return absl::InvalidArgumentError("Integers to negative integer powers are not allowed.");
    }
  }
  return absl::OkStatus();
}

bool Lowers(const ir::KernelSpec& spec) {
  for (const ir::Instr& in : spec.body) {
    if (in.kind == ir::Instr::kAccumulate && IsComplex(in.dtype)) return false;
  }
  return true;
}

absl::Status RunKernel(const ir::KernelLaunch& launch) {
  if (launch.empty) return absl::OkStatus();  // no element: nothing to compile or run
  absl::InlinedVector<char*, 8> ptrs;
  for (size_t k = 0; k < launch.arrays.size(); ++k) {
    ptrs.push_back(launch.arrays[k].data() + (launch.offsets.empty() ? 0 : launch.offsets[k]));
  }
  return RunKernel(launch.spec, ptrs, launch.sizes, launch.strides, launch.scalar_values);
}

}  // namespace ndjit::codegen
