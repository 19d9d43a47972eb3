// The GEMM driver: cache blocking, packing, edges and threads around the
// JIT-compiled micro-kernel.
//
// Loop nest of one task (a batch entry and a range of rows), as in BLIS:
//   for each column block of nc:           B block kc x nc packed, L2-resident
//     for each k block of kc:
//       pack B[k block, column block]
//       for each row block of mc:           A block mc x kc packed
//         pack A[row block, k block]
//         for each MR-tall panel of A:      A panel (MR x kc) stays in L1
//           for each NR-wide panel of B:    B panels stream from L2
//             micro-kernel on an MR x NR tile
// The first k block overwrites C and the later ones add to it, so C needs
// no clearing; after the last k block a row block x column block rectangle
// is final and goes to the epilogue while it is in cache.
#include "ndjit/codegen/gemm.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gemm_kernel.h"
#include "ndjit/codegen/profile.h"
#include "ndjit/ir/gemm_plan.h"
#include "ndjit/runtime/status_macros.h"
#include "ndjit/runtime/thread_pool.h"
#include "profile_internal.h"

namespace ndjit::codegen {
namespace {

// Panels start on cache lines: the micro-kernel's vector loads are aligned.
struct AlignedScratch {
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> data;
  size_t bytes = 0;
  char* Get(size_t want) {
    if (want > bytes) {
      bytes = (want + 63) / 64 * 64;
      data.reset(static_cast<char*>(std::aligned_alloc(64, bytes)));
    }
    return data.get();
  }
};

template <typename T>
const T& At(const char* base, int64_t offset) {
  return *reinterpret_cast<const T*>(base + offset);
}

// A[m0 + r, k0 + kk] for r < rows, kk < kc into MR-tall panels: panel p
// holds MR values per kk, rows past the edge zero.
template <typename T>
void PackA(const char* a, int64_t a_m, int64_t a_k, int64_t rows, int64_t kc, int mr, T* out) {
  for (int64_t p0 = 0; p0 < rows; p0 += mr) {
    const int64_t h = std::min<int64_t>(mr, rows - p0);
    T* dst = out + p0 * kc;
    if (a_m == sizeof(T)) {
      // Rows contiguous (a transposed operand): each k is one short copy.
      for (int64_t kk = 0; kk < kc; ++kk) {
        std::memcpy(dst + kk * mr, a + (p0 * a_m + kk * a_k), h * sizeof(T));
      }
    } else {
      for (int64_t r = 0; r < h; ++r) {
        const char* row = a + (p0 + r) * a_m;
        if (a_k == sizeof(T)) {
          const T* src = reinterpret_cast<const T*>(row);
          for (int64_t kk = 0; kk < kc; ++kk) dst[kk * mr + r] = src[kk];
        } else {
          for (int64_t kk = 0; kk < kc; ++kk) dst[kk * mr + r] = At<T>(row, kk * a_k);
        }
      }
    }
    if (h < mr) {
      for (int64_t kk = 0; kk < kc; ++kk) {
        std::fill(dst + kk * mr + h, dst + (kk + 1) * mr, T(0));
      }
    }
  }
}

// B[k0 + kk, n0 + j] for kk < kc, j < cols into NR-wide panels: panel q
// holds NR values per kk, columns past the edge zero.
template <typename T>
void PackB(const char* b, int64_t b_k, int64_t b_n, int64_t kc, int64_t cols, int nr, T* out) {
  for (int64_t q0 = 0; q0 < cols; q0 += nr) {
    const int64_t w = std::min<int64_t>(nr, cols - q0);
    T* dst = out + q0 * kc;
    for (int64_t kk = 0; kk < kc; ++kk) {
      T* d = dst + kk * nr;
      const char* src = b + kk * b_k + q0 * b_n;
      if (b_n == sizeof(T)) {
        std::memcpy(d, src, w * sizeof(T));
      } else {
        for (int64_t j = 0; j < w; ++j) d[j] = At<T>(src, j * b_n);
      }
      std::fill(d + w, d + nr, T(0));
    }
  }
}

// One batch entry's rows [m0, m1) and columns [n0, n1).
constexpr int64_t kEpilogueRows = 48;

struct Task {
  int64_t batch, m0, m1, n0, n1;
};

template <typename T>
absl::Status RunTask(const GemmProblem& p, const Task& task, const GemmBlocking& blk,
                     MicroKernelFn kernel, const GemmEpilogue& epilogue) {
  thread_local AlignedScratch a_scratch, b_scratch;
  T tile[16 * 64];  // one MR x NR tile for edges (MR <= 16, NR <= 64)
  const int mr = blk.mr, nr = blk.nr;
  const char* a = p.a + task.batch * p.a_batch;
  const char* b = p.b + task.batch * p.b_batch;
  char* c = p.c + task.batch * p.c_batch;
  const bool unit_c = p.c_n == sizeof(T) && p.c_m % static_cast<int64_t>(sizeof(T)) == 0;
  const int64_t rows = task.m1 - task.m0;
  T* ap = reinterpret_cast<T*>(
      a_scratch.Get(sizeof(T) * ((std::min<int64_t>(blk.mc, rows) + mr - 1) / mr * mr) * blk.kc));
  const int64_t width = task.n1 - task.n0;
  T* bp = reinterpret_cast<T*>(
      b_scratch.Get(sizeof(T) * ((std::min<int64_t>(blk.nc, width) + nr - 1) / nr * nr) * blk.kc));
  for (int64_t n0 = task.n0; n0 < task.n1; n0 += blk.nc) {
    const int64_t cols = std::min<int64_t>(blk.nc, task.n1 - n0);
    for (int64_t k0 = 0; k0 < p.k || k0 == 0; k0 += blk.kc) {
      const int64_t kc = std::min<int64_t>(blk.kc, p.k - k0);
      const bool last_k = k0 + blk.kc >= p.k;
      PackB<T>(b + k0 * p.b_k + n0 * p.b_n, p.b_k, p.b_n, kc, cols, nr, bp);
      for (int64_t m0 = task.m0; m0 < task.m1; m0 += blk.mc) {
        const int64_t h = std::min<int64_t>(blk.mc, task.m1 - m0);
        PackA<T>(a + m0 * p.a_m + k0 * p.a_k, p.a_m, p.a_k, h, kc, mr, ap);
        int64_t strip = 0;  // first row of C not yet handed to the epilogue
        for (int64_t r = 0; r < h; r += mr) {
          const int64_t th = std::min<int64_t>(mr, h - r);
          const char* apanel = reinterpret_cast<const char*>(ap + r * kc);
          for (int64_t q = 0; q < cols; q += nr) {
            const int64_t w = std::min<int64_t>(nr, cols - q);
            const char* bpanel = reinterpret_cast<const char*>(bp + q * kc);
            char* ct = c + (m0 + r) * p.c_m + (n0 + q) * p.c_n;
            if (unit_c && th == mr && w == nr) {
              kernel(kc, apanel, bpanel, ct, p.c_m / static_cast<int64_t>(sizeof(T)), k0 > 0);
              continue;
            }
            kernel(kc, apanel, bpanel, reinterpret_cast<char*>(tile), nr, 0);
            for (int64_t i = 0; i < th; ++i) {
              for (int64_t j = 0; j < w; ++j) {
                T& dst = *reinterpret_cast<T*>(ct + i * p.c_m + j * p.c_n);
                dst = k0 > 0 ? dst + tile[i * nr + j] : tile[i * nr + j];
              }
            }
          }
          // Final rows go to the epilogue a strip of kEpilogueRows at a time:
          // small enough to still be in L2, large enough that the call
          // overhead stays small.
          if (last_k && epilogue && (r + th - strip >= kEpilogueRows || r + th == h)) {
            if (absl::Status s = epilogue({task.batch, m0 + strip, m0 + r + th, n0, n0 + cols});
                !s.ok()) {
              return s;
            }
            strip = r + th;
          }
        }
      }
      if (p.k == 0) break;
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool GemmSupports(DType dtype) { return ir::ContractsOnGemm(dtype); }

GemmBlocking GetGemmBlocking(DType dtype) {
  const MicroTile t = GetMicroTile(dtype);
  GemmBlocking b;
  b.mr = t.mr;
  b.nr = t.nr;
  const int item = dtype == DType::kFloat32 ? 4 : 8;
  // Measured on Zen 4 (32 KiB L1, 1 MiB L2, 32 MiB L3), float32 1024^3
  // and 2048^3, against OpenBLAS in the same process: kc 256 beats 128-512
  // (an A panel of 12 KiB stays in L1 while B panels stream past it); a B
  // block of 1 MiB beats 0.5 and 0.75 MiB (fewer repacks of A); mc 288
  // beats 96. Keeping the A panel in the inner loop's L1, rather than the
  // B panel (32 KiB: it does not fit beside anything), was worth 5-10%.
  b.kc = 256;
  b.nc = std::max(b.nr, (1 << 20) / (b.kc * item) / b.nr * b.nr);
  b.mc = b.mr * 24;
  return b;
}

std::string DescribeGemmBlocking(DType dtype) {
  const GemmBlocking b = GetGemmBlocking(dtype);
  return absl::StrCat(Name(dtype), " micro-tile ", b.mr, "x", b.nr, ", blocks kc=", b.kc,
                      " mc=", b.mc, " nc=", b.nc);
}

absl::Status RunGemm(const GemmProblem& p, const GemmEpilogue& epilogue) {
  if (!GemmSupports(p.dtype)) {
    return absl::InvalidArgumentError(
        absl::StrCat("GEMM: unsupported dtype ", Name(p.dtype), " (float32 or float64)"));
  }
  if (p.batch < 0 || p.m < 0 || p.n < 0 || p.k < 0) {
    return absl::InvalidArgumentError(absl::StrCat("GEMM: negative extent (batch ", p.batch, ", m ",
                                                   p.m, ", n ", p.n, ", k ", p.k, ")"));
  }
  if (p.batch == 0 || p.m == 0 || p.n == 0) return absl::OkStatus();
  NDJIT_ASSIGN_OR_RETURN(MicroKernelFn kernel, GetMicroKernel(p.dtype));
  const GemmBlocking blk = GetGemmBlocking(p.dtype);
  // Tasks: whole batch entries when there are enough of them, else each
  // entry cut in one part per thread, along rows or columns, whichever
  // repacks less: a task packs all of B's columns it covers for its rows
  // (cutting rows packs B once per task), and all of A's rows for its
  // columns (cutting columns packs A once per task). Tasks share nothing, so
  // nothing synchronises, and every element of C is computed the same way
  // whatever the thread count (parts start on micro-tile boundaries).
  const int threads = InParallelTask() ? 1 : GetNumThreads();
  const double flops = 2.0 * p.batch * p.m * p.n * p.k;
  const bool parallel = threads > 1 && flops >= 4e6;
  const bool cut_columns = p.m < p.n;
  const int64_t unit = cut_columns ? blk.nr : blk.mr;
  const int64_t extent = cut_columns ? p.n : p.m;
  const int64_t units = (extent + unit - 1) / unit;
  int64_t parts = 1;
  if (parallel && p.batch < 2 * threads) parts = std::min<int64_t>(threads, units);
  std::vector<Task> tasks;
  for (int64_t bi = 0; bi < p.batch; ++bi) {
    for (int64_t t = 0; t < parts; ++t) {
      const int64_t lo = std::min(extent, units * t / parts * unit);
      const int64_t hi = t + 1 == parts ? extent : std::min(extent, units * (t + 1) / parts * unit);
      if (hi <= lo) continue;
      tasks.push_back(cut_columns ? Task{bi, 0, p.m, lo, hi} : Task{bi, lo, hi, 0, p.n});
    }
  }
  const bool profiling = ProfilingEnabled();
  const auto start =
      profiling ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
  std::vector<absl::Status> status(tasks.size());
  auto run = [&](int64_t i) {
    status[i] = p.dtype == DType::kFloat32 ? RunTask<float>(p, tasks[i], blk, kernel, epilogue)
                                           : RunTask<double>(p, tasks[i], blk, kernel, epilogue);
  };
  if (parallel) {
    ParallelFor(static_cast<int64_t>(tasks.size()), run);
  } else {
    for (size_t i = 0; i < tasks.size(); ++i) run(static_cast<int64_t>(i));
  }
  if (profiling) {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    const double b = static_cast<double>(p.batch), item = ItemSize(p.dtype);
    const double m = static_cast<double>(p.m), n = static_cast<double>(p.n);
    const double k = static_cast<double>(p.k);
    profile::RecordRun(reinterpret_cast<const void*>(kernel),
                       absl::StrCat("gemm ", Name(p.dtype), " ", blk.mr, "x", blk.nr), ms,
                       b * (m * k + k * n + m * n) * item, 2 * b * m * n * k,
                       parallel ? static_cast<int>(std::min<size_t>(tasks.size(), threads)) : 1);
  }
  for (const absl::Status& s : status) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> GemmKernelText(DType dtype, GemmStage stage) {
  return MicroKernelText(dtype, static_cast<int>(stage));
}

}  // namespace ndjit::codegen
