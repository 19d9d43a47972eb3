// Programs: the scheduler's plans against the direct evaluation path (same
// kernels, same values), printing, the program cache, planning without
// allocating, and running over new arrays.
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ndjit/codegen/profile.h"
#include "ndjit/codegen/target.h"
#include "ndjit/engine/engine.h"
#include "ndjit/ir/program.h"
#include "ndjit/ndjit.h"
#include "test_util.h"

namespace ndjit {
namespace {

int VectorBytes() { return codegen::GetHostTarget().vector_bits / 8; }

std::vector<ir::NodePtr> Nodes(std::initializer_list<Array<>> roots) {
  std::vector<ir::NodePtr> out;
  for (const Array<>& r : roots) out.push_back(r.node());
  return out;
}

NDArray Data(Dims shape, DType t, uint32_t seed) {
  NDArray a = testing::Iota(shape, t);
  // Values in a range every dtype holds, varied by the seed.
  for (int64_t i = 0; i < a.size(); ++i) {
    const double v = static_cast<double>((i * 7 + seed * 13) % 23) / 4.0 - 2.0;
    EXPECT_TRUE(a.Reshape({a.size()})->SetItem<double>({i}, IsInteger(t) ? std::round(v) : v).ok());
  }
  return a;
}

struct Case {
  std::string name;
  std::vector<ir::NodePtr> roots;
};

std::vector<Case> Cases() {
  const Array<> a(Data({64, 300}, DType::kFloat32, 1)), b(Data({64, 300}, DType::kFloat32, 2)),
      c(Data({64, 300}, DType::kFloat32, 3));
  const Array<> x(Data({700}, DType::kFloat32, 4)), y(Data({900}, DType::kFloat32, 5));
  const Array<> big(Data({300, 400}, DType::kFloat64, 6));
  const Array<> h(Data({50, 40}, DType::kFloat16, 7));
  const Array<> i(Data({33, 17}, DType::kInt32, 8));
  const Array<> f(*Data({40, 30}, DType::kFloat32, 9).Copy(Order::kF));
  const Array<> e = exp(a - max(a, 1, true));
  const Array<> d = x.index({Slice{}, NewAxis{}}) - y.index({NewAxis{}, Slice{}});
  Generator g(7);
  const Array<> u = g.random({5000}, DType::kFloat32);
  const Array<> p(Data({64, 48}, DType::kFloat32, 10)), q(Data({48, 80}, DType::kFloat32, 11));
  const Array<> bias(Data({80}, DType::kFloat32, 12));
  const Array<> p3(Data({3, 20, 30}, DType::kFloat64, 13)),
      q3(Data({3, 30, 10}, DType::kFloat64, 14));
  std::vector<Case> cases = {
      {"W2", Nodes({2 * a + 3 * b * c - a / (b + 1)})},
      {"W4", Nodes({sum(exp(-(d * d)))})},
      {"W5dot", Nodes({sum(a * b)})},
      {"W5rowmax", Nodes({max(a, 1)})},
      {"W6softmax", Nodes({e / sum(e, 1, true)})},
      {"siblings", Nodes({sum(a * a, 1), max(a, 1), min(a + 1.0f, 1)})},
      {"chunked", Nodes({sum(big * big, 0)})},
      {"var", Nodes({var(big, 1)})},
      {"float16 sum", Nodes({sum(h, 0)})},
      {"int", Nodes({sum(i * i, 1) + max(i, 1)})},
      {"bool", Nodes({any(a > 1.0f, 0)})},
      {"transposed", Nodes({a.T() + a.T() * 2.0f})},
      {"F order", Nodes({sqrt(abs(f)) + 1.0f})},
      {"random", Nodes({sum(u < 0.5f)})},
      {"reduction root", Nodes({sum(a, 1, true)})},
      {"leaf root", Nodes({a})},
      {"matmul", Nodes({matmul(p, q)})},
      {"gemm epilogue", Nodes({maximum(matmul(p, q) + bias, 0.0f)})},
      {"gemm epilogue of another dtype", Nodes({matmul(p, q) > bias})},
      {"gemm of expressions, then a sum", Nodes({sum(matmul(p * 2.0f, exp(q)), 1)})},
      {"gemm of a reduction", Nodes({matmul(p - max(p, 0, true), q)})},
      {"batched gemm", Nodes({matmul(p3, q3) * 2.0})},
      {"transposed gemm", Nodes({matmul(q.T(), p.T()) + 1.0f})},
  };
  return cases;
}

// Kernel launches per compiled kernel (the profiler's rows) while `run` runs.
std::map<std::string, int64_t> Launches(const std::function<void()>& run) {
  codegen::ResetProfile();
  codegen::SetProfiling(true);
  run();
  codegen::SetProfiling(false);
  std::map<std::string, int64_t> out;
  for (const codegen::KernelProfile& row : codegen::GetProfile()) {
    if (row.calls > 0) out[row.name] += row.calls;
  }
  return out;
}

// The reference evaluator's values of `roots`.
std::vector<NDArray> Reference(absl::Span<const ir::NodePtr> roots) {
  absl::StatusOr<std::vector<NDArray>> v = engine::EvaluateReference(roots);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : std::vector<NDArray>{};
}

// Within float32's rounding of a few operations (float16: its own), or of
// `tol` (relative, absolute below 1).
void ExpectClose(const NDArray& got, const NDArray& want, const std::string& what, double tol = 0) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  if (tol == 0) tol = got.dtype() == DType::kFloat16 ? 1e-2 : 1e-4;
  const std::vector<double> g = testing::Values(got), w = testing::Values(want);
  for (size_t k = 0; k < g.size(); ++k) {
    if (!std::isfinite(w[k])) {
      EXPECT_TRUE(g[k] == w[k] || (std::isnan(g[k]) && std::isnan(w[k])))
          << what << " element " << k << ": " << g[k] << " vs " << w[k];
      continue;
    }
    ASSERT_NEAR(g[k], w[k], tol * std::max(1.0, std::abs(w[k]))) << what << " element " << k;
  }
}

// Bit-for-bit: the two paths run the same kernels over the same data.
void ExpectSameBits(const NDArray& x, const NDArray& y, const std::string& what) {
  ASSERT_EQ(x.dtype(), y.dtype()) << what;
  ASSERT_EQ(x.shape(), y.shape()) << what;
  const NDArray cx = *AsContiguousArray(x), cy = *AsContiguousArray(y);
  EXPECT_EQ(std::string(cx.data(), cx.nbytes()), std::string(cy.data(), cy.nbytes())) << what;
}

TEST(ProgramTest, ValuesAreTheReferenceEvaluatorsAndEveryCallLaunchesOnce) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<ir::Program> p = engine::Schedule(c.roots);
    ASSERT_TRUE(p.ok()) << p.status();
    absl::StatusOr<std::vector<NDArray>> engine;
    const std::map<std::string, int64_t> launches =
        Launches([&] { engine = engine::Evaluate(c.roots); });
    ASSERT_TRUE(engine.ok()) << engine.status();
    EXPECT_FALSE(launches.empty());
    int64_t calls = 0, launched = 0;
    for (const ir::Step& s : p->steps) {
      calls += s.kind == ir::Step::kGemm;
      for (const ir::KernelCall& k : s.calls) calls += !k.empty;
    }
    for (const auto& [name, n] : launches) launched += n;
    // Epilogues run once per block, so only GEMM-free Programs count exactly.
    bool epilogues = false;
    for (const ir::Step& s : p->steps) epilogues |= s.gemm.has_epilogue;
    if (!epilogues) {
      EXPECT_EQ(launched, calls);
    }
    const std::vector<NDArray> want = Reference(c.roots);
    ASSERT_EQ(engine->size(), want.size());
    for (size_t k = 0; k < want.size(); ++k) {
      ExpectClose((*engine)[k], want[k], c.name + " root " + std::to_string(k));
    }
  }
}

TEST(ProgramTest, PlanningAllocatesNothing) {
  const Array<> a(Data({1000, 1000}, DType::kFloat32, 1));
  const Array<> e = exp(a - max(a, 1, true));
  const std::vector<ir::NodePtr> roots = Nodes({e / sum(e, 1, true), sum(a * a)});
  const PoolStats before = GetPoolStats();
  absl::StatusOr<ir::Program> p = ir::Schedule({roots[0]}, VectorBytes());
  absl::StatusOr<ir::Program> q = ir::Schedule({roots[1]}, VectorBytes());
  const PoolStats after = GetPoolStats();
  ASSERT_TRUE(p.ok() && q.ok());
  EXPECT_EQ(after.bytes_in_use, before.bytes_in_use);
  EXPECT_EQ(after.cache_hits + after.cache_misses, before.cache_hits + before.cache_misses);
  EXPECT_GE(p->steps.size(), 3u);
}

TEST(ProgramTest, SoftmaxPrintsItsSlotsAndSteps) {
  const Array<> a(Data({64, 300}, DType::kFloat32, 1));
  const Array<> e = exp(a - max(a, 1, true));
  absl::StatusOr<ir::Program> p = ir::Schedule(Nodes({e / sum(e, 1, true)}), 64);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(ir::PrintProgram(*p),
            "slots:\n"
            "  in0 f32[64,300] strides (1200,4) input, last read by step 2\n"
            "  t1 f32[1,64] C temp, written by step 0, last read by step 2\n"
            "  t2 f64[1,64] C temp, written by step 1, last read by step 1\n"
            "  t3 f32[64] C temp, written by step 1, last read by step 2\n"
            "  out4 f32[64,300] C output, written by step 2, last read by step end\n"
            "steps:\n"
            "  step 0: reduce max over (1) f32[64,1]\n"
            "    kernel [64,300] x64: out0=t1 in0=in0; 0 ops\n"
            "    fold t1 by maximum, slab 0 is the value\n"
            "  step 1: reduce sum over (1) f32[64,1]\n"
            "    kernel [64,300] x32: out0=t2 in0=in0 in1=t1; 2 ops\n"
            "    fold t2 by add, slab 0 cast into t3\n"
            "  step 2: kernel divide f32[64,300]\n"
            "    kernel [64,300] x16: out0=out4 in0=in0 in1=t1 in2=t3; 3 ops\n"
            "outputs: out4 as f32[64,300]\n"
            "intermediate bytes: 1024\n");
}

TEST(ProgramTest, ElementwisePrintsOneKernelWithScalarsBoundFromLeaves) {
  const Array<> a(Data({1000}, DType::kFloat32, 1)), b(Data({1000}, DType::kFloat32, 2)),
      c(Data({1000}, DType::kFloat32, 3));
  absl::StatusOr<ir::Program> p = ir::Schedule(Nodes({2 * a + 3 * b * c - a / (b + 1)}), 64);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(ir::PrintProgram(*p),
            "slots:\n"
            "  in0 f32[1000] strides (4) input, last read by step 0\n"
            "  in1 f32[1000] strides (4) input, last read by step 0\n"
            "  in2 f32[1000] strides (4) input, last read by step 0\n"
            "  out3 f32[1000] C output, written by step 0, last read by step end\n"
            "steps:\n"
            "  step 0: kernel subtract f32[1000]\n"
            "    kernel [1000] x16: out0=out3 in0=in0 in1=in1 in2=in2 scalars s0,s1,s2; 7 ops\n"
            "outputs: out3 as f32[1000]\n");
}

TEST(ProgramTest, W4PrintsOneReductionOverThePairs) {
  const Array<> x(Data({700}, DType::kFloat32, 4)), y(Data({900}, DType::kFloat32, 5));
  const Array<> d = x.index({Slice{}, NewAxis{}}) - y.index({NewAxis{}, Slice{}});
  absl::StatusOr<ir::Program> p = ir::Schedule(Nodes({sum(exp(-(d * d)))}), 64);
  ASSERT_TRUE(p.ok()) << p.status();
  // 900 columns in 9 chunks of 100, each folding into its own float64 slab.
  EXPECT_EQ(ir::PrintProgram(*p),
            "slots:\n"
            "  in0 f32[700,1] strides (4,0) input, last read by step 0\n"
            "  in1 f32[1,900] strides (0,4) input, last read by step 0\n"
            "  t2 f64[9] C temp, written by step 0, last read by step 0\n"
            "  t3 f32[] C temp, written by step 0, last read by step end\n"
            "steps:\n"
            "  step 0: reduce sum over (0,1) f32[1,1]\n"
            "    kernel [9,100,700] x32: out0=t2 in0=in0 in1=in1; 4 ops\n"
            "    fold t2 by add, slab 0 cast into t3\n"
            "outputs: t3 as f32[]\n"
            "intermediate bytes: 72\n");
}

TEST(ProgramTest, TheCacheServesEqualStructuresOverNewArrays) {
  engine::ClearProgramCache();
  auto softmax = [](const NDArray& m) {
    const Array<> a(m);
    const Array<> e = exp(a - max(a, 1, true));
    return e / sum(e, 1, true);
  };
  const NDArray m1 = Data({64, 64}, DType::kFloat32, 1), m2 = Data({64, 64}, DType::kFloat32, 2);
  const EvalStats s0 = GetEvalStats();
  const NDArray r1 = softmax(m1).array();
  const EvalStats s1 = GetEvalStats();
  EXPECT_EQ(s1.programs_planned - s0.programs_planned, 1);
  EXPECT_EQ(s1.programs_reused - s0.programs_reused, 0);
  const NDArray r2 = softmax(m2).array();  // new arrays, same layouts
  const EvalStats s2 = GetEvalStats();
  EXPECT_EQ(s2.programs_planned - s1.programs_planned, 0);
  EXPECT_EQ(s2.programs_reused - s1.programs_reused, 1);
  // The replayed Program computed m2's softmax, not m1's.
  Array<> want = softmax(m2);
  want.eval(Backend::kReference);
  const auto got = testing::Values(r2), ref = testing::Values(want.array());
  for (size_t k = 0; k < got.size(); ++k) ASSERT_NEAR(got[k], ref[k], 1e-6) << k;
  EXPECT_NE(testing::Values(r1), got);
  // Other scalar values, the same Program, bound to the new values.
  const Array<> a(m1);
  const EvalStats s3 = GetEvalStats();
  const NDArray cubed = power(a + 1.0f, 3.0f).array();
  const NDArray fourth = power(a + 1.0f, 4.0f).array();
  EXPECT_EQ(GetEvalStats().programs_planned - s3.programs_planned, 1);
  const auto in = testing::Values(m1), got4 = testing::Values(fourth);
  for (size_t k = 0; k < in.size(); ++k) {
    ASSERT_NEAR(got4[k], std::pow(in[k] + 1.0, 4.0), 1e-5 * std::pow(in[k] + 1.0, 4.0)) << k;
  }
  EXPECT_NE(testing::Values(cubed), got4);
  // A value simplification turns into another op is another structure:
  // x ** 2 is square(x).
  (void)power(a + 1.0f, 2.0f).array();
  EXPECT_EQ(GetEvalStats().programs_planned - s3.programs_planned, 2);
  // Another shape, another Program.
  const EvalStats s4 = GetEvalStats();
  (void)softmax(Data({64, 65}, DType::kFloat32, 1)).array();
  EXPECT_EQ(GetEvalStats().programs_planned - s4.programs_planned, 1);
  EXPECT_GE(engine::ProgramCacheSize(), 2);
  engine::ClearProgramCache();
  EXPECT_EQ(engine::ProgramCacheSize(), 0);
}

TEST(ProgramTest, RunChecksWhatItIsGiven) {
  const Array<> a(Data({8, 8}, DType::kFloat32, 1));
  absl::StatusOr<ir::Program> p = ir::Schedule(Nodes({a + 1.0f}), VectorBytes());
  ASSERT_TRUE(p.ok());
  const NDArray other = Data({8, 9}, DType::kFloat32, 1);
  const ir::ScalarValue one{1, 1.0};
  absl::StatusOr<std::vector<NDArray>> r = engine::Run(*p, {other}, {one});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("program takes f32[8,8]"), std::string::npos) << r.status();
  r = engine::Run(*p, {}, {});
  EXPECT_NE(r.status().message().find("takes 1 arrays and 1 scalars, not 0 and 0"),
            std::string::npos)
      << r.status();
  // Rebound scalars: the same Program adds 5.
  const ir::ScalarValue five{5, 5.0};
  r = engine::Run(*p, {a.array()}, {five});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].Item<float>({2, 3}).value(), a.array().Item<float>({2, 3}).value() + 5);
}

TEST(ProgramTest, OutArraysAreWrittenByTheLastKernel) {
  const Array<> a(Data({64, 300}, DType::kFloat32, 1));
  const Array<> e = exp(a - max(a, 1, true));
  const std::vector<ir::NodePtr> roots = Nodes({e / sum(e, 1, true), a * 2.0f});
  const NDArray out0 = *NDArray::Zeros({64, 300}, DType::kFloat32);
  const NDArray out1 = NDArray::Zeros({300, 64}, DType::kFloat32)->T();  // F order
  absl::StatusOr<ir::Program> p = ir::Schedule(roots, VectorBytes(), {out0, out1});
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->given.size(), 2u);
  EXPECT_NE(ir::PrintProgram(*p).find(" out= array, written by step 2"), std::string::npos)
      << ir::PrintProgram(*p);
  const NDArray want0 = *NDArray::Zeros({64, 300}, DType::kFloat32);
  const NDArray want1 = NDArray::Zeros({300, 64}, DType::kFloat32)->T();
  // The same Program without out=: the same kernels, into fresh arrays.
  absl::StatusOr<std::vector<NDArray>> fresh = engine::Evaluate(roots);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  ASSERT_TRUE(CopyTo(want0, (*fresh)[0]).ok() && CopyTo(want1, (*fresh)[1]).ok());
  const EvalStats before = GetEvalStats();
  absl::StatusOr<std::vector<NDArray>> r = engine::Evaluate(roots, {out0, out1});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].data(), out0.data());
  ExpectSameBits(out0, want0, "softmax into out");
  ExpectSameBits(out1, want1, "a * 2 into an F-ordered out");
  // The public out= takes the same path.
  const NDArray out2 = *NDArray::Zeros({64, 300}, DType::kFloat32);
  Array<>(roots[0]).eval_into(out2);
  ExpectSameBits(out2, want0, "eval_into");
  EXPECT_GE(GetEvalStats().programs_planned + GetEvalStats().programs_reused,
            before.programs_planned + before.programs_reused + 2);
  // A Program for out= arrays takes only arrays of their layouts.
  const ir::ScalarValue two{2, 2.0};
  absl::StatusOr<std::vector<NDArray>> bad = engine::Run(*p, {a.array()}, {two}, {out1, out0});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("out array 0"), std::string::npos) << bad.status();
}

TEST(ProgramTest, ContractionOperandsThatDoNotMergeByAViewAreCopiedFirst) {
  // j and k cannot merge into one GEMM dim by a view of the transpose.
  const Array<> a = Array<>(Data({32, 40, 48}, DType::kFloat32, 1)).transpose({0, 2, 1});
  const Array<> b(Data({48, 40, 32}, DType::kFloat32, 2));
  const Array<> c = einsum("ijk,jkl->il", {a, b});
  absl::StatusOr<ir::Program> p = ir::Schedule(Nodes({c}), VectorBytes());
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->steps.size(), 2u);
  EXPECT_EQ(p->steps[0].kind, ir::Step::kKernel);  // the copy
  EXPECT_EQ(p->steps[1].kind, ir::Step::kGemm);
  EXPECT_EQ(p->slots[p->steps[0].calls[0].operands[1].slot].home, ir::SlotHome::kInput);
  // Sums of 1920 float32 products.
  ExpectClose(c.array(), Reference(Nodes({c}))[0], "contraction", 1e-3);
}

TEST(ProgramTest, CopiedOperandsOfOneBufferReadTheirOwnLeaf) {
  const NDArray x = Data({32, 40, 48}, DType::kFloat32, 1);
  const Array<> a = Array<>(x).transpose({0, 2, 1}), b = Array<>(x).transpose({2, 1, 0});
  const Array<> c = einsum("ijk,jkl->il", {a, b});
  absl::StatusOr<ir::Program> p = ir::Schedule(Nodes({c}), VectorBytes());
  ASSERT_TRUE(p.ok()) << p.status();
  // Sums of 1920 float32 products.
  ExpectClose(c.array(), Reference(Nodes({c}))[0], "contraction", 1e-3);
}

TEST(ProgramTest, ComplexReductionsRunOnTheReferenceEvaluator) {
  const Array<> a(*Data({16, 24}, DType::kFloat32, 1).AsType(DType::kComplex64));
  const Array<> r = abs(sum(a * a, 0) + 1.0f) - sum(real(mean(a, 1, true)));
  absl::StatusOr<ir::Program> p = ir::Schedule(Nodes({r}), 64, {}, codegen::Lowers);
  ASSERT_TRUE(p.ok()) << p.status();
  int references = 0;
  for (const ir::Step& s : p->steps) references += s.kind == ir::Step::kReference;
  EXPECT_EQ(references, 2) << ir::PrintProgram(*p);
  // A cached Program keeps the reference steps' graphs, over no array.
  const EvalStats before = GetEvalStats();
  absl::StatusOr<std::vector<NDArray>> got = engine::Evaluate(Nodes({r}));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(GetEvalStats().fallbacks - before.fallbacks, 2);
  ExpectClose((*got)[0], Reference(Nodes({r}))[0], "complex reductions");
}

TEST(ProgramTest, GemmWithEpiloguePrintsOneKernelForEveryBlock) {
  const Array<> a(Data({64, 48}, DType::kFloat32, 1)), b(Data({48, 80}, DType::kFloat32, 2));
  const Array<> bias(Data({80}, DType::kFloat32, 3));
  absl::StatusOr<ir::Program> p = ir::Schedule(Nodes({maximum(matmul(a, b) + bias, 0.0f)}), 64);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(ir::PrintProgram(*p),
            "slots:\n"
            "  in0 f32[64,48] strides (192,4) input, last read by step 0\n"
            "  in1 f32[48,80] strides (320,4) input, last read by step 0\n"
            "  in2 f32[80] strides (4) input, last read by step 0\n"
            "  t3 f32[64,80] C temp, written by step 0, last read by step end\n"
            "steps:\n"
            "  step 0: gemm contract ab,bc->ac f32[64,80]; maximum f32[64,80]\n"
            "    gemm f32 batch 1 m 64 n 80 k 48: c=t3 a=in0 b=in1\n"
            "    per block of c:\n"
            "    kernel [64,80] x16: out0=t3 in0=t3 in1=in2 scalars s0; 2 ops\n"
            "outputs: t3 as f32[64,80]\n");
}

// A streamed standardisation: one pass folds the column sums into an
// accumulator, the mean is computed once, a second pass writes the rows.
TEST(ProgramTest, StreamedReductionPrintsItsChunkLoops) {
  const std::string path = ::testing::TempDir() + "ndjit_program_stream.npy";
  ASSERT_TRUE(SaveNpy(path, Data({1000, 3}, DType::kFloat64, 1)).ok());
  const NDArray mapped = *OpenNpyMemmap(path, MmapMode::kReadOnly);
  std::remove(path.c_str());  // the mapping keeps the file
  const Array<> x(mapped);
  const std::vector<ir::NodePtr> roots = Nodes({x - mean(x, Axis(0), true)});
  // 24000 bytes in chunks of at most 7000: 291 rows a chunk, 4 chunks.
  const PoolStats before = GetPoolStats();
  absl::StatusOr<std::optional<ir::Program>> p = ir::ScheduleStreamed(roots, {}, 7000, 64);
  ASSERT_TRUE(p.ok()) << p.status();
  const PoolStats after = GetPoolStats();
  EXPECT_EQ(after.cache_hits + after.cache_misses, before.cache_hits + before.cache_misses)
      << "planning allocates nothing";
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ(ir::PrintProgram(**p),
            "slots:\n"
            "  in0 f64[1000,3] strides (24,8) input, last read by step 2\n"
            "  t1 f64[1,3] C temp, written by step 0, last read by step 1\n"
            "  t2 f64[1,3] C temp, written by step 1, last read by step 2\n"
            "  out3 f64[1000,3] C output, written by step 2, last read by step end\n"
            "steps:\n"
            "  step 0: chunk loop sum over (0) f64[1,3]\n"
            "    1000 rows, 291 a chunk (4 chunks, the last of 127 rows); in0 mapped ahead; in0 "
            "dropped behind\n"
            "    t1 starts at add's identity\n"
            "    part 0: in0=t1 in1=in0[rows along 0] given2=t1\n"
            "      | slots:\n"
            "      |   in0 f64[1,3] strides (24,8) input, last read by step -\n"
            "      |   in1 f64[291,3] strides (24,8) input, last read by step 0\n"
            "      |   given2 f64[1,3] C out= array, written by step 1, last read by step end\n"
            "      |   t3 f64[1,3] C temp, written by step 0, last read by step 1\n"
            "      | steps:\n"
            "      |   step 0: reduce sum over (0) f64[1,3]\n"
            "      |     kernel [291,3] x16: out0=t3 in0=in1; 0 ops\n"
            "      |     fold t3 by add, slab 0 is the value\n"
            "      |   step 1: kernel add f64[1,3]\n"
            "      |     kernel [3] x8: out0=given2 in0=given2 in1=t3; 1 ops\n"
            "      | outputs: given2 as f64[1,3]\n"
            "      | intermediate bytes: 24\n"
            "    part 0, last chunk: the same over 127 rows\n"
            "  step 1: once divide f64[1,3]\n"
            "    part 0: in0=t1 given1=t2 s0=s0\n"
            "      | slots:\n"
            "      |   in0 f64[1,3] strides (24,8) input, last read by step 0\n"
            "      |   given1 f64[1,3] C out= array, written by step 0, last read by step end\n"
            "      | steps:\n"
            "      |   step 0: kernel divide f64[1,3]\n"
            "      |     kernel [3] x8: out0=given1 in0=in0 scalars s0; 1 ops\n"
            "      | outputs: given1 as f64[1,3]\n"
            "  step 2: chunk loop subtract f64[1000,3]\n"
            "    1000 rows, 291 a chunk (4 chunks, the last of 127 rows); in0 mapped ahead; "
            "in0,out3 dropped behind\n"
            "    part 0: in0=in0[rows along 0] in1=t2 given2=out3[rows along 0]\n"
            "      | slots:\n"
            "      |   in0 f64[291,3] strides (24,8) input, last read by step 0\n"
            "      |   in1 f64[1,3] strides (24,8) input, last read by step 0\n"
            "      |   given2 f64[291,3] C out= array, written by step 0, last read by step end\n"
            "      | steps:\n"
            "      |   step 0: kernel subtract f64[291,3]\n"
            "      |     kernel [291,3] x8: out0=given2 in0=in0 in1=in1; 1 ops\n"
            "      | outputs: given2 as f64[291,3]\n"
            "    part 0, last chunk: the same over 127 rows\n"
            "outputs: out3 as f64[1000,3]\n");
  // Under the budget: not streamed.
  p = ir::ScheduleStreamed(roots, {}, 24000, 64);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->has_value());
}

// NumPy's arrays start 16 bytes past a 64-byte boundary: a kernel reading
// only such arrays writes its fresh outputs at the same offset (one more
// launch for the first 48 bytes), so its loads and stores cover whole lines.
TEST(ProgramTest, OutputsFollowTheInputsOffsetFromALine) {
  const int64_t n = 100000;  // 400 KB a float32 array: worth the extra launch
  auto shifted = [&](uint32_t seed, int64_t shift) {
    const NDArray src = Data({n}, DType::kFloat32, seed);
    BufferPtr block = *Buffer::Allocate(n * 4 + 64);
    NDArray a = *NDArray::FromBuffer(block, shift, DType::kFloat32, {n}, {4});
    EXPECT_TRUE(CopyTo(a, src).ok());
    return a;
  };
  for (int64_t shift : {16, 4, 0}) {
    const Array<> a(shifted(1, shift)), b(shifted(2, shift)), c(shifted(3, shift));
    const Array<> e = tanh(a) * exp(-b * b) + sqrt(abs(c));
    const EvalStats before = GetEvalStats();
    absl::StatusOr<std::vector<NDArray>> got = engine::Evaluate(Nodes({e}));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(GetEvalStats().kernels_run - before.kernels_run, 1);
    // Only where the first partial line is less than one vector (AVX-512:
    // always; AVX2 hosts: shifts past half a line).
    const int64_t lanes = codegen::GetHostTarget().vector_bits / 32;
    const int64_t want = (64 - shift) / 4 < lanes ? shift : 0;
    EXPECT_EQ(reinterpret_cast<uintptr_t>((*got)[0].data()) % 64, static_cast<uintptr_t>(want));
    ExpectClose((*got)[0], Reference(Nodes({e}))[0], "shifted inputs", 1e-5);
  }
  // Inputs at different offsets: no shift helps all, the output is aligned.
  const Array<> a(shifted(1, 16)), b(shifted(2, 32));
  absl::StatusOr<std::vector<NDArray>> got = engine::Evaluate(Nodes({a * b + 1.0f}));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(reinterpret_cast<uintptr_t>((*got)[0].data()) % 64, 0u);
  ExpectClose((*got)[0], Reference(Nodes({a * b + 1.0f}))[0], "mixed offsets");
}

}  // namespace
}  // namespace ndjit
