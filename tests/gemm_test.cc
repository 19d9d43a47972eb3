// The GEMM driver and its JIT micro-kernel against a plain triple loop, over
// edge sizes (every remainder of the micro-tile and the cache blocks),
// transposed, gapped, negative and zero strides, batches, and k = 0.
#include "ndjit/codegen/gemm.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "ndjit/runtime/thread_pool.h"

namespace ndjit::codegen {
namespace {

struct Layout {
  bool a_transposed = false;  // A stored k-major
  bool b_transposed = false;  // B stored n-major
  int64_t gap = 1;            // element step between neighbours of the inner dim
};

template <typename T>
void CheckGemm(int64_t batch, int64_t m, int64_t n, int64_t k, Layout lay) {
  SCOPED_TRACE(testing::Message() << "batch " << batch << " m " << m << " n " << n << " k " << k
                                  << " aT " << lay.a_transposed << " bT " << lay.b_transposed
                                  << " gap " << lay.gap);
  std::mt19937 rng(static_cast<unsigned>(m * 131 + n * 7 + k));
  std::uniform_real_distribution<double> dist(-1, 1);
  const int64_t g = lay.gap;
  std::vector<T> a(batch * m * k * g + 1), b(batch * k * n * g + 1);
  for (T& v : a) v = static_cast<T>(dist(rng));
  for (T& v : b) v = static_cast<T>(dist(rng));
  const int64_t s = sizeof(T);
  GemmProblem p;
  p.dtype = sizeof(T) == 4 ? DType::kFloat32 : DType::kFloat64;
  p.batch = batch;
  p.m = m;
  p.n = n;
  p.k = k;
  p.a = reinterpret_cast<const char*>(a.data());
  p.a_batch = m * k * g * s;
  p.a_m = lay.a_transposed ? g * s : k * g * s;
  p.a_k = lay.a_transposed ? m * g * s : g * s;
  p.b = reinterpret_cast<const char*>(b.data());
  p.b_batch = k * n * g * s;
  p.b_k = lay.b_transposed ? g * s : n * g * s;
  p.b_n = lay.b_transposed ? k * g * s : g * s;
  std::vector<T> c(batch * m * n, T(-7));
  p.c = reinterpret_cast<char*>(c.data());
  p.c_batch = m * n * s;
  p.c_m = n * s;
  p.c_n = s;
  std::vector<int> covered(c.size(), 0);
  ASSERT_TRUE(RunGemm(p, [&](const GemmBlock& blk) {
                for (int64_t i = blk.m0; i < blk.m1; ++i) {
                  for (int64_t j = blk.n0; j < blk.n1; ++j) ++covered[(blk.batch * m + i) * n + j];
                }
                return absl::OkStatus();
              }).ok());
  auto elem = [](const std::vector<T>& v, int64_t off) {
    return static_cast<double>(v[off / sizeof(T)]);
  };
  for (int64_t bi = 0; bi < batch; ++bi) {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double want = 0, mag = 0;
        for (int64_t kk = 0; kk < k; ++kk) {
          const double x = elem(a, bi * p.a_batch + i * p.a_m + kk * p.a_k) *
                           elem(b, bi * p.b_batch + kk * p.b_k + j * p.b_n);
          want += x;
          mag += std::abs(x);
        }
        const double got = c[(bi * m + i) * n + j];
        const double tol = (sizeof(T) == 4 ? 1e-6 : 1e-14) * (mag + 1) * 4;
        ASSERT_NEAR(got, want, tol) << "at " << bi << "," << i << "," << j;
        ASSERT_EQ(covered[(bi * m + i) * n + j], 1) << "epilogue blocks must partition C";
      }
    }
  }
}

TEST(Gemm, EdgesOfTheMicroTileAndBlocks) {
  const GemmBlocking blk = GetGemmBlocking(DType::kFloat32);
  for (int64_t m : {int64_t{1}, int64_t{blk.mr - 1}, int64_t{blk.mr + 1}, int64_t{blk.mc + 5}}) {
    for (int64_t n : {int64_t{1}, int64_t{blk.nr + 3}, int64_t{blk.nc + 17}}) {
      for (int64_t k : {int64_t{1}, int64_t{7}, int64_t{blk.kc + 9}}) {
        CheckGemm<float>(1, m, n, k, {});
      }
    }
  }
}

TEST(Gemm, Float64) {
  CheckGemm<double>(1, 37, 45, 300, {});
  CheckGemm<double>(2, 13, 17, 5, {true, true, 1});
}

TEST(Gemm, TransposedAndGappedOperandsArePackedInPlace) {
  for (bool at : {false, true}) {
    for (bool bt : {false, true}) {
      for (int64_t gap : {1, 3}) CheckGemm<float>(1, 29, 70, 33, {at, bt, gap});
    }
  }
}

TEST(Gemm, BatchesAndThreads) {
  for (int threads : {1, 2, 3}) {
    SetNumThreads(threads);
    CheckGemm<float>(3, 50, 40, 30, {});
    CheckGemm<float>(1, 300, 200, 100, {});
  }
  SetNumThreads(DefaultNumThreads());
}

// Parts start on micro-tile boundaries and every element is summed in one
// order: the result is bit-identical for any thread count, whether the
// threads split rows (m >= n) or columns (m < n).
TEST(Gemm, ThreadCountDoesNotChangeTheBits) {
  for (auto [m, n] : {std::pair<int64_t, int64_t>{301, 200}, {20, 700}}) {
    const int64_t k = 333;
    std::mt19937 rng(9);
    std::uniform_real_distribution<float> dist(-1, 1);
    std::vector<float> a(m * k), b(k * n);
    for (float& v : a) v = dist(rng);
    for (float& v : b) v = dist(rng);
    std::vector<std::vector<float>> results;
    for (int threads : {1, 2, 3}) {
      SetNumThreads(threads);
      std::vector<float> c(m * n);
      GemmProblem p;
      p.m = m;
      p.n = n;
      p.k = k;
      p.a = reinterpret_cast<const char*>(a.data());
      p.a_m = k * 4;
      p.a_k = 4;
      p.b = reinterpret_cast<const char*>(b.data());
      p.b_k = n * 4;
      p.b_n = 4;
      p.c = reinterpret_cast<char*>(c.data());
      p.c_m = n * 4;
      p.c_n = 4;
      ASSERT_TRUE(RunGemm(p).ok());
      results.push_back(c);
    }
    SetNumThreads(DefaultNumThreads());
    EXPECT_EQ(results[0], results[1]) << m << "x" << n;
    EXPECT_EQ(results[0], results[2]) << m << "x" << n;
    CheckGemm<float>(1, m, n, k, {});
  }
}

TEST(Gemm, EmptyContractionIsZero) { CheckGemm<float>(1, 5, 6, 0, {}); }

TEST(Gemm, BroadcastBatchAndNegativeStrides) {
  std::vector<float> a = {1, 2, 3, 4}, b = {5, 6, 7, 8};
  std::vector<float> c(8, 0);
  GemmProblem p;
  p.batch = 2;
  p.m = p.n = p.k = 2;
  // A reversed in both dims, shared by both batch entries.
  p.a = reinterpret_cast<const char*>(a.data() + 3);
  p.a_m = -8;
  p.a_k = -4;
  p.b = reinterpret_cast<const char*>(b.data());
  p.b_batch = 0;
  p.b_k = 8;
  p.b_n = 4;
  p.c = reinterpret_cast<char*>(c.data());
  p.c_batch = 16;
  p.c_m = 8;
  p.c_n = 4;
  ASSERT_TRUE(RunGemm(p).ok());
  // A = [[4,3],[2,1]], B = [[5,6],[7,8]].
  const std::vector<float> want = {41, 48, 17, 20, 41, 48, 17, 20};
  EXPECT_EQ(c, want);
}

TEST(Gemm, ErrorsNameTheProblem) {
  GemmProblem p;
  p.dtype = DType::kInt64;
  absl::Status s = RunGemm(p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("int64"), std::string::npos) << s;
  p.dtype = DType::kFloat32;
  p.m = -1;
  EXPECT_NE(std::string(RunGemm(p).message()).find("m -1"), std::string::npos);
}

TEST(Gemm, MicroKernelIsPrintable) {
  absl::StatusOr<std::string> ir = GemmKernelText(DType::kFloat32, GemmStage::kOptimizedLLVM);
  ASSERT_TRUE(ir.ok()) << ir.status();
  EXPECT_NE(ir->find("fma"), std::string::npos);
  absl::StatusOr<std::string> as = GemmKernelText(DType::kFloat64, GemmStage::kAssembly);
  ASSERT_TRUE(as.ok()) << as.status();
  EXPECT_NE(as->find("vfmadd"), std::string::npos);
}

}  // namespace
}  // namespace ndjit::codegen
