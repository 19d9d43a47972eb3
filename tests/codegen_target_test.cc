#include "ndjit/codegen/target.h"

#include "gtest/gtest.h"

namespace ndjit::codegen {
namespace {

TEST(HostTarget, DescribesThisMachine) {
  const HostTarget& t = GetHostTarget();
  EXPECT_EQ(&t, &GetHostTarget());  // detected once
  EXPECT_FALSE(t.cpu.empty());
  EXPECT_TRUE(std::is_sorted(t.features.begin(), t.features.end()));
#if defined(__x86_64__)
  EXPECT_EQ(t.triple.rfind("x86_64", 0), 0u) << t.triple;
  EXPECT_TRUE(t.Has("sse2"));
#endif
  // What the compiler of this test was told about the CPU must hold at run time.
#if defined(__AVX512F__)
  EXPECT_EQ(t.vector_bits, 512);
#elif defined(__AVX2__)
  EXPECT_GE(t.vector_bits, 256);
#endif
  EXPECT_EQ(t.vector_bits, t.Has("avx512f") ? 512 : (t.Has("avx") ? 256 : 128));
  EXPECT_NE(t.Describe().find(t.cpu), std::string::npos);
  EXPECT_FALSE(t.Has("no-such-feature"));
}

}  // namespace
}  // namespace ndjit::codegen
