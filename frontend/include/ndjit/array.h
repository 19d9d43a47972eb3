// The DSL: lazy array handles. Operators and functions build graph nodes and
// compute nothing; values are computed when they are read (eval(), item(),
// array(), printing) or for several outputs at once with ndjit::eval(x, y).
//
//   ndjit::Array<float> a = ndjit::FromNDArray(x), b = ...;
//   auto r = ndjit::tanh(a) * ndjit::exp(-b * b) + 2.0f;   // nothing runs yet
//   ndjit::NDArray out = r.array();                          // one fused kernel
//
// Array<> holds any dtype (decided at run time); Array<T> is the same handle
// with its dtype checked to be T's. Handles own their operands: `auto e = a +
// b;` then dropping a and b is safe. Errors throw ndjit::Error with NumPy's
// texts.
#pragma once

#include <complex>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "ndjit/error.h"
#include "ndjit/ir/graph.h"
#include "ndjit/runtime/ndarray.h"
#include "ndjit/runtime/npy.h"

namespace ndjit {

template <typename T = void>
class Array;

// How evaluation runs the graph. kJit fuses every elementwise node feeding
// the outputs into one compiled kernel; kEager runs one kernel per node and
// materialises every intermediate (how NumPy evaluates: the baseline the
// benchmarks compare against); kReference is the plain scalar evaluator that
// tests trust. NDJIT_BACKEND=reference in the environment forces the last.
enum class Backend { kJit, kEager, kReference };

namespace internal {
struct ArrayState;
}  // namespace internal

template <>
class Array<void> {
 public:
  Array() = default;
  // Wraps an existing array (or view) without copying.
  explicit Array(const NDArray& a);
  explicit Array(ir::NodePtr node);

  bool valid() const { return state_ != nullptr; }
  DType dtype() const;
  Dims shape() const;
  int ndim() const { return static_cast<int>(shape().size()); }
  int64_t size() const;

  // The graph node this handle stands for (an array leaf once evaluated).
  ir::NodePtr node() const;

  // --- Reading: each evaluates first (once; the result is kept) ----------
  const Array& eval(Backend backend = Backend::kJit) const;
  // Computes the value into `out` (NumPy's out=): broadcast to out's shape
  // and cast with the same_kind rule. `out` may be one of the inputs.
  void eval_into(const NDArray& out) const;
  NDArray array() const;
  template <typename V>
  V item(Dims index = {}) const {
    return ValueOrThrow(array().Item<V>(index));
  }
  std::string repr() const { return ArrayRepr(array()); }
  // The first element's address (the array may be strided: see array()).
  const void* data() const { return array().data(); }
  // Writes the value as a .npy file NumPy reads.
  void save(const std::string& path) const { ThrowIfError(SaveNpy(path, array())); }

  // --- Views (never copy; on lazy values they reach the leaves) ----------
  Array operator[](std::initializer_list<IndexItem> items) const;
  Array index(absl::Span<const IndexItem> items) const;
  Array T() const;
  Array transpose(Dims axes = {}) const;
  Array swapaxes(int64_t a, int64_t b) const;
  Array broadcast_to(Dims shape) const;
  Array squeeze(std::optional<Dims> axes = std::nullopt) const;
  Array expand_dims(Dims axes) const;
  // Elements [i, i + offset] of axes axis1 and axis2, as a last dim.
  Array diagonal(int64_t offset = 0, int64_t axis1 = 0, int64_t axis2 = 1) const;
  // A view where the strides allow, else evaluates and copies (NumPy's rule).
  Array reshape(Dims shape) const;
  Array astype(DType dtype) const;

 protected:
  std::shared_ptr<internal::ArrayState> state_;

 private:
  Array View(const ir::ViewFn& fn) const;
  friend void EvaluateAll(absl::Span<const Array<void>* const> arrays, Backend backend);
  friend void EvaluateInto(absl::Span<const Array<void>* const> arrays,
                           absl::Span<const NDArray> outs);
};

template <typename Elem>
class Array : public Array<void> {
 public:
  static_assert(std::is_arithmetic_v<Elem> || std::is_same_v<Elem, float16> ||
                    std::is_same_v<Elem, std::complex<float>> ||
                    std::is_same_v<Elem, std::complex<double>>,
                "Array<T> needs one of the dtypes' C++ types (float, int32_t, ...)");
  Array() = default;
  // Checks that the value's dtype is T's.
  Array(const Array<void>& a) : Array<void>(a) {  // NOLINT: implicit by design
    if (valid() && dtype() != kDTypeOf<Elem>) {
      throw Error(absl::InvalidArgumentError(std::string("cannot hold a ") +
                                             std::string(Name(dtype())) + " array in Array<" +
                                             std::string(Name(kDTypeOf<Elem>)) + ">"));
    }
  }
  explicit Array(const NDArray& a) : Array(Array<void>(a)) {}
  Elem item(Dims index = {}) const { return Array<void>::item<Elem>(index); }
};

// Evaluates several arrays together: shared inputs are read once and shared
// subexpressions computed once.
void EvaluateAll(absl::Span<const Array<>* const> arrays, Backend backend = Backend::kJit);
// Computes several values into existing arrays (NumPy's out=, one per
// value, each broadcast and cast with same_kind as eval_into does): values
// of one shape run as one kernel that reads shared inputs once.
void EvaluateInto(absl::Span<const Array<>* const> arrays, absl::Span<const NDArray> outs);

template <typename... A>
void eval(const A&... arrays) {
  const Array<>* list[] = {&static_cast<const Array<>&>(arrays)...};
  EvaluateAll(list);
}

// --- Construction ----------------------------------------------------------
inline Array<> FromNDArray(const NDArray& a) { return Array<>(a); }
Array<> zeros(Dims shape, DType dtype = DType::kFloat64);
Array<> full(Dims shape, double value, DType dtype = DType::kFloat64);
Array<> arange(int64_t n, DType dtype = DType::kInt64);

// Python numbers beside arrays (see Weak below).
template <typename S>
concept PythonScalar = std::is_arithmetic_v<S> || std::is_same_v<S, std::complex<double>>;

// --- Ufuncs, one function per op-table entry ---------------------------------
// Binary ufuncs also take a Python number on either side (`maximum(x, 0.0)`),
// typed as NumPy >= 2 types a literal (NEP 50, Weak below).
// (By reference: the handles are not copied, which would cost two atomic
// count updates each.)
Array<> apply(ir::Ufunc op, std::initializer_list<std::reference_wrapper<const Array<>>> inputs);

#define NDJIT_DECLARE_UFUNC(e, name, arity, loops, out, flags, sym, libm) \
  NDJIT_DECLARE_UFUNC_##arity(e, name)
#define NDJIT_DECLARE_UFUNC_1(e, name) \
  inline Array<> name(const Array<>& a) { return apply(ir::Ufunc::e, {a}); }
#define NDJIT_DECLARE_UFUNC_2(e, name)                                                            \
  inline Array<> name(const Array<>& a, const Array<>& b) { return apply(ir::Ufunc::e, {a, b}); } \
  template <PythonScalar S>                                                                       \
  Array<> name(const Array<>& a, S s) {                                                           \
    return name(a, Weak(ir::IsExponent(ir::Ufunc::e, 1) ? DType::kInt64 : a.dtype(), s));         \
  }                                                                                               \
  template <PythonScalar S>                                                                       \
  Array<> name(S s, const Array<>& b) {                                                           \
    return name(Weak(b, s), b);                                                                   \
  }
#define NDJIT_DECLARE_UFUNC_3(e, name)                                        \
  inline Array<> name(const Array<>& a, const Array<>& b, const Array<>& c) { \
    return apply(ir::Ufunc::e, {a, b, c});                                    \
  }
NDJIT_UFUNCS(NDJIT_DECLARE_UFUNC)
#undef NDJIT_DECLARE_UFUNC
#undef NDJIT_DECLARE_UFUNC_1
#undef NDJIT_DECLARE_UFUNC_2
#undef NDJIT_DECLARE_UFUNC_3
inline Array<> abs(const Array<>& a) { return absolute(a); }
inline Array<> conj(const Array<>& a) { return conjugate(a); }

// --- Python scalars are weak (NEP 50): they take the array's dtype ---------

// A scalar typed for use beside an array of dtype `like`, as NumPy >= 2
// types a Python literal. (An integer exponent, ldexp's second input, is
// typed as beside int64.)
Array<> Weak(DType like, double v);
Array<> Weak(DType like, int64_t v);
Array<> Weak(DType like, bool v);
Array<> Weak(DType like, std::complex<double> v);
template <PythonScalar S>
Array<> Weak(DType like, S v) {
  if constexpr (std::is_floating_point_v<S>) {
    return Weak(like, static_cast<double>(v));
  } else if constexpr (std::is_same_v<S, bool>) {
    return Weak(like, static_cast<bool>(v));
  } else if constexpr (std::is_same_v<S, std::complex<double>>) {
    return Weak(like, static_cast<std::complex<double>>(v));
  } else {
    return Weak(like, static_cast<int64_t>(v));
  }
}
template <PythonScalar S>
Array<> Weak(const Array<>& like, S v) {
  return Weak(like.dtype(), v);
}

// NumPy's two-output ufuncs, as two lazy values that fuse into one kernel
// when evaluated together (eval(q, r)): divmod is (a // b, a % b); modf is
// (the fractional part, with x's sign; the integral part), in NumPy's loop
// dtype (float16 for int8 and bool, float64 for int64).
std::pair<Array<>, Array<>> divmod(const Array<>& a, const Array<>& b);
std::pair<Array<>, Array<>> modf(const Array<>& x);
// frexp is (m, e), x = m * 2^e with 0.5 <= |m| < 1 and e int32.
std::pair<Array<>, Array<>> frexp(const Array<>& x);
template <PythonScalar S>
std::pair<Array<>, Array<>> divmod(const Array<>& a, S s) {
  return divmod(a, Weak(a, s));
}

// NumPy ufuncs built from the op table's (frontend/src/composites.cc):
// float loops only, NumPy's constants and branches.
Array<> degrees(const Array<>& x);
Array<> radians(const Array<>& x);
inline Array<> rad2deg(const Array<>& x) { return degrees(x); }
inline Array<> deg2rad(const Array<>& x) { return radians(x); }
Array<> signbit(const Array<>& x);
Array<> logaddexp(const Array<>& a, const Array<>& b);
Array<> logaddexp2(const Array<>& a, const Array<>& b);
Array<> heaviside(const Array<>& x, const Array<>& h0);
// The distance to the next float away from zero, with x's sign (nan at inf).
Array<> spacing(const Array<>& x);
// a ** b in float64, or complex128 when either is complex.
Array<> float_power(const Array<>& a, const Array<>& b);
inline Array<> bitwise_not(const Array<>& x) { return invert(x); }
// New arrays of a's shape (and dtype, unless given), made now.
Array<> zeros_like(const Array<>& a, std::optional<DType> dtype = std::nullopt);
Array<> ones_like(const Array<>& a, std::optional<DType> dtype = std::nullopt);
Array<> full_like(const Array<>& a, double value, std::optional<DType> dtype = std::nullopt);
// a's value in a new C-ordered buffer, computed now (np.copy).
Array<> copy(const Array<>& a);

#define NDJIT_BINARY_OPERATOR(sym, fn)                                                 \
  inline Array<> operator sym(const Array<>& a, const Array<>& b) { return fn(a, b); } \
  template <PythonScalar S>                                                            \
  Array<> operator sym(const Array<>& a, S s) {                                        \
    return fn(a, Weak(a, s));                                                          \
  }                                                                                    \
  template <PythonScalar S>                                                            \
  Array<> operator sym(S s, const Array<>& b) {                                        \
    return fn(Weak(b, s), b);                                                          \
  }
NDJIT_BINARY_OPERATOR(+, add)
NDJIT_BINARY_OPERATOR(-, subtract)
NDJIT_BINARY_OPERATOR(*, multiply)
NDJIT_BINARY_OPERATOR(/, divide)
NDJIT_BINARY_OPERATOR(%, remainder)
NDJIT_BINARY_OPERATOR(&, bitwise_and)
NDJIT_BINARY_OPERATOR(|, bitwise_or)
NDJIT_BINARY_OPERATOR(^, bitwise_xor)
NDJIT_BINARY_OPERATOR(<<, left_shift)
NDJIT_BINARY_OPERATOR(>>, right_shift)
NDJIT_BINARY_OPERATOR(==, equal)
NDJIT_BINARY_OPERATOR(!=, not_equal)
NDJIT_BINARY_OPERATOR(<, less)
NDJIT_BINARY_OPERATOR(<=, less_equal)
NDJIT_BINARY_OPERATOR(>, greater)
NDJIT_BINARY_OPERATOR(>=, greater_equal)
#undef NDJIT_BINARY_OPERATOR
inline Array<> operator-(const Array<>& a) { return negative(a); }
inline Array<> operator+(const Array<>& a) { return positive(a); }
inline Array<> operator~(const Array<>& a) { return invert(a); }
template <PythonScalar S>
Array<> pow(const Array<>& a, S s) {
  return power(a, Weak(a, s));
}
inline Array<> pow(const Array<>& a, const Array<>& b) { return power(a, b); }
template <PythonScalar S>
Array<> where(const Array<>& c, const Array<>& x, S y) {
  return where(c, x, Weak(x, y));
}
template <PythonScalar S, PythonScalar R>
Array<> clip(const Array<>& a, S lo, R hi) {
  return clip(a, Weak(a, lo), Weak(a, hi));
}

// np.take: the elements of `a` at integer `indices` along `axis` (without
// one, of the flattened array). A gather, so it evaluates both and copies:
// the result is an array leaf (a shuffled batch of rows, for instance).
Array<> take(const Array<>& a, const Array<>& indices, std::optional<int64_t> axis = std::nullopt);

// NumPy's advanced indexing: a[mask], a[[0, 2]], a[:, idx, 1:], a[i, j]
// (runtime's AdvancedIndex for the rules). Its size or order comes from the
// values of the index arrays, so it computes `a` and them (one evaluation)
// and copies what they select: a new array leaf, where a fused graph ends.
using ArrayIndexItem = std::variant<IndexItem, Array<>>;
Array<> index(const Array<>& a, absl::Span<const ArrayIndexItem> items);
// NumPy's a[items] = value, into a's memory (`a` is computed first if it is
// lazy; its handle then reads the stored values): `value` cast to a's dtype
// as NumPy's setitem casts (unsafe) and broadcast to what a[items] selects.
// Lazy values that read `a` are computed before it changes (a mask such as
// a > 0 among them). Basic items write through a view; a mask of a's shape
// with a single value is where(mask, value, a) computed in place, one
// kernel; other array indexes store into a copy that is written back
// (runtime's AdvancedAssign for the rules and errors).
void index_assign(const Array<>& a, absl::Span<const ArrayIndexItem> items, const Array<>& value);
// NumPy's ufunc.at (np.add.at(a, idx, b)): a[i] = op(a[i], b[k]) for each
// element a[items] selects, one after another, so a repeated index applies
// op again (where a[idx] += b adds once). `b` broadcasts to the selection;
// none for a unary op. The result is cast back as NumPy's same_kind rule
// allows (no float into an int array). Not fused: an element loop into a's
// memory, lazy readers of `a` computed first.
void ufunc_at(ir::Ufunc op, const Array<>& a, absl::Span<const ArrayIndexItem> items,
              const std::optional<Array<>>& b = std::nullopt);

// --- Reductions ---------------------------------------------------------------
// NumPy's reductions with its result dtypes (sum of int32 is int64, mean of
// ints is float64, argmax is int64), NaN rules (max propagates NaN) and
// empty-input rules (sum is 0, mean is NaN, max raises). The elementwise
// work that feeds a reduction runs inside the reduction's loop.
//
// `axis`: omitted or {} = every axis (NumPy's None), one axis (negative
// counts from the end), or several: Axis{0, 2}. Axis::None() spells it out.
class Axis {
 public:
  Axis() = default;
  Axis(int a) : all_(false), axes_{a} {}                             // NOLINT: implicit by design
  Axis(int64_t a) : all_(false), axes_{a} {}                         // NOLINT
  Axis(std::initializer_list<int64_t> a) : all_(false), axes_(a) {}  // NOLINT
  explicit Axis(std::vector<int64_t> a) : all_(false), axes_(std::move(a)) {}
  static Axis None() { return Axis(); }
  bool all() const { return all_; }
  const std::vector<int64_t>& axes() const { return axes_; }

 private:
  bool all_ = true;
  std::vector<int64_t> axes_;
};

Array<> sum(const Array<>& a, Axis axis = {}, bool keepdims = false,
            std::optional<DType> dtype = std::nullopt);
Array<> prod(const Array<>& a, Axis axis = {}, bool keepdims = false,
             std::optional<DType> dtype = std::nullopt);
Array<> max(const Array<>& a, Axis axis = {}, bool keepdims = false);
Array<> min(const Array<>& a, Axis axis = {}, bool keepdims = false);
Array<> any(const Array<>& a, Axis axis = {}, bool keepdims = false);
Array<> all(const Array<>& a, Axis axis = {}, bool keepdims = false);
Array<> mean(const Array<>& a, Axis axis = {}, bool keepdims = false,
             std::optional<DType> dtype = std::nullopt);
// Variance and standard deviation, dividing by n - ddof (NumPy's `std` is
// `stddev` here: `std` names the C++ namespace).
Array<> var(const Array<>& a, Axis axis = {}, int64_t ddof = 0, bool keepdims = false);
Array<> stddev(const Array<>& a, Axis axis = {}, int64_t ddof = 0, bool keepdims = false);
// Index of the first maximum (minimum, or the first NaN) along `axis`, or in
// the flattened array when omitted.
Array<> argmax(const Array<>& a, std::optional<int64_t> axis = std::nullopt, bool keepdims = false);
Array<> argmin(const Array<>& a, std::optional<int64_t> axis = std::nullopt, bool keepdims = false);
// log(sum(exp(a))) computed without overflow (scipy.special.logsumexp).
Array<> logsumexp(const Array<>& a, Axis axis = {}, bool keepdims = false);

// np.cumsum / np.cumprod: running sums (products) along `axis`, over the
// flattened array without one; sum's dtypes (integers in int64 or uint64).
// A scan reads its own results, so `a` is computed first and the result is
// a new array leaf. accumulate is ufunc.accumulate (np.maximum.accumulate)
// for add, multiply, maximum and minimum (and logical_and / logical_or), in
// NumPy's dtype unless given (sum's for add and multiply, bool for the
// logical ones, else the input's), along `axis` (NumPy's default 0).
Array<> cumsum(const Array<>& a, std::optional<int64_t> axis = std::nullopt,
               std::optional<DType> dtype = std::nullopt);
Array<> cumprod(const Array<>& a, std::optional<int64_t> axis = std::nullopt,
                std::optional<DType> dtype = std::nullopt);
Array<> accumulate(ir::Ufunc op, const Array<>& a, int64_t axis = 0,
                   std::optional<DType> dtype = std::nullopt);

// NumPy's nan-reductions: NaNs count as absent (integer and bool arrays have
// none: the plain reductions). A slice of NaNs only gives 0 (nansum), 1
// (nanprod), NaN (nanmax, nanmin, nanmean, nanvar, nanstd: NumPy warns), or
// NumPy's ValueError (nanargmax, nanargmin, which compute the mask first).
Array<> nansum(const Array<>& a, Axis axis = {}, bool keepdims = false,
               std::optional<DType> dtype = std::nullopt);
Array<> nanprod(const Array<>& a, Axis axis = {}, bool keepdims = false,
                std::optional<DType> dtype = std::nullopt);
Array<> nanmax(const Array<>& a, Axis axis = {}, bool keepdims = false);
Array<> nanmin(const Array<>& a, Axis axis = {}, bool keepdims = false);
Array<> nanmean(const Array<>& a, Axis axis = {}, bool keepdims = false,
                std::optional<DType> dtype = std::nullopt);
Array<> nanvar(const Array<>& a, Axis axis = {}, int64_t ddof = 0, bool keepdims = false);
Array<> nanstd(const Array<>& a, Axis axis = {}, int64_t ddof = 0, bool keepdims = false);
Array<> nanargmax(const Array<>& a, std::optional<int64_t> axis = std::nullopt,
                  bool keepdims = false);
Array<> nanargmin(const Array<>& a, std::optional<int64_t> axis = std::nullopt,
                  bool keepdims = false);

// Printing evaluates: NumPy's repr.
inline std::ostream& operator<<(std::ostream& os, const Array<>& a) { return os << a.repr(); }

// Statistics of evaluation, for tests and the REPL.
struct EvalStats {
  int64_t evaluations = 0;  // calls that ran something
  int64_t kernels_run = 0;  // JIT kernel launches
  int64_t fallbacks = 0;    // evaluations the reference evaluator ran
  int64_t kernel_ops = 0;   // ufunc instructions in the kernels launched
  // Bytes allocated for values an evaluation computes but does not return:
  // reduction partials and reduction results that later kernels read.
  int64_t intermediate_bytes = 0;
  int64_t gemms_run = 0;  // contractions computed by the JIT GEMM
  // Elementwise epilogues run on GEMM result blocks while they were in cache.
  int64_t fused_epilogues = 0;
  // Streaming over memory-mapped files (SetStreamChunkBytes): chunks
  // evaluated, and passes over the files.
  int64_t stream_chunks = 0;
  int64_t stream_passes = 0;
  // Evaluations planned as a Program (a program cache miss), and those that
  // found their Program in the cache, or one planned for arrays of other
  // sizes made for theirs (an elementwise Program, ir::Respecialise).
  int64_t programs_planned = 0;
  int64_t programs_reused = 0;
  // Lazy values computed early because an out= write was about to change an
  // array they read (NumPy would have computed them when they were made).
  int64_t fixed_before_write = 0;
  // Values built of more than kMaxGraphOps ops, whose inputs were computed
  // when they were made.
  int64_t graph_cuts = 0;
  // Advanced indexes (index(), a[mask] in the language), each of which
  // computed its operands.
  int64_t selections = 0;
};

// A value built of more ops than this (ir::Node::tree_ops: a long chain of
// statements, each reading the last) is cut when it is made: its inputs are
// computed, so no kernel's compile time and no graph walk's depth grows with
// the length of the chain.
inline constexpr int64_t kMaxGraphOps = 128;
EvalStats GetEvalStats();

// Streaming: an evaluation whose memory-mapped inputs (np.load with
// mmap_mode='r', CreateNpyMemmap) span more than `bytes` runs in chunks of
// about `bytes` of them along their first axis and drops each chunk's pages
// from this process after use, so its resident memory stays near two chunks
// however large the files (plus up to 2 MiB per file: the huge page the next
// rows start in); reductions over that axis combine per-chunk results. 0
// turns streaming off. The default is 256 MiB: each chunk costs a few
// madvise calls, whose TLB shootdowns took 0.1-0.4 ms each on the 2-vCPU VM
// the benchmarks run on, under a tenth of a 256 MiB chunk's memory time
// (64 MiB chunks put W13 at 73-78% of its in-memory speed, 256 MiB at 87-90%).
void SetStreamChunkBytes(int64_t bytes);
int64_t StreamChunkBytes();

// Row blocks in cache: an evaluation whose reductions keep the first axis
// and are read back over the same rows (softmax, layer norm) runs every pass
// over one block of about `bytes` of rows before the next, when its arrays
// span more than four blocks, so memory is read once; blocks run in parallel.
// The default is this core's L2 cache size; 0 turns blocks off.
void SetCacheBlockBytes(int64_t bytes);
int64_t CacheBlockBytes();

}  // namespace ndjit
