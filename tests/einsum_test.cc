// einsum and the contractions built on it: random valid subscripts (ellipsis,
// repeated labels, size-1 broadcasting, implicit and explicit outputs, 1-4
// operands) against a plain loop over every label written here, in float32,
// float64 and int64; matmul/tensordot/dot/inner/outer/vdot/trace/multi_dot
// against the same loop; path choices for textbook chains; error texts.
#include <cmath>
#include <map>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "ndjit/ndjit.h"
#include "test_util.h"

namespace ndjit {
namespace {

using testing::Values;

NDArray Random(DType t, Dims shape, std::mt19937& rng) {
  std::uniform_int_distribution<int> small(-3, 3);
  std::uniform_real_distribution<double> uni(-1, 1);
  NDArray a = *NDArray::Empty(shape, DType::kFloat64);
  double* p = reinterpret_cast<double*>(a.data());
  for (int64_t i = 0; i < a.size(); ++i) p[i] = IsFloating(t) ? uni(rng) : small(rng);
  return *a.AsType(t, Casting::kUnsafe);
}

// The definition, subscripts in explicit form with letters only: every
// output element sums, over every value of the other letters, the product
// of the operands' elements.
std::vector<double> NaiveEinsum(const std::vector<std::string>& terms, const std::string& out,
                                const std::vector<NDArray>& ops,
                                std::map<char, int64_t> /*unused*/) {
  // Each letter's extent is the broadcast of the operands' (size 1 stretches).
  std::map<char, int64_t> ext;
  for (size_t o = 0; o < ops.size(); ++o) {
    for (size_t d = 0; d < terms[o].size(); ++d) {
      ext[terms[o][d]] = std::max(ext[terms[o][d]], ops[o].shape()[d]);
    }
  }
  std::string letters = out;
  for (const std::string& t : terms) {
    for (char c : t) {
      if (letters.find(c) == std::string::npos) letters += c;
    }
  }
  std::vector<std::vector<double>> vals;
  for (const NDArray& a : ops) vals.push_back(Values<double>(a));
  int64_t out_size = 1;
  for (char c : out) out_size *= ext[c];
  std::vector<double> result(out_size, 0);
  std::map<char, int64_t> at;
  std::function<void(size_t)> loop = [&](size_t li) {
    if (li == letters.size()) {
      double prod = 1;
      for (size_t o = 0; o < ops.size(); ++o) {
        int64_t flat = 0;
        for (size_t d = 0; d < terms[o].size(); ++d) {
          // A size-1 dim broadcasts: index 0.
          const int64_t i = ops[o].shape()[d] == 1 ? 0 : at[terms[o][d]];
          flat = flat * ops[o].shape()[d] + i;
        }
        prod *= vals[o][flat];
      }
      int64_t flat = 0;
      for (char c : out) flat = flat * ext[c] + at[c];
      result[flat] += prod;
      return;
    }
    for (at[letters[li]] = 0; at[letters[li]] < ext[letters[li]]; ++at[letters[li]]) loop(li + 1);
  };
  loop(0);
  return result;
}

void ExpectClose(const std::vector<double>& got, const std::vector<double>& want, DType t,
                 const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const double tol = t == DType::kFloat32 ? 1e-4 : t == DType::kFloat64 ? 1e-11 : 0;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], tol * (1 + std::abs(want[i]))) << what << " at " << i;
  }
}

TEST(EinsumTest, RandomSubscriptsMatchTheDefinition) {
  std::mt19937 rng(1234);
  const std::string pool = "abcdefg";
  const std::string bcast = "xyz";  // letters the ellipsis stands for
  int checked = 0;
  for (int trial = 0; trial < 160; ++trial) {
    const DType t = std::array{DType::kFloat32, DType::kFloat64, DType::kInt64}[trial % 3];
    std::map<char, int64_t> ext;
    for (char c : pool + bcast) ext[c] = 1 + static_cast<int64_t>(rng() % 4);
    if (trial % 5 == 0) ext['a'] = 9, ext['b'] = 10, ext['c'] = 11;  // GEMM-sized
    const int nops = 1 + static_cast<int>(rng() % 4);
    const int nbcast = static_cast<int>(rng() % 3);
    const bool use_ellipsis = rng() % 2 == 0;
    std::vector<std::string> written, expanded;
    std::vector<NDArray> ops;
    for (int o = 0; o < nops; ++o) {
      std::string term;
      const int nlet = 1 + static_cast<int>(rng() % 3);
      for (int k = 0; k < nlet; ++k) term += pool[rng() % (trial % 5 == 0 ? 3 : pool.size())];
      // Right-aligned broadcast dims: this operand has the last `mine`.
      const int mine = use_ellipsis ? static_cast<int>(rng() % (nbcast + 1)) : 0;
      std::string tail = bcast.substr(nbcast - mine, mine);
      const size_t pos = rng() % (term.size() + 1);
      written.push_back(use_ellipsis ? term.substr(0, pos) + "..." + term.substr(pos) : term);
      expanded.push_back(term.substr(0, pos) + tail + term.substr(pos));
      Shape shape;
      for (char c : expanded.back()) {
        // Some broadcast dims are 1 in this operand.
        shape.push_back(bcast.find(c) != std::string::npos && rng() % 3 == 0 ? 1 : ext[c]);
      }
      ops.push_back(Random(t, shape, rng));
    }
    const std::string ell = bcast.substr(0, nbcast);
    std::string all;
    for (const std::string& e : expanded) all += e;
    // The ellipsis covers as many dims as the widest operand's, right-aligned.
    int widest = 0;
    for (const std::string& e : expanded) {
      int n = 0;
      for (char c : e) n += bcast.find(c) != std::string::npos;
      widest = std::max(widest, n);
    }
    const std::string used_ell = ell.substr(ell.size() - widest);
    std::string subscripts;
    for (int o = 0; o < nops; ++o) subscripts += (o ? "," : "") + written[o];
    std::string full = subscripts, out_expanded;
    if (rng() % 2 == 0) {
      // Implicit: broadcast dims, then the letters used once, sorted.
      out_expanded = used_ell;
      for (char c : pool) {
        if (std::count(all.begin(), all.end(), c) == 1) out_expanded += c;
      }
    } else {
      // Explicit: a random subset of the letters in random order, and the
      // ellipsis somewhere (NumPy requires it when it covers any dim).
      std::string out_written;
      for (char c : pool) {
        if (all.find(c) != std::string::npos && rng() % 2 == 0) out_written += c;
      }
      std::shuffle(out_written.begin(), out_written.end(), rng);
      out_expanded = out_written;
      if (use_ellipsis && (widest > 0 || rng() % 2 == 0)) {
        const size_t pos = rng() % (out_written.size() + 1);
        out_written = out_written.substr(0, pos) + "..." + out_written.substr(pos);
        out_expanded = out_expanded.substr(0, pos) + used_ell + out_expanded.substr(pos);
      }
      full += "->" + out_written;
    }
    SCOPED_TRACE(full + " dtype " + std::string(Name(t)));
    std::vector<Array<>> arrays;
    for (const NDArray& a : ops) arrays.push_back(Array<>(a));
    Array<> r = einsum(full, arrays);
    const std::vector<double> want = NaiveEinsum(expanded, out_expanded, ops, ext);
    ASSERT_EQ(r.size(), static_cast<int64_t>(want.size()));
    ExpectClose(Values<double>(r.array()), want, t, full);
    ++checked;
  }
  EXPECT_EQ(checked, 160);
}

TEST(EinsumTest, ClassicForms) {
  std::mt19937 rng(7);
  NDArray m = Random(DType::kFloat64, {4, 4}, rng);
  NDArray v = Random(DType::kFloat64, {4}, rng);
  NDArray t3 = Random(DType::kFloat64, {4, 4, 3}, rng);
  const Array<> M(m), V(v), T(t3);
  std::map<char, int64_t> ext = {{'i', 4}, {'j', 4}, {'k', 3}};
  ExpectClose(Values<double>(einsum("ii->i", {M}).array()), NaiveEinsum({"ii"}, "i", {m}, ext),
              DType::kFloat64, "diag");
  ExpectClose(Values<double>(einsum("ii", {M}).array()), NaiveEinsum({"ii"}, "", {m}, ext),
              DType::kFloat64, "trace");
  ExpectClose(Values<double>(einsum("iij->j", {T}).array()), NaiveEinsum({"iik"}, "k", {t3}, ext),
              DType::kFloat64, "iij->j");
  ExpectClose(Values<double>(einsum("ij,j", {M, V}).array()),
              NaiveEinsum({"ij", "j"}, "i", {m, v}, ext), DType::kFloat64, "matvec");
  ExpectClose(Values<double>(einsum("i,j->ij", {V, V}).array()),
              NaiveEinsum({"i", "j"}, "ij", {v, v}, ext), DType::kFloat64, "outer");
  ExpectClose(Values<double>(einsum("ij,kl->ijkl", {M, M}).array()),
              NaiveEinsum({"ij", "kl"}, "ijkl", {m, m}, {{'i', 4}, {'j', 4}, {'k', 4}, {'l', 4}}),
              DType::kFloat64, "ab,cd->abcd");
  // Transpose and the identity are views of the operand.
  EXPECT_EQ(einsum("ij->ji", {M}).array().data(), m.data());
}

// The GEMM path: large enough float32 operands go to the JIT GEMM, with
// transposed operands read in place, and agree with the fused path.
TEST(EinsumTest, ContractionsUseTheGemm) {
  std::mt19937 rng(3);
  NDArray a = Random(DType::kFloat32, {64, 48}, rng), b = Random(DType::kFloat32, {48, 80}, rng);
  const EvalStats before = GetEvalStats();
  Array<> c = matmul(Array<>(a), Array<>(b));
  NDArray got = c.array();
  EXPECT_EQ(GetEvalStats().gemms_run, before.gemms_run + 1);
  ExpectClose(Values<double>(got),
              NaiveEinsum({"ik", "kj"}, "ij", {a, b}, {{'i', 64}, {'k', 48}, {'j', 80}}),
              DType::kFloat32, "matmul");
  // A.T @ B.T through views.
  NDArray at = *a.Transpose(), bt = *b.Transpose();
  ExpectClose(Values<double>(matmul(Array<>(bt), Array<>(at)).array()),
              NaiveEinsum({"kj", "ik"}, "ji", {b, a}, {{'i', 64}, {'k', 48}, {'j', 80}}),
              DType::kFloat32, "transposed");
  // Elementwise work on both sides of the contraction.
  Array<> prod = matmul(exp(Array<>(a) * 0.5f), Array<>(b));
  Array<> e = maximum(prod + 1.0f, 0.0f);
  NDArray ea = *Array<>(exp(Array<>(a) * 0.5f)).array().Copy();
  std::vector<double> want =
      NaiveEinsum({"ik", "kj"}, "ij", {ea, b}, {{'i', 64}, {'k', 48}, {'j', 80}});
  for (double& w : want) w = std::max(w + 1.0, 0.0);
  const EvalStats pre = GetEvalStats();
  ExpectClose(Values<double>(e.array()), want, DType::kFloat32, "epilogue");
  // The maximum and the add ran on blocks of C inside the GEMM, in place.
  const EvalStats post = GetEvalStats();
  EXPECT_EQ(post.gemms_run, pre.gemms_run + 1);
  EXPECT_GE(post.fused_epilogues, pre.fused_epilogues + 1);
  EXPECT_EQ(post.intermediate_bytes - pre.intermediate_bytes, 64 * 48 * 4)
      << "only exp(a*0.5), the GEMM's input, is an intermediate";
  // A bias row and a dtype change: the epilogue writes a fresh float64 array.
  NDArray bias = Random(DType::kFloat32, {80}, rng);
  Array<> f = (prod + Array<>(bias)).astype(DType::kFloat64);
  std::vector<double> fwant =
      NaiveEinsum({"ik", "kj"}, "ij", {ea, b}, {{'i', 64}, {'k', 48}, {'j', 80}});
  const std::vector<double> bv = Values<double>(bias);
  for (size_t i = 0; i < fwant.size(); ++i) fwant[i] += bv[i % 80];
  NDArray fv = f.array();
  EXPECT_EQ(fv.dtype(), DType::kFloat64);
  ExpectClose(Values<double>(fv), fwant, DType::kFloat32, "bias epilogue");
  // Into a preallocated target.
  NDArray target = *NDArray::Zeros({64, 80}, DType::kFloat32);
  const int64_t epilogues = GetEvalStats().fused_epilogues;
  Array<> again = matmul(exp(Array<>(a) * 0.5f), Array<>(b));  // e itself holds its value now
  maximum(again + 1.0f, 0.0f).eval_into(target);
  EXPECT_GT(GetEvalStats().fused_epilogues, epilogues);
  ExpectClose(Values<double>(target), want, DType::kFloat32, "eval_into");
  // A bare product into out=: the GEMM writes there, no intermediate.
  NDArray direct = *NDArray::Zeros({64, 80}, DType::kFloat32);
  const int64_t bytes = GetEvalStats().intermediate_bytes;
  matmul(Array<>(ea), Array<>(b)).eval_into(direct);
  EXPECT_EQ(GetEvalStats().intermediate_bytes, bytes);
  ExpectClose(Values<double>(direct),
              NaiveEinsum({"ik", "kj"}, "ij", {ea, b}, {{'i', 64}, {'k', 48}, {'j', 80}}),
              DType::kFloat32, "direct");
  // out= overlapping an operand goes through a temporary.
  NDArray sq = Random(DType::kFloat32, {40, 40}, rng);
  const NDArray sq0 = *sq.Copy();
  matmul(Array<>(sq), Array<>(sq)).eval_into(sq);
  ExpectClose(Values<double>(sq),
              NaiveEinsum({"ik", "kj"}, "ij", {sq0, sq0}, {{'i', 40}, {'k', 40}, {'j', 40}}),
              DType::kFloat32, "aliased");
}

TEST(EinsumTest, MatmulFollowsNumPysRules) {
  std::mt19937 rng(5);
  NDArray a = Random(DType::kFloat64, {2, 1, 3, 4}, rng),
          b = Random(DType::kFloat64, {5, 4, 6}, rng);
  Array<> c = matmul(Array<>(a), Array<>(b));
  EXPECT_EQ(Shape(c.shape().begin(), c.shape().end()), (Shape{2, 5, 3, 6}));
  NDArray v = Random(DType::kFloat64, {4}, rng);
  const Array<> vb = matmul(Array<>(v), Array<>(b));
  EXPECT_EQ(Shape(vb.shape().begin(), vb.shape().end()), (Shape{5, 6}));
  EXPECT_EQ(matmul(Array<>(a), Array<>(v)).ndim(), 3);
  EXPECT_EQ(matmul(Array<>(v), Array<>(v)).ndim(), 0);
  NDArray a0 = *a.Index({IndexItem(0), IndexItem(0)});  // 3 x 4
  NDArray b0 = *b.Index({IndexItem(1)});                // 4 x 6
  ExpectClose(Values<double>(*c.array().Index({IndexItem(0), IndexItem(1)})),
              NaiveEinsum({"ik", "kj"}, "ij", {a0, b0}, {{'i', 3}, {'k', 4}, {'j', 6}}),
              DType::kFloat64, "batch entry");
  try {
    matmul(Array<>(b), Array<>(a));
    FAIL() << "core mismatch accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("matmul: Input operand 1 has a mismatch in its core "
                                         "dimension 0"),
              std::string::npos)
        << e.what();
  }
}

TEST(EinsumTest, DotFamily) {
  std::mt19937 rng(11);
  NDArray a = Random(DType::kInt64, {3, 4}, rng), b = Random(DType::kInt64, {4, 5}, rng);
  NDArray v = Random(DType::kInt64, {4}, rng), w = Random(DType::kInt64, {4}, rng);
  std::map<char, int64_t> ext = {{'i', 3}, {'k', 4}, {'j', 5}, {'l', 4}};
  ExpectClose(Values<double>(dot(Array<>(a), Array<>(b)).array()),
              NaiveEinsum({"ik", "kj"}, "ij", {a, b}, ext), DType::kInt64, "dot");
  ExpectClose(Values<double>(dot(Array<>(a), Array<>(v)).array()),
              NaiveEinsum({"ik", "k"}, "i", {a, v}, ext), DType::kInt64, "dot matvec");
  ExpectClose(Values<double>(inner(Array<>(a), Array<>(v)).array()),
              NaiveEinsum({"ik", "k"}, "i", {a, v}, ext), DType::kInt64, "inner");
  ExpectClose(Values<double>(outer(Array<>(v), Array<>(w)).array()),
              NaiveEinsum({"k", "l"}, "kl", {v, w}, ext), DType::kInt64, "outer");
  EXPECT_EQ(vdot(Array<>(v), Array<>(w)).item<int64_t>(),
            static_cast<int64_t>(NaiveEinsum({"k", "k"}, "", {v, w}, ext)[0]));
  NDArray sq = Random(DType::kInt64, {4, 4}, rng);
  EXPECT_EQ(trace(Array<>(sq)).item<int64_t>(),
            static_cast<int64_t>(NaiveEinsum({"kk"}, "", {sq}, ext)[0]));
  EXPECT_EQ(trace(Array<>(sq), 1).item<int64_t>(),
            Values<int64_t>(sq)[1] + Values<int64_t>(sq)[6] + Values<int64_t>(sq)[11]);
  NDArray t1 = Random(DType::kInt64, {3, 4, 5}, rng), t2 = Random(DType::kInt64, {4, 5, 2}, rng);
  ExpectClose(Values<double>(tensordot(Array<>(t1), Array<>(t2), 2).array()),
              NaiveEinsum({"ikj", "kjm"}, "im", {t1, t2}, {{'i', 3}, {'k', 4}, {'j', 5}, {'m', 2}}),
              DType::kInt64, "tensordot 2");
  ExpectClose(Values<double>(tensordot(Array<>(t1), Array<>(t2), {1}, {0}).array()),
              NaiveEinsum({"ikj", "knm"}, "ijnm", {t1, t2},
                          {{'i', 3}, {'k', 4}, {'j', 5}, {'n', 5}, {'m', 2}}),
              DType::kInt64, "tensordot pairs");
}

TEST(EinsumTest, PathsForTextbookChains) {
  // CLRS 15.2: the optimal order costs 15125 multiplications.
  const ChainOrder clrs = MatrixChainOrder({30, 35, 15, 5, 10, 20, 25});
  EXPECT_EQ(clrs.cost, 15125);
  EXPECT_EQ(clrs.ToString(), "((A0 (A1 A2)) ((A3 A4) A5))");
  // (10x100)(100x5)(5x50): (AB)C costs 7500, A(BC) 75000.
  EXPECT_EQ(MatrixChainOrder({10, 100, 5, 50}).ToString(), "((A0 A1) A2)");
  std::mt19937 rng(2);
  Array<> A(Random(DType::kFloat32, {10, 100}, rng)), B(Random(DType::kFloat32, {100, 5}, rng)),
      C(Random(DType::kFloat32, {5, 50}, rng));
  EinsumPath p = einsum_path("ij,jk,kl->il", {A, B, C});
  ASSERT_EQ(p.steps.size(), 2u);
  EXPECT_EQ(p.steps[0].i, 0);
  EXPECT_EQ(p.steps[0].j, 1);
  EXPECT_EQ(LabelString(p.steps[0].out), "ik");
  EXPECT_NE(p.ToString().find("ij,jk,kl->il"), std::string::npos) << p.ToString();
  // The other association: B C first.
  Array<> A2(Random(DType::kFloat32, {50, 5}, rng)), B2(Random(DType::kFloat32, {5, 100}, rng)),
      C2(Random(DType::kFloat32, {100, 10}, rng));
  EinsumPath q = einsum_path("ij,jk,kl->il", {A2, B2, C2});
  EXPECT_EQ(q.steps[0].i, 1);
  EXPECT_EQ(q.steps[0].j, 2);
  // Greedy and optimal agree on a chain; optimal never costs more.
  const std::vector<Array<>> four = {A, B, C, Array<>(Random(DType::kFloat32, {50, 7}, rng))};
  EinsumPath opt = einsum_path("ij,jk,kl,lm->im", four, PathStrategy::kOptimal);
  EinsumPath greedy = einsum_path("ij,jk,kl,lm->im", four, PathStrategy::kGreedy);
  EXPECT_LE(opt.seconds, greedy.seconds * (1 + 1e-9));
  EXPECT_LT(opt.flops, opt.naive_flops);
  // multi_dot takes the optimal order, and its value is the chain's.
  Array<> md = multi_dot({A, B, C});
  ExpectClose(Values<double>(md.array()), Values<double>(matmul(matmul(A, B), C).array()),
              DType::kFloat32, "multi_dot");
}

TEST(EinsumTest, BadSubscriptsNameTheOperandAndTheSubscript) {
  Array<> m(*NDArray::Zeros({3, 4}, DType::kFloat32));
  Array<> v(*NDArray::Zeros({5}, DType::kFloat32));
  const testing::ErrorCases cases = {
      {[&] { einsum("ij,jk", {m}); }, "fewer operands provided"},
      {[&] {
         einsum("ij", {m, m});
       },
       "more operands provided"},
      {[&] { einsum("i1", {v}); }, "invalid subscript '1' in operand 0"},
      {[&] { einsum("ijk", {m}); }, "operand 0 ('ijk') has 3 subscripts but 2 dimensions"},
      {[&] { einsum("i", {m}); }, "operand 0 ('i') has 2 dimensions but 1 subscripts"},
      {[&] { einsum("ij->k", {m}); }, "output subscript 'k' never appeared in an input"},
      {[&] { einsum("ij->ii", {m}); }, "output subscript 'i' appears more than once"},
      {[&] { einsum("ii", {m}); },
       "dimensions in operand 0 for collapsing index 'i' don't match (3 != 4)"},
      {[&] {
         einsum("ij,j", {m, v});
       },
       "subscript 'j' has size 4 in operand 0 but 5 in operand 1"},
      {[&] { einsum("i.j", {m}); }, "'.' that is not part of an ellipsis"},
      {[&] { einsum("...j->j", {m}); }, "no '...' ellipsis provided to broadcast"},
      {[&] { einsum("i->j->k", {v}); }, "proper '->'"},
      {[&] { matmul(m, m); }, "matmul: Input operand 1 has a mismatch"},
      {[&] { tensordot(m, v, 1); }, "tensordot: shape-mismatch for sum"},
      {[&] { multi_dot({m}); }, "Expecting at least two arrays"},
  };
  testing::ExpectEachThrows<Error>(cases);
}

}  // namespace
}  // namespace ndjit
