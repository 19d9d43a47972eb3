// einsum: the subscripts grammar, then per operand its diagonals, broadcast
// size-1 dims and private sums, then pairwise contractions in the order the
// path search chose. Each pairwise step is either a contraction node (the
// JIT GEMM) or a multiply and a sum that fuse with the kernels around them.
#include "einsum.h"

#include <algorithm>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ndjit/linalg.h"

namespace ndjit {
namespace internal {
namespace {

constexpr int kEllipsisBase = 52;

[[noreturn]] void Fail(const std::string& text) { throw Error(absl::InvalidArgumentError(text)); }

std::string Spell(int l) {
  if (l >= kEllipsisBase) return absl::StrCat("... dimension ", l - kEllipsisBase);
  return LabelString({l});
}

int64_t Extent(const Array<>& a, const Labels& labels, int l) {
  return a.shape()[std::find(labels.begin(), labels.end(), l) - labels.begin()];
}

// `x` (dims labelled `lx`, no repeats) with its dims in the order of `full`
// and size-1 dims for the labels it lacks: ready to broadcast.
Array<> Align(const Array<>& x, const Labels& lx, const Labels& full) {
  Shape perm;
  Shape missing;
  for (size_t i = 0; i < full.size(); ++i) {
    auto it = std::find(lx.begin(), lx.end(), full[i]);
    if (it == lx.end()) {
      missing.push_back(static_cast<int64_t>(i));
    } else {
      perm.push_back(it - lx.begin());
    }
  }
  // Views of a contraction's value would compute it at once: skip the
  // identity ones so the result stays lazy (and its epilogue can fuse).
  bool identity = true;
  for (size_t d = 0; d < perm.size(); ++d) identity &= perm[d] == static_cast<int64_t>(d);
  Array<> t = identity ? x : x.transpose(perm);
  return missing.empty() ? t : t.expand_dims(missing);
}

// Sums `x` over the labels of `lx` that `keep` lacks.
Array<> SumOut(const Array<>& x, Labels& lx, const Labels& keep) {
  std::vector<int64_t> axes;
  Labels rest;
  for (size_t d = 0; d < lx.size(); ++d) {
    if (absl::c_linear_search(keep, lx[d])) {
      rest.push_back(lx[d]);
    } else {
      axes.push_back(static_cast<int64_t>(d));
    }
  }
  if (axes.empty()) return x;
  lx = rest;
  return sum(x, Axis(axes), false, x.dtype());
}

// One pairwise step: out[lo] = sum over the rest of x[lx] * y[ly].
Array<> ContractPair(Array<> x, Labels lx, Array<> y, Labels ly, const Labels& lo, bool gemm) {
  Labels keep_x = lo, keep_y = lo;
  keep_x.insert(keep_x.end(), ly.begin(), ly.end());
  keep_y.insert(keep_y.end(), lx.begin(), lx.end());
  x = SumOut(x, lx, keep_x);
  y = SumOut(y, ly, keep_y);
  if (gemm) {
    return Array<>(ValueOrThrow(ir::MakeContract(x.node(), y.node(), lx, ly, lo)));
  }
  Labels full = lo;
  for (int l : lx) {
    if (absl::c_linear_search(ly, l) && !absl::c_linear_search(lo, l)) full.push_back(l);
  }
  Array<> product = multiply(Align(x, lx, full), Align(y, ly, full));
  if (full.size() == lo.size()) return product;
  std::vector<int64_t> axes;
  for (size_t d = lo.size(); d < full.size(); ++d) axes.push_back(static_cast<int64_t>(d));
  return sum(product, Axis(axes), false, product.dtype());
}

}  // namespace

Array<> ContractLabelled(LabelledOperands in, PathStrategy strategy, const std::string& op,
                         EinsumPath* path) {
  const size_t n = in.operands.size();
  // Diagonals first: a label repeated within an operand.
  for (size_t i = 0; i < n; ++i) {
    Labels& ls = in.labels[i];
    for (bool again = true; again;) {
      again = false;
      for (size_t d1 = 0; d1 < ls.size() && !again; ++d1) {
        for (size_t d2 = d1 + 1; d2 < ls.size() && !again; ++d2) {
          if (ls[d1] != ls[d2]) continue;
          const int64_t e1 = in.operands[i].shape()[d1], e2 = in.operands[i].shape()[d2];
          if (e1 != e2) {
            Fail(absl::StrCat(op, "(): dimensions in operand ", i, " for collapsing index '",
                              Spell(ls[d1]), "' don't match (", e1, " != ", e2, ")"));
          }
          in.operands[i] =
              diagonal(in.operands[i], 0, static_cast<int64_t>(d1), static_cast<int64_t>(d2));
          const int l = ls[d1];
          ls.erase(ls.begin() + d2);
          ls.erase(ls.begin() + d1);
          ls.push_back(l);
          again = true;
        }
      }
    }
  }
  // Extents, with size 1 broadcasting: such a dim is dropped from its
  // operand (a constant along the label is what broadcasting means).
  Extents extents;
  for (size_t i = 0; i < n; ++i) {
    for (size_t d = 0; d < in.labels[i].size(); ++d) {
      const int l = in.labels[i][d];
      const int64_t e = in.operands[i].shape()[d];
      auto [it, fresh] = extents.emplace(l, e);
      if (fresh || it->second == e || e == 1) continue;
      if (it->second != 1) {
        for (size_t j = 0; j < i; ++j) {
          if (absl::c_linear_search(in.labels[j], l) &&
              Extent(in.operands[j], in.labels[j], l) != 1) {
            Fail(absl::StrCat(op, "(): subscript '", Spell(l), "' has size ",
                              Extent(in.operands[j], in.labels[j], l), " in operand ", j, " but ",
                              e, " in operand ", i));
          }
        }
      }
      it->second = e;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    Shape squeeze;
    Labels rest;
    for (size_t d = 0; d < in.labels[i].size(); ++d) {
      const int l = in.labels[i][d];
      if (in.operands[i].shape()[d] == 1 && extents.at(l) != 1) {
        squeeze.push_back(static_cast<int64_t>(d));
      } else {
        rest.push_back(l);
      }
    }
    if (!squeeze.empty()) {
      in.operands[i] = in.operands[i].squeeze(squeeze);
      in.labels[i] = rest;
    }
  }
  // Labels only one operand has and the result lacks are summed at once.
  DType dtype = in.operands[0].dtype();
  for (size_t i = 1; i < n; ++i) dtype = PromoteTypes(dtype, in.operands[i].dtype());
  for (size_t i = 0; i < n; ++i) {
    if (in.operands[i].dtype() != dtype) in.operands[i] = in.operands[i].astype(dtype);
    Labels keep = in.output;
    for (size_t j = 0; j < n; ++j) {
      if (j != i) keep.insert(keep.end(), in.labels[j].begin(), in.labels[j].end());
    }
    in.operands[i] = SumOut(in.operands[i], in.labels[i], keep);
  }
  EinsumPath plan = PlanContraction(in.labels, in.output, extents, dtype, strategy);
  if (path != nullptr) *path = plan;
  if (n == 1) return Align(in.operands[0], in.labels[0], in.output);
  std::vector<Array<>> values = in.operands;
  std::vector<Labels> labels = in.labels;
  for (const PathStep& s : plan.steps) {
    Array<> r = ContractPair(values[s.i], s.a, values[s.j], s.b, s.out, s.gemm);
    values.erase(values.begin() + s.j);
    values.erase(values.begin() + s.i);
    values.push_back(r);
    labels.erase(labels.begin() + s.j);
    labels.erase(labels.begin() + s.i);
    labels.push_back(s.out);
  }
  return Align(values[0], labels[0], in.output);
}

namespace {

// The subscripts parsed against the operands' ranks.
LabelledOperands Parse(absl::string_view subscripts, absl::Span<const Array<>> operands) {
  if (operands.empty()) Fail("einsum(): no input operands");
  std::string text;
  for (char c : subscripts) {
    if (c != ' ') text += c;
  }
  std::string inputs = text, output;
  const size_t arrow = text.find("->");
  const bool explicit_output = arrow != std::string::npos;
  if (explicit_output) {
    inputs = text.substr(0, arrow);
    output = text.substr(arrow + 2);
  }
  if (output.find_first_of("->") != std::string::npos ||
      inputs.find_first_of("->") != std::string::npos) {
    Fail("einsum(): subscripts string does not contain a proper '->' output specification");
  }
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    const size_t comma = inputs.find(',', start);
    terms.push_back(inputs.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() < operands.size()) {
    Fail(
        "einsum(): more operands provided to einstein sum function than specified in the "
        "subscripts string");
  }
  if (terms.size() > operands.size()) {
    Fail(
        "einsum(): fewer operands provided to einstein sum function than specified in the "
        "subscripts string");
  }
  // Letters and the position of "..." in one term; -1: no ellipsis.
  auto scan = [&](const std::string& term, const std::string& where, Labels& letters) {
    int ellipsis = -1;
    for (size_t p = 0; p < term.size(); ++p) {
      const char c = term[p];
      if (c == '.') {
        if (term.compare(p, 3, "...") != 0) {
          Fail(
              absl::StrCat("einsum(): subscripts string contains a '.' that is not part of an "
                           "ellipsis ('...') in ",
                           where));
        }
        if (ellipsis >= 0) Fail(absl::StrCat("einsum(): more than one ellipsis in ", where));
        ellipsis = static_cast<int>(letters.size());
        p += 2;
      } else if (c >= 'a' && c <= 'z') {
        letters.push_back(c - 'a');
      } else if (c >= 'A' && c <= 'Z') {
        letters.push_back(26 + c - 'A');
      } else {
        Fail(absl::StrCat("einsum(): invalid subscript '", std::string(1, c), "' in ", where,
                          ": subscripts must be letters"));
      }
    }
    return ellipsis;
  };
  LabelledOperands out;
  out.operands.assign(operands.begin(), operands.end());
  std::vector<int> ellipsis_dims(operands.size(), 0);
  std::vector<std::pair<Labels, int>> scanned;
  int max_ellipsis = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    Labels letters;
    const std::string where = absl::StrCat("operand ", i, " ('", terms[i], "')");
    const int at = scan(terms[i], where, letters);
    const int ndim = operands[i].ndim();
    const int nletters = static_cast<int>(letters.size());
    if (nletters > ndim) {
      Fail(absl::StrCat("einsum(): ", where, " has ", nletters, " subscripts but ", ndim,
                        " dimensions"));
    }
    if (at < 0 && nletters < ndim) {
      Fail(absl::StrCat("einsum(): ", where, " has ", ndim, " dimensions but ", nletters,
                        " subscripts and no '...' to cover the rest"));
    }
    ellipsis_dims[i] = ndim - nletters;
    max_ellipsis = std::max(max_ellipsis, ellipsis_dims[i]);
    scanned.emplace_back(letters, at);
  }
  for (size_t i = 0; i < terms.size(); ++i) {
    const auto& [letters, at] = scanned[i];
    const int split = at < 0 ? static_cast<int>(letters.size()) : at;
    Labels ls(letters.begin(), letters.begin() + split);
    // "..." dims align from the right across operands, as broadcasting does.
    for (int d = 0; d < ellipsis_dims[i]; ++d) {
      ls.push_back(kEllipsisBase + max_ellipsis - ellipsis_dims[i] + d);
    }
    if (at >= 0) ls.insert(ls.end(), letters.begin() + at, letters.end());
    out.labels.push_back(ls);
  }
  if (explicit_output) {
    Labels letters;
    const int at = scan(output, "the output", letters);
    for (size_t p = 0; p < letters.size(); ++p) {
      bool found = false;
      for (const Labels& ls : out.labels) found = found || absl::c_linear_search(ls, letters[p]);
      if (!found) {
        Fail(absl::StrCat("einsum(): output subscript '", Spell(letters[p]),
                          "' never appeared in an input"));
      }
      if (std::count(letters.begin(), letters.end(), letters[p]) > 1) {
        Fail(absl::StrCat("einsum(): output subscript '", Spell(letters[p]),
                          "' appears more than once"));
      }
    }
    if (at < 0 && max_ellipsis > 0) {
      Fail(
          "einsum(): output has more dimensions than subscripts given in einstein sum, but no "
          "'...' ellipsis provided to broadcast the extra dimensions.");
    }
    out.output.assign(letters.begin(), letters.begin() + (at < 0 ? letters.size() : at));
    if (at >= 0) {
      for (int d = 0; d < max_ellipsis; ++d) out.output.push_back(kEllipsisBase + d);
      out.output.insert(out.output.end(), letters.begin() + at, letters.end());
    }
  } else {
    // Implicit: the broadcast dims, then letters used once, alphabetically
    // by character code (capitals first, as NumPy sorts them).
    for (int d = 0; d < max_ellipsis; ++d) out.output.push_back(kEllipsisBase + d);
    Labels once;
    for (const Labels& ls : out.labels) {
      for (int l : ls) {
        if (l >= kEllipsisBase) continue;
        int count = 0;
        for (const Labels& other : out.labels) {
          count += static_cast<int>(std::count(other.begin(), other.end(), l));
        }
        if (count == 1) once.push_back(l);
      }
    }
    auto code = [](int l) { return l < 26 ? 'a' + l : 'A' + l - 26; };
    std::sort(once.begin(), once.end(), [&](int x, int y) { return code(x) < code(y); });
    out.output.insert(out.output.end(), once.begin(), once.end());
  }
  return out;
}

}  // namespace
}  // namespace internal

Array<> einsum(absl::string_view subscripts, absl::Span<const Array<>> operands,
               PathStrategy optimize) {
  return internal::ContractLabelled(internal::Parse(subscripts, operands), optimize, "einsum");
}

EinsumPath einsum_path(absl::string_view subscripts, absl::Span<const Array<>> operands,
                       PathStrategy optimize) {
  EinsumPath path;
  internal::ContractLabelled(internal::Parse(subscripts, operands), optimize, "einsum", &path);
  return path;
}

}  // namespace ndjit
