// The profiler: off it records nothing; on, every kernel launch and GEMM
// adds a call with its time, the bytes its operands span and its FLOPs.
#include "ndjit/codegen/profile.h"

#include "gtest/gtest.h"
#include "ndjit/ndjit.h"
#include "ndjit/runtime/thread_pool.h"

namespace ndjit {
namespace {

const codegen::KernelProfile* Find(const std::vector<codegen::KernelProfile>& rows,
                                   const std::string& part) {
  for (const codegen::KernelProfile& r : rows) {
    if (r.name.find(part) != std::string::npos) return &r;
  }
  return nullptr;
}

TEST(ProfileTest, CountsCallsBytesAndFlops) {
  codegen::ResetProfile();
  const NDArray x = *NDArray::Full({1 << 16}, DType::kFloat32, 1.5);
  Array<>(exp(Array<>(x)) * 2.0f).eval();  // off: nothing recorded
  EXPECT_TRUE(codegen::GetProfile().empty());
  codegen::SetProfiling(true);
  for (int i = 0; i < 3; ++i) Array<>(exp(Array<>(x)) * 3.0f).eval();
  const NDArray a = *NDArray::Full({64, 96}, DType::kFloat32, 1),
                b = *NDArray::Full({96, 80}, DType::kFloat32, 1);
  matmul(Array<>(a), Array<>(b)).eval();
  codegen::SetProfiling(false);
  const std::vector<codegen::KernelProfile> rows = codegen::GetProfile();
  const codegen::KernelProfile* k = Find(rows, "exp multiply -> f32");
  ASSERT_NE(k, nullptr) << codegen::ProfileReport(rows);
  EXPECT_EQ(k->calls, 3);
  EXPECT_EQ(k->bytes, 3.0 * 2 * 4 * (1 << 16));  // read x, write the result
  EXPECT_EQ(k->flops, 3.0 * 2 * (1 << 16));      // exp and multiply
  EXPECT_GT(k->run_ms, 0);
  EXPECT_GE(k->threads, 1);
  EXPECT_LE(k->threads, GetNumThreads());
  const codegen::KernelProfile* g = Find(rows, "gemm float32");
  ASSERT_NE(g, nullptr) << codegen::ProfileReport(rows);
  EXPECT_EQ(g->calls, 1);
  EXPECT_EQ(g->flops, 2.0 * 64 * 80 * 96);
  EXPECT_EQ(g->bytes, 4.0 * (64 * 96 + 96 * 80 + 64 * 80));
  const std::string report = codegen::ProfileReport(rows);
  EXPECT_NE(report.find("GFLOP/s"), std::string::npos);
  EXPECT_NE(report.find("gemm float32"), std::string::npos);
  codegen::ResetProfile();
  EXPECT_TRUE(codegen::GetProfile().empty());
}

}  // namespace
}  // namespace ndjit
