// Streaming over memory-mapped .npy files: with a small chunk budget, values
// over the files are computed chunk by chunk (EvalStats counts the chunks)
// and must equal the same expressions over the arrays in memory; the pages
// of each chunk leave the process after use (the mapping's resident size in
// /proc/self/smaps stays near one chunk), and pool memory stays bounded.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "ndjit/ndjit.h"

namespace ndjit {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/ndjit_stream_test_" + std::to_string(getpid()) + "_" +
         name;
}

// The budget for one test; restores the default after.
struct Budget {
  explicit Budget(int64_t bytes) : old(StreamChunkBytes()) { SetStreamChunkBytes(bytes); }
  ~Budget() { SetStreamChunkBytes(old); }
  int64_t old;
};

struct File {
  explicit File(const std::string& name, const NDArray& a) : path(TempPath(name)) {
    ThrowIfError(SaveNpy(path, a));
  }
  ~File() { std::remove(path.c_str()); }
  NDArray Map() const { return ValueOrThrow(OpenNpyMemmap(path, MmapMode::kReadOnly)); }
  std::string path;
};

NDArray Values(Dims shape, uint64_t seed, DType t = DType::kFloat64) {
  Generator g(seed);
  return (g.random(shape, t) * 4.0 - 1.0).astype(t).array();
}

void ExpectClose(const NDArray& a, const NDArray& b, double tol, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  const NDArray fa = ValueOrThrow(a.AsType(DType::kFloat64)),
                fb = ValueOrThrow(b.AsType(DType::kFloat64));
  const NDArray ca = ValueOrThrow(fa.Reshape({-1})), cb = ValueOrThrow(fb.Reshape({-1}));
  for (int64_t i = 0; i < ca.size(); ++i) {
    const double x = *ca.Item<double>({i}), y = *cb.Item<double>({i});
    ASSERT_NEAR(x, y, tol * (1 + std::abs(y))) << what << " at " << i;
  }
}

int64_t Chunks() { return GetEvalStats().stream_chunks; }
int64_t Passes() { return GetEvalStats().stream_passes; }

TEST(StreamTest, ReductionsAndElementwiseValuesMatchInMemory) {
  Budget budget(64 << 10);
  const int64_t n = 20011;  // rows: no chunk size divides it
  const NDArray xv = Values({n, 5}, 1), yv = Values({n}, 2), small = Values({5}, 3);
  File fx("x.npy", xv), fy("y.npy", yv);
  const Array<> x(fx.Map()), y(fy.Map()), xm(xv), ym(yv), s(small);
  EXPECT_FALSE(x.array().buffer()->from_pool());

  struct Case {
    const char* what;
    std::function<Array<>(const Array<>&, const Array<>&)> f;
    int passes;
  };
  const Case cases[] = {
      {"sum(sqrt(x*x + y*y))",
       [](const Array<>& a, const Array<>& b) {
         return sum(sqrt(a * a + b[{Slice{}, NewAxis{}}] * b[{Slice{}, NewAxis{}}]));
       },
       1},
      {"x.sum(axis=0)", [](const Array<>& a, const Array<>&) { return sum(a, Axis(0)); }, 1},
      {"x.max(axis=0, keepdims)",
       [](const Array<>& a, const Array<>&) { return max(a, Axis(0), true); }, 1},
      {"min(y)", [](const Array<>&, const Array<>& b) { return min(b); }, 1},
      {"mean(x, axis=0)", [](const Array<>& a, const Array<>&) { return mean(a, Axis(0)); }, 1},
      {"var(x)", [](const Array<>& a, const Array<>&) { return var(a); }, 2},
      {"x - x.mean(axis=0)",
       [](const Array<>& a, const Array<>&) { return a - mean(a, Axis(0), true); }, 2},
      {"x.sum(axis=1) * y", [](const Array<>& a, const Array<>& b) { return sum(a, Axis(1)) * b; },
       1},
      {"argmax(y)", [](const Array<>&, const Array<>& b) { return argmax(b); }, 2},
      {"any(x > 2.9)", [](const Array<>& a, const Array<>&) { return any(a > 2.9); }, 1},
  };
  for (const Case& c : cases) {
    const int64_t chunks = Chunks(), passes = Passes();
    const NDArray streamed = c.f(x, y).eval().array();
    EXPECT_GE(Chunks() - chunks, 3) << c.what;
    EXPECT_EQ(Passes() - passes, c.passes) << c.what;
    ExpectClose(streamed, c.f(xm, ym).eval().array(), 1e-12, c.what);
  }
  // In-memory operands beside the files: sliced with them (full extent) or
  // broadcast (a row); a random array of the same length is sliced too and
  // keeps its values (they depend on the element index only).
  // A random row broadcast over the chunks keeps its place in the index
  // space while the sliced one moves with the rows.
  Generator g(5);
  const Array<> r = g.random({n}), row = g.random({5});
  const int64_t chunks = Chunks();
  const NDArray mixed =
      (x * s + ym[{Slice{}, NewAxis{}}] * r[{Slice{}, NewAxis{}}] + row).eval().array();
  EXPECT_GT(Chunks() - chunks, 5);
  ExpectClose(mixed,
              (xm * s + ym[{Slice{}, NewAxis{}}] * r[{Slice{}, NewAxis{}}] + row).eval().array(), 0,
              "x * row + y * random + random row");
}

TEST(StreamTest, GraphsTheChunkingCannotFollowFallBackCorrectly) {
  Budget budget(16 << 10);
  const NDArray sq = Values({300, 300}, 7);
  File f("sq.npy", sq);
  const Array<> x(f.Map()), xm(sq);
  const int64_t chunks = Chunks();
  // The first axis meets itself transposed: no chunking, the whole value.
  ExpectClose((x + x.T()).eval().array(), (xm + xm.T()).eval().array(), 0, "x + x.T");
  ExpectClose(matmul(x, x).eval().array(), matmul(xm, xm).eval().array(), 1e-12, "x @ x");
  EXPECT_EQ(Chunks(), chunks);
  // Under the budget: nothing to stream.
  SetStreamChunkBytes(int64_t{1} << 30);
  (x * 2.0).eval();
  EXPECT_EQ(Chunks(), chunks);
}

// This process's resident bytes of the mapping that holds `p`.
int64_t ResidentKiB(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  const auto addr = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      inside = addr >= lo && addr < hi;
      continue;
    }
    if (inside && line.rfind("Rss:", 0) == 0) return std::stoll(line.substr(4));
  }
  return -1;
}

TEST(StreamTest, ResidentAndPoolMemoryStayNearAChunk) {
  const int64_t n = int64_t{4} << 20;  // 32 MiB of float64
  File f("big.npy", Values({n}, 9));
  const NDArray mapped = f.Map();
  const Array<> x(mapped);
  {
    Budget budget(1 << 20);
    ResetPeakBytesInUse();
    const int64_t in_use = GetPoolStats().bytes_in_use;
    const int64_t chunks = Chunks();
    const double total = sum(sqrt(x * x + 1.0)).item<double>();
    EXPECT_GE(Chunks() - chunks, 32);
    EXPECT_LT(GetPoolStats().peak_bytes_in_use - in_use, 4 << 20) << "pool memory is bounded";
    const int64_t rss = ResidentKiB(mapped.data());
    ASSERT_GE(rss, 0) << "mapping not found in /proc/self/smaps";
    EXPECT_LT(rss, 4 << 10) << "resident KiB of a 32 MiB mapping after a streamed sum";
    EXPECT_GT(total, 0);
  }
  // Without streaming the whole mapping stays resident: the check above can fail.
  Budget off(0);
  sum(sqrt(x * x + 1.0)).eval();
  EXPECT_GT(ResidentKiB(mapped.data()), 30 << 10);
}

TEST(StreamTest, OutputGoesToAMemoryMappedFile) {
  Budget budget(64 << 10);
  const int64_t n = 50000;
  const NDArray xv = Values({n, 2}, 11, DType::kFloat32);
  File fx("in.npy", xv);
  const Array<> x(fx.Map());
  const std::string out_path = TempPath("out.npy");
  {
    const NDArray out = ValueOrThrow(CreateNpyMemmap(out_path, {n, 2}, DType::kFloat32));
    const int64_t chunks = Chunks();
    (x * 2.0f + 1.0f).eval_into(out);
    EXPECT_GT(Chunks() - chunks, 5);
  }
  const NDArray back = ValueOrThrow(LoadNpy(out_path));
  ExpectClose(back, (Array<>(xv) * 2.0f + 1.0f).eval().array(), 0, "out file");
  // Read-only mappings refuse to be written; a bad path names itself.
  EXPECT_THROW((x + 1.0f).eval_into(fx.Map()), Error);
  // More than the disk holds: refused up front, no file left behind.
  const std::string huge = TempPath("huge.npy");
  const absl::Status full = CreateNpyMemmap(huge, {int64_t{1} << 50}, DType::kFloat32).status();
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_NE(full.message().find("cannot reserve"), absl::string_view::npos) << full;
  EXPECT_FALSE(std::ifstream(huge).good());
  const absl::Status bad = CreateNpyMemmap("/nonexistent/dir/o.npy", {3}, DType::kFloat32).status();
  EXPECT_NE(bad.message().find("/nonexistent/dir/o.npy"), absl::string_view::npos) << bad;
  std::remove(out_path.c_str());
}

}  // namespace
}  // namespace ndjit
