// Contraction-order search: an exhaustive dynamic program over subsets of
// operands for few operands, a greedy pairing for many, both minimising an
// estimate of seconds rather than FLOPs (a GEMM step and a fused
// multiply-and-sum of equal FLOPs differ by an order of magnitude here).
#include "ndjit/einsum_path.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ndjit/ir/graph.h"

namespace ndjit {
namespace {

// Rates measured on this project's reference machine (Zen 4, one thread):
// the JIT GEMM runs float32 at ~90 GFLOP/s (float64 half that); a fused
// multiply-and-sum kernel reaches ~20 GFLOP/s when compute-bound; memory
// moves at ~25 GB/s.
constexpr double kGemmFlops32 = 90e9;
constexpr double kFusedFlops = 20e9;
constexpr double kBandwidth = 25e9;

double SizeOf(const Labels& labels, const Extents& ext) {
  double s = 1;
  for (int l : labels) s *= static_cast<double>(ext.at(l));
  return s;
}

// Labels of the union of `a` and `b` that something outside the pair needs.
Labels PairResult(const Labels& a, const Labels& b, const std::vector<const Labels*>& others,
                  const Labels& output) {
  Labels out;
  for (const Labels* side : {&a, &b}) {
    for (int l : *side) {
      if (absl::c_linear_search(out, l)) continue;
      bool needed = absl::c_linear_search(output, l);
      for (const Labels* o : others) needed = needed || absl::c_linear_search(*o, l);
      if (needed) out.push_back(l);
    }
  }
  return out;
}

PathStep Estimate(const Labels& a, const Labels& b, const Labels& out, const Extents& ext,
                  DType dtype) {
  PathStep s;
  s.a = a;
  s.b = b;
  s.out = out;
  Labels all = a;
  for (int l : b) {
    if (!absl::c_linear_search(all, l)) all.push_back(l);
  }
  s.flops = 2 * SizeOf(all, ext);
  double m = 1, n = 1, k = 1;
  for (int l : all) {
    const double e = static_cast<double>(ext.at(l));
    const bool in_a = absl::c_linear_search(a, l), in_b = absl::c_linear_search(b, l),
               kept = absl::c_linear_search(out, l);
    if (in_a && in_b && !kept) k *= e;
    if (in_a && !in_b) m *= e;
    if (in_b && !in_a) n *= e;
  }
  const double item = static_cast<double>(ItemSize(dtype));
  const double bytes = (SizeOf(a, ext) + SizeOf(b, ext) + SizeOf(out, ext)) * item;
  s.gemm = (dtype == DType::kFloat32 || dtype == DType::kFloat64) && m >= kGemmMinExtent &&
           n >= kGemmMinExtent && k >= kGemmMinExtent;
  const double rate =
      s.gemm ? (dtype == DType::kFloat32 ? kGemmFlops32 : kGemmFlops32 / 2) : kFusedFlops;
  s.seconds = std::max(s.flops / rate, bytes / kBandwidth);
  return s;
}

// The best tree over every subset of operands (bit masks), smallest first.
struct Best {
  double seconds = std::numeric_limits<double>::infinity();
  unsigned left = 0;  // 0: a single operand
  Labels labels;
};

std::vector<PathStep> Optimal(const std::vector<Labels>& ops, const Labels& output,
                              const Extents& ext, DType dtype, double limit) {
  const int n = static_cast<int>(ops.size());
  const unsigned full = (1u << n) - 1;
  std::vector<Best> best(full + 1);
  auto labels_of = [&](unsigned set) {
    // Labels of the operands in `set` needed outside it.
    Labels out;
    for (int i = 0; i < n; ++i) {
      if (!(set >> i & 1)) continue;
      for (int l : ops[i]) {
        if (absl::c_linear_search(out, l)) continue;
        bool needed = absl::c_linear_search(output, l);
        for (int j = 0; j < n && !needed; ++j)
          needed = !(set >> j & 1) && absl::c_linear_search(ops[j], l);
        if (needed) out.push_back(l);
      }
    }
    return out;
  };
  for (int i = 0; i < n; ++i) {
    best[1u << i].seconds = 0;
    best[1u << i].labels = ops[i];
  }
  for (unsigned set = 1; set <= full; ++set) {
    if ((set & (set - 1)) == 0) continue;
    const Labels out = set == full ? output : labels_of(set);
    if (set != full && SizeOf(out, ext) > limit) continue;
    // Each split once: the left part holds the lowest operand of the set.
    const unsigned low = set & (~set + 1);
    for (unsigned left = (set - 1) & set; left != 0; left = (left - 1) & set) {
      if (!(left & low)) continue;
      const unsigned right = set ^ left;
      if (std::isinf(best[left].seconds) || std::isinf(best[right].seconds)) continue;
      const double t = best[left].seconds + best[right].seconds +
                       Estimate(best[left].labels, best[right].labels, out, ext, dtype).seconds;
      if (t < best[set].seconds) {
        best[set].seconds = t;
        best[set].left = left;
        best[set].labels = out;
      }
    }
  }
  if (std::isinf(best[full].seconds)) return {};
  // Post-order over the tree, tracking each subtree's position in the list.
  std::vector<unsigned> list;
  for (int i = 0; i < n; ++i) list.push_back(1u << i);
  std::vector<PathStep> steps;
  std::vector<std::pair<unsigned, bool>> order = {{full, false}};
  while (!order.empty()) {
    auto [set, expanded] = order.back();
    order.pop_back();
    if ((set & (set - 1)) == 0) continue;
    const unsigned left = best[set].left, right = set ^ left;
    if (!expanded) {
      order.push_back({set, true});
      order.push_back({right, false});
      order.push_back({left, false});
      continue;
    }
    int i = static_cast<int>(std::find(list.begin(), list.end(), left) - list.begin());
    int j = static_cast<int>(std::find(list.begin(), list.end(), right) - list.begin());
    if (i > j) std::swap(i, j);
    PathStep s = Estimate(best[list[i]].labels, best[list[j]].labels, best[set].labels, ext, dtype);
    s.i = i;
    s.j = j;
    steps.push_back(s);
    list.erase(list.begin() + j);
    list.erase(list.begin() + i);
    list.push_back(set);
  }
  return steps;
}

std::vector<PathStep> Greedy(std::vector<Labels> ops, const Labels& output, const Extents& ext,
                             DType dtype, double limit, bool in_order) {
  std::vector<PathStep> steps;
  while (ops.size() > 1) {
    PathStep chosen;
    double chosen_cost = std::numeric_limits<double>::infinity();
    const int n = static_cast<int>(ops.size());
    for (int i = 0; i < n; ++i) {
      for (int j = i + 1; j < n; ++j) {
        if (in_order && (i != 0 || j != 1)) continue;
        std::vector<const Labels*> others;
        for (int o = 0; o < n; ++o) {
          if (o != i && o != j) others.push_back(&ops[o]);
        }
        const Labels out = PairResult(ops[i], ops[j], others, output);
        const bool last = n == 2;
        const double size = SizeOf(out, ext);
        // Over the limit only when nothing else fits.
        const double penalty = !last && size > limit ? 1e9 : 0;
        PathStep s = Estimate(ops[i], ops[j], last ? output : out, ext, dtype);
        // Ties (equal time) go to the pair that shrinks the data most.
        const double cost =
            s.seconds + penalty + 1e-15 * (size - SizeOf(ops[i], ext) - SizeOf(ops[j], ext));
        if (cost < chosen_cost) {
          chosen_cost = cost;
          chosen = s;
          chosen.i = i;
          chosen.j = j;
        }
      }
    }
    steps.push_back(chosen);
    ops.erase(ops.begin() + chosen.j);
    ops.erase(ops.begin() + chosen.i);
    ops.push_back(chosen.out);
  }
  return steps;
}

}  // namespace

std::string LabelString(const Labels& labels) { return ir::LabelLetters(labels); }

EinsumPath PlanContraction(const std::vector<Labels>& operands, const Labels& output,
                           const Extents& extents, DType dtype, PathStrategy strategy,
                           int64_t memory_limit) {
  EinsumPath path;
  std::vector<std::string> parts;
  double limit = static_cast<double>(memory_limit);
  Labels all;
  for (const Labels& op : operands) {
    parts.push_back(LabelString(op));
    if (memory_limit < 0) limit = std::max(limit, SizeOf(op, extents));
    for (int l : op) {
      if (!absl::c_linear_search(all, l)) all.push_back(l);
    }
  }
  if (memory_limit < 0) limit = std::max(limit, SizeOf(output, extents));
  path.subscripts = absl::StrCat(absl::StrJoin(parts, ","), "->", LabelString(output));
  path.naive_flops =
      static_cast<double>(std::max<size_t>(operands.size(), 2) - 1) * SizeOf(all, extents) +
      SizeOf(all, extents);
  if (operands.size() < 2) return path;
  const int n = static_cast<int>(operands.size());
  if (strategy == PathStrategy::kAuto) {
    strategy = n <= kOptimalMaxOperands ? PathStrategy::kOptimal : PathStrategy::kGreedy;
  }
  if (strategy == PathStrategy::kOptimal && n <= 16) {
    path.steps = Optimal(operands, output, extents, dtype, limit);
    if (path.steps.empty()) {  // nothing fits the limit: lift it
      path.steps = Optimal(operands, output, extents, dtype, std::numeric_limits<double>::max());
    }
  } else {
    path.steps = Greedy(operands, output, extents, dtype, limit, strategy == PathStrategy::kNone);
  }
  for (size_t s = 0; s < path.steps.size(); ++s) {
    path.flops += path.steps[s].flops;
    path.seconds += path.steps[s].seconds;
    if (s + 1 < path.steps.size()) {
      path.largest_intermediate = std::max(
          path.largest_intermediate, static_cast<int64_t>(SizeOf(path.steps[s].out, extents)));
    }
  }
  return path;
}

std::string EinsumPath::ToString() const {
  std::string s = absl::StrFormat(
      "  Complete contraction:  %s\n"
      "      Naive FLOP count:  %.4g\n"
      "  Optimized FLOP count:  %.4g\n"
      "   Theoretical speedup:  %.4g\n"
      "  Largest intermediate:  %d elements\n"
      "   Estimated time (1T):  %.4g ms\n",
      subscripts, naive_flops, flops, flops > 0 ? naive_flops / flops : 1.0, largest_intermediate,
      seconds * 1e3);
  absl::StrAppend(&s, "step  pair    contraction                kernel  FLOPs       est. ms\n");
  for (size_t k = 0; k < steps.size(); ++k) {
    const PathStep& p = steps[k];
    absl::StrAppend(&s, absl::StrFormat("%-5d (%d,%d)   %-26s %-7s %-11.4g %.4g\n", k, p.i, p.j,
                                        absl::StrCat(LabelString(p.a), ",", LabelString(p.b), "->",
                                                     LabelString(p.out)),
                                        p.gemm ? "gemm" : "fused", p.flops, p.seconds * 1e3));
  }
  return s;
}

ChainOrder MatrixChainOrder(const std::vector<int64_t>& dims) {
  const int n = static_cast<int>(dims.size()) - 1;
  ChainOrder order;
  if (n < 1) return order;
  std::vector<std::vector<double>> cost(n, std::vector<double>(n, 0));
  order.split.assign(n, std::vector<int>(n, 0));
  for (int len = 2; len <= n; ++len) {
    for (int i = 0; i + len - 1 < n; ++i) {
      const int j = i + len - 1;
      cost[i][j] = std::numeric_limits<double>::infinity();
      for (int k = i; k < j; ++k) {
        const double c = cost[i][k] + cost[k + 1][j] +
                         static_cast<double>(dims[i]) * static_cast<double>(dims[k + 1]) *
                             static_cast<double>(dims[j + 1]);
        if (c < cost[i][j]) {
          cost[i][j] = c;
          order.split[i][j] = k;
        }
      }
    }
  }
  order.cost = cost[0][n - 1];
  return order;
}

std::string ChainOrder::ToString() const {
  const int n = static_cast<int>(split.size());
  std::function<std::string(int, int)> paren = [&](int i, int j) -> std::string {
    if (i == j) return absl::StrCat("A", i);
    const int k = split[i][j];
    return absl::StrCat("(", paren(i, k), " ", paren(k + 1, j), ")");
  };
  return n == 0 ? "" : paren(0, n - 1);
}

}  // namespace ndjit
