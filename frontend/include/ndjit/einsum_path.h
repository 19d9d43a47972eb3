// Contraction order for einsum and multi_dot: which pair of operands to
// contract first, then next, chosen by an estimate of time on this machine.
//
// A pairwise contraction either runs as a GEMM (float32/float64 with all of
// M, N and K at least kGemmMinExtent: the JIT GEMM's rate) or as one fused
// multiply-and-sum kernel over the pair's whole index space (a vector FMA
// rate, or memory bandwidth when that is slower). Intermediates larger than
// the memory limit (default: the largest operand or result, NumPy's rule)
// are not considered.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "ndjit/runtime/dtype.h"

namespace ndjit {

enum class PathStrategy {
  kAuto,     // optimal up to kOptimalMaxOperands operands, greedy above
  kOptimal,  // dynamic programming over subsets: the best binary tree
  kGreedy,   // repeatedly the cheapest pair
  kNone,     // left to right, as written
};
inline constexpr int kOptimalMaxOperands = 6;
inline constexpr int64_t kGemmMinExtent = 8;

// One operand's (or intermediate's) labels. Labels are small ints: 0-25 are
// 'a'-'z', 26-51 'A'-'Z', larger ones the dimensions an ellipsis stands for.
using Labels = std::vector<int>;
using Extents = absl::flat_hash_map<int, int64_t>;

struct PathStep {
  int i = 0, j = 0;   // positions in the current operand list (i < j)
  Labels a, b, out;   // the pair's labels and the intermediate's
  bool gemm = false;  // lowered to the JIT GEMM (else a fused kernel)
  double flops = 0;
  double seconds = 0;  // the estimate the choice was made on
};

struct EinsumPath {
  std::vector<PathStep> steps;  // the result of a step goes to the list's end
  double naive_flops = 0;       // one loop nest over every label
  double flops = 0;
  double seconds = 0;
  int64_t largest_intermediate = 0;  // elements
  std::string subscripts;            // the whole contraction, "ij,jk,kl->il"
  std::string ToString() const;      // a table, like NumPy's einsum_path
};

// Labels (and their extents) of each operand after diagonals and sums over
// labels private to one operand; `output` the result's labels. A label may
// appear in any number of operands.
EinsumPath PlanContraction(const std::vector<Labels>& operands, const Labels& output,
                           const Extents& extents, DType dtype,
                           PathStrategy strategy = PathStrategy::kAuto, int64_t memory_limit = -1);

// The labels' letters ("ij").
std::string LabelString(const Labels& labels);

// The optimal multiplication order of a matrix chain with dimensions
// dims[0] x dims[1], dims[1] x dims[2], ...: split[i][j] is where the
// product of matrices i..j splits, cost the scalar multiplications.
struct ChainOrder {
  std::vector<std::vector<int>> split;
  double cost = 0;
  std::string ToString() const;  // "((A0 A1) A2)"
};
ChainOrder MatrixChainOrder(const std::vector<int64_t>& dims);

}  // namespace ndjit
