// Row blocks in cache (ir::ScheduleBlocked): evaluations whose reductions
// keep the rows and are read back over them run every pass over one block
// of rows before the next. With a small block budget, values must be the
// same bits as the unblocked Program's, at 1 and 2 threads, with blocks that
// do not divide the rows, operands broadcast over the blocks, streaming
// stores (rows on 64-byte boundaries) and out= targets; graphs that do not
// qualify must plan no blocks.
#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "ndjit/engine/engine.h"
#include "ndjit/ndjit.h"
#include "ndjit/runtime/thread_pool.h"

namespace ndjit {
namespace {

// The block budget (and thread count) for one scope; restores both after.
struct Blocks {
  Blocks(int64_t bytes, int threads) : old(CacheBlockBytes()) {
    SetCacheBlockBytes(bytes);
    SetNumThreads(threads);
  }
  ~Blocks() {
    SetCacheBlockBytes(old);
    SetNumThreads(0);
  }
  int64_t old;
};

NDArray Values(Dims shape, uint64_t seed, DType t) {
  Generator g(seed);
  return (g.random(shape, t) * 6.0 - 2.0).astype(t).array();
}

// A fresh copy: a leaf no earlier evaluation has a value for.
NDArray Copy(const NDArray& a) { return ValueOrThrow(a.AsType(a.dtype())); }

Array<> Standardise(const Array<>& x) {
  const Array<> c = x - mean(x, 1, true);
  return c / sqrt(mean(c * c, 1, true) + 1e-5);
}

// Layer norm with its scale and shift: rows broadcast over the blocks.
Array<> LayerNorm(const Array<>& x, const Array<>& gamma, const Array<>& beta) {
  return Standardise(x) * gamma + beta;
}

bool SameBits(const NDArray& a, const NDArray& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.IsCContiguous() &&
         b.IsCContiguous() && std::memcmp(a.data(), b.data(), a.nbytes()) == 0;
}

// The kinds of chunk loop the Program for `root` has (engine::Schedule).
bool PlansBlocks(const Array<>& root) {
  const ir::Program p = ValueOrThrow(engine::Schedule({root.node()}));
  for (const ir::Step& s : p.steps) {
    if (s.kind == ir::Step::kChunkLoop && s.loop->extent > 0 &&
        s.loop->blocks == ir::ChunkLoop::Blocks::kCache) {
      return true;
    }
  }
  return false;
}

constexpr int64_t kBlock = 8 << 10;

TEST(BlocksTest, StandardisedRowsAreTheUnblockedBits) {
  // 257 columns: rows of 1028 (float32) or 2056 bytes, no block starts on a
  // 64-byte boundary; 512 x 256 float32: every block does (streaming stores).
  struct Case {
    Shape shape;
    DType dtype;
  };
  for (const Case& c : {Case{{300, 257}, DType::kFloat32}, Case{{300, 257}, DType::kFloat64},
                        Case{{512, 256}, DType::kFloat32}}) {
    const NDArray x = Values(c.shape, 1, c.dtype);
    NDArray want;
    {
      Blocks off(0, 1);
      const Array<> r = Standardise(Array<>(Copy(x)));
      EXPECT_FALSE(PlansBlocks(r));
      want = r.array();
    }
    for (int threads : {1, 2}) {
      Blocks on(kBlock, threads);
      const Array<> r = Standardise(Array<>(Copy(x)));
      EXPECT_TRUE(PlansBlocks(r)) << Name(c.dtype) << " " << threads << "T";
      EXPECT_TRUE(SameBits(r.array(), want)) << Name(c.dtype) << " " << threads << "T";
    }
  }
}

// Softmax: the sum's pass keeps exp(x - max) in the block for the output
// pass, which then only divides.
TEST(BlocksTest, SoftmaxKeepsItsExpInTheBlock) {
  const NDArray x = Values({300, 256}, 5, DType::kFloat32);
  auto softmax = [&] {
    const Array<> a(Copy(x));
    const Array<> e = exp(a - max(a, 1, true));
    return e / sum(e, 1, true);
  };
  NDArray want;
  {
    Blocks off(0, 1);
    want = softmax().array();
  }
  for (int threads : {1, 2}) {
    Blocks on(kBlock, threads);
    const Array<> r = softmax();
    EXPECT_TRUE(PlansBlocks(r)) << threads << "T";
    const std::string text = ir::PrintProgram(ValueOrThrow(engine::Schedule({r.node()})));
    EXPECT_NE(text.find("kernel [4,256] x16: out0=given1 in0=t3 in1=t5; 1 ops"), std::string::npos)
        << text;
    EXPECT_TRUE(SameBits(r.array(), want)) << threads << "T";
  }
}

// A cached blocked Program holds its parts' kernels: running it again over
// new arrays asks the JIT's cache for none, however many blocks launch.
TEST(BlocksTest, ACachedProgramLaunchesItsPartsWithoutTheJitCache) {
  Blocks on(kBlock, 2);
  const NDArray x = Values({300, 256}, 9, DType::kFloat32);
  const NDArray first = Standardise(Array<>(Copy(x))).array();
  const codegen::CompileStats before = codegen::GetCompileStats();
  const Array<> again = Standardise(Array<>(Copy(x)));
  EXPECT_TRUE(PlansBlocks(again));
  const codegen::CompileStats planned = codegen::GetCompileStats();
  const NDArray second = again.array();
  const codegen::CompileStats after = codegen::GetCompileStats();
  EXPECT_EQ(after.kernels_compiled, before.kernels_compiled);
  EXPECT_EQ(after.cache_hits, planned.cache_hits);
  EXPECT_TRUE(SameBits(second, first));
}

TEST(BlocksTest, LayerNormWithBroadcastRowsAndIntoOut) {
  const NDArray x = Values({400, 128}, 2, DType::kFloat32);
  const NDArray gamma = Values({128}, 3, DType::kFloat32), beta = Values({128}, 4, DType::kFloat32);
  NDArray want;
  {
    Blocks off(0, 1);
    want = LayerNorm(Array<>(Copy(x)), Array<>(gamma), Array<>(beta)).array();
  }
  Blocks on(kBlock, 2);
  const Array<> r = LayerNorm(Array<>(Copy(x)), Array<>(gamma), Array<>(beta));
  EXPECT_TRUE(PlansBlocks(r));
  EXPECT_TRUE(SameBits(r.array(), want));
  // out=: the caller's array is written block by block.
  NDArray out = ValueOrThrow(NDArray::Zeros({400, 128}, DType::kFloat32));
  LayerNorm(Array<>(Copy(x)), Array<>(gamma), Array<>(beta)).eval_into(out);
  EXPECT_TRUE(SameBits(out, want));
}

TEST(BlocksTest, GraphsThatGainNothingPlanNoBlocks) {
  Blocks on(kBlock, 1);
  const Array<> x(Values({300, 256}, 5, DType::kFloat32));
  // A reduction over the rows' axis: no block is complete by itself.
  EXPECT_FALSE(PlansBlocks(x - mean(x, 0, true)));
  // No reduction read back: one pass already.
  EXPECT_FALSE(PlansBlocks(x * 2.0f + 1.0f));
  EXPECT_FALSE(PlansBlocks(sum(x * x, 1)));
  // The transpose beside y: its blocks would be columns of y.
  const Array<> y(Values({300, 300}, 8, DType::kFloat32));
  EXPECT_TRUE(PlansBlocks(y - mean(y, 1, true)));
  EXPECT_FALSE(PlansBlocks(y - mean(y.T(), 1, true)));
  // Small arrays: four blocks or fewer.
  const Array<> small(Values({16, 64}, 6, DType::kFloat32));
  EXPECT_FALSE(PlansBlocks(Standardise(small)));
}

TEST(BlocksTest, TheProgramShowsTheBlocks) {
  Blocks on(kBlock, 1);
  const Array<> x(Values({300, 257}, 7, DType::kFloat32));
  const ir::Program p = ValueOrThrow(engine::Schedule({Standardise(x).node()}));
  const std::string text = ir::PrintProgram(p);
  EXPECT_NE(text.find("300 rows, 3 a chunk (100 chunks); each block stays in cache"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("mapped ahead"), std::string::npos) << text;
}

}  // namespace
}  // namespace ndjit
