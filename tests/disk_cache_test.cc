// The disk cache of compiled kernels: hits across processes, entries that
// are truncated, corrupt or another key's, a directory that cannot be
// written, two processes writing one entry at once, and the bound.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ndjit/codegen/disk_cache.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/ir/graph.h"
#include "ndjit/ir/kernel.h"

extern char** environ;

namespace ndjit {
namespace {

namespace fs = std::filesystem;

// Runs `op` over 1000 float32 values through the JIT; returns the results'
// bits, summed, so that two processes can compare what they computed.
uint64_t RunOp(ir::Ufunc op) {
  NDArray a = *NDArray::Empty({1000}, DType::kFloat32);
  float* p = reinterpret_cast<float*>(a.data());
  for (int i = 0; i < 1000; ++i) p[i] = 0.25f + 0.01f * static_cast<float>(i);
  const ir::NodePtr leaf = ir::MakeArray(a);
  const ir::NodePtr node = *ir::MakeUfunc(op, {leaf});
  absl::StatusOr<ir::KernelLaunch> launch = ir::PlanElementwiseKernel({node}, 64);
  if (!launch.ok() || !codegen::RunKernel(*launch).ok()) return 0;
  uint64_t sum = 0;
  const auto* out = reinterpret_cast<const uint32_t*>(launch->arrays[0].data());
  for (int i = 0; i < 1000; ++i) sum = sum * 31 + out[i];
  return sum;
}

// The child processes the tests spawn (this binary again, with
// NDJIT_DISK_CHILD_OUT set): one kernel compiled or loaded, then its result
// and the cache's counters written to that file. Runs before any test.
[[maybe_unused]] const bool kChild = [] {
  const char* out = std::getenv("NDJIT_DISK_CHILD_OUT");
  if (out == nullptr) return false;
  const uint64_t result = RunOp(ir::Ufunc::kExp);
  const codegen::DiskCacheStats s = codegen::GetDiskCacheStats();
  std::FILE* f = std::fopen(out, "w");
  if (f == nullptr) std::_Exit(2);
  std::fprintf(f, "%llu %lld %lld %lld %lld\n", static_cast<unsigned long long>(result),
               static_cast<long long>(s.hits), static_cast<long long>(s.misses),
               static_cast<long long>(s.stores), static_cast<long long>(s.rejected));
  std::fclose(f);
  std::_Exit(result == 0 ? 3 : 0);
}();

struct ChildResult {
  unsigned long long result = 0;
  long long hits = -1, misses = -1, stores = -1, rejected = -1;
};

pid_t SpawnChild(const std::string& cache_dir, const std::string& out) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "NDJIT_CACHE", 11) != 0) env.emplace_back(*e);
  }
  env.push_back("NDJIT_CACHE_DIR=" + cache_dir);
  env.push_back("NDJIT_JIT_TIER=opt");  // stored before the child exits
  env.push_back("NDJIT_DISK_CHILD_OUT=" + out);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char exe[] = "/proc/self/exe";
  char* argv[] = {exe, nullptr};
  pid_t pid = -1;
  if (posix_spawn(&pid, exe, nullptr, nullptr, argv, envp.data()) != 0) return -1;
  return pid;
}

ChildResult WaitChild(pid_t pid, const std::string& out) {
  ChildResult r;
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return r;
  }
  std::FILE* f = std::fopen(out.c_str(), "r");
  if (f == nullptr) return r;
  if (std::fscanf(f, "%llu %lld %lld %lld %lld", &r.result, &r.hits, &r.misses, &r.stores,
                  &r.rejected) != 5) {
    r = ChildResult{};
  }
  std::fclose(f);
  return r;
}

ChildResult RunChild(const std::string& cache_dir, const std::string& out) {
  return WaitChild(SpawnChild(cache_dir, out), out);
}

class DiskCache : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ndjit-disk-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    saved_capacity_ = codegen::KernelCacheCapacity();
    saved_tier_ = codegen::GetJitTier();
    // Optimised code compiled and stored at once; the fast tier's case is
    // its own test.
    codegen::SetJitTier(codegen::JitTier::kOpt);
    // The in-memory cache down to one kernel no test asks for, compiled
    // without the disk: every kernel a test asks for starts on disk.
    codegen::ConfigureDiskCache(dir_.string(), 0, /*enabled=*/false);
    codegen::SetKernelCacheCapacity(1);
    RunOp(ir::Ufunc::kSquare);
    codegen::ConfigureDiskCache(dir_.string(), 0);
  }
  void TearDown() override {
    codegen::WaitForBackgroundCompiles();
    codegen::SetJitTier(saved_tier_);
    codegen::SetKernelCacheCapacity(saved_capacity_);
    codegen::ConfigureDiskCache("", 0);
    fs::remove_all(dir_);
  }
  // Compiles `op`'s kernel with an in-memory cache of one, after another
  // kernel: the in-memory copy of `op`'s is gone, so the disk is asked.
  uint64_t Fresh(ir::Ufunc op) {
    codegen::SetKernelCacheCapacity(1);
    RunOp(op == ir::Ufunc::kNegative ? ir::Ufunc::kAbsolute : ir::Ufunc::kNegative);
    return RunOp(op);
  }
  std::vector<fs::path> Entries() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().extension() == ".obj") out.push_back(e.path());
    }
    return out;
  }
  fs::path dir_;
  int64_t saved_capacity_ = 0;
  codegen::JitTier saved_tier_ = codegen::JitTier::kAuto;
};

TEST_F(DiskCache, ASecondProcessLoadsWhatTheFirstCompiled) {
  const std::string out = (dir_.string() + ".out");
  const ChildResult first = RunChild(dir_.string(), out);
  ASSERT_NE(first.result, 0u);
  EXPECT_EQ(first.hits, 0);
  EXPECT_EQ(first.misses, 1);
  EXPECT_EQ(first.stores, 1);
  const ChildResult second = RunChild(dir_.string(), out);
  EXPECT_EQ(second.hits, 1);
  EXPECT_EQ(second.misses, 0);
  EXPECT_EQ(second.stores, 0);
  EXPECT_EQ(second.result, first.result);  // the loaded code computes the same bits
  fs::remove(out);
}

TEST_F(DiskCache, TwoProcessesWritingOneEntryAtOnceLeaveAWholeEntry) {
  const std::string out1 = dir_.string() + ".out1", out2 = dir_.string() + ".out2";
  const pid_t a = SpawnChild(dir_.string(), out1), b = SpawnChild(dir_.string(), out2);
  const ChildResult ra = WaitChild(a, out1), rb = WaitChild(b, out2);
  ASSERT_NE(ra.result, 0u);
  EXPECT_EQ(ra.result, rb.result);
  EXPECT_EQ(Entries().size(), 1u);
  int temps = 0;
  for (const auto& e : fs::directory_iterator(dir_)) temps += e.path().extension() != ".obj";
  EXPECT_EQ(temps, 0);
  const ChildResult third = RunChild(dir_.string(), out1);
  EXPECT_EQ(third.hits, 1);
  EXPECT_EQ(third.result, ra.result);
  fs::remove(out1);
  fs::remove(out2);
}

TEST_F(DiskCache, BadEntriesAreIgnoredAndReplaced) {
  const uint64_t want = Fresh(ir::Ufunc::kSqrt);
  ASSERT_NE(want, 0u);
  std::vector<fs::path> entries = Entries();
  ASSERT_EQ(entries.size(), 2u);  // sqrt's and the evicting kernel's
  const fs::path sqrt_entry =
      fs::last_write_time(entries[0]) > fs::last_write_time(entries[1]) ? entries[0] : entries[1];
  const fs::path other = sqrt_entry == entries[0] ? entries[1] : entries[0];
  const std::string whole = [&] {
    std::ifstream in(sqrt_entry, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  auto write = [&](const std::string& bytes) {
    std::ofstream(sqrt_entry, std::ios::binary | std::ios::trunc) << bytes;
  };
  struct Case {
    const char* what;
    std::string bytes;
  };
  std::string flipped = whole;
  flipped[flipped.size() - 100] ^= 0x40;  // in the object code: the checksum fails
  std::string magic = whole;
  magic[7] = '9';  // another format
  std::ifstream other_in(other, std::ios::binary);
  const std::string foreign(std::istreambuf_iterator<char>(other_in), {});  // another key's
  const Case cases[] = {{"truncated", whole.substr(0, whole.size() / 2)},
                        {"empty", ""},
                        {"corrupt", flipped},
                        {"another format", magic},
                        {"another key", foreign}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    write(c.bytes);
    const codegen::DiskCacheStats before = codegen::GetDiskCacheStats();
    EXPECT_EQ(Fresh(ir::Ufunc::kSqrt), want);
    const codegen::DiskCacheStats after = codegen::GetDiskCacheStats();
    EXPECT_EQ(after.rejected - before.rejected, 1);
    EXPECT_EQ(after.stores - before.stores, 1);  // compiled and written again
    const codegen::DiskCacheStats hit_before = codegen::GetDiskCacheStats();
    EXPECT_EQ(Fresh(ir::Ufunc::kSqrt), want);  // and now a whole entry again
    EXPECT_EQ(codegen::GetDiskCacheStats().hits - hit_before.hits, 2);
  }
}

TEST_F(DiskCache, ADirectoryThatCannotBeWrittenDegradesToCompiling) {
  // A regular file where a directory must be: no write can succeed, even
  // for root, whom permission bits do not stop.
  fs::create_directories(dir_);
  const fs::path blocker = dir_ / "file";
  std::ofstream(blocker) << "x";
  codegen::ConfigureDiskCache((blocker / "cache").string(), 0);
  const codegen::DiskCacheStats before = codegen::GetDiskCacheStats();
  ::testing::internal::CaptureStderr();
  const uint64_t a = Fresh(ir::Ufunc::kLog);
  const uint64_t b = Fresh(ir::Ufunc::kSin);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(a, 0u);
  EXPECT_NE(b, 0u);
  EXPECT_EQ(codegen::GetDiskCacheStats().stores, before.stores);
  // One warning, naming the directory, for all the failed writes.
  EXPECT_NE(err.find((blocker / "cache").string()), std::string::npos) << err;
  EXPECT_EQ(err.find("warning"), err.rfind("warning")) << err;
}

TEST_F(DiskCache, TheBoundEvictsTheLeastRecentlyUsed) {
  const ir::Ufunc ops[] = {ir::Ufunc::kSin,    ir::Ufunc::kCos,   ir::Ufunc::kTan,
                           ir::Ufunc::kArctan, ir::Ufunc::kLog1p, ir::Ufunc::kExpm1,
                           ir::Ufunc::kCbrt,   ir::Ufunc::kSinh};
  // The largest entry, measured; then room for four, and eight kernels
  // compiled again (the in-memory cache holds one: each goes to disk).
  for (ir::Ufunc op : ops) RunOp(op);
  int64_t largest = 0;
  for (const codegen::DiskCacheEntry& e : codegen::InspectDiskCache().entries) {
    largest = std::max(largest, e.bytes);
  }
  ASSERT_GT(largest, 0);
  ASSERT_TRUE(codegen::ClearDiskCache().ok());
  codegen::ConfigureDiskCache(dir_.string(), largest * 4);
  const codegen::DiskCacheStats before = codegen::GetDiskCacheStats();
  for (ir::Ufunc op : ops) RunOp(op);
  const codegen::DiskCacheInfo info = codegen::InspectDiskCache();
  EXPECT_LE(info.bytes, largest * 4);
  EXPECT_GE(info.entries.size(), 3u);  // down to 90% of the bound, no further
  EXPECT_LT(info.entries.size(), 8u);
  EXPECT_GT(codegen::GetDiskCacheStats().evicted, before.evicted);
  // The newest kernel's entry is kept: asking for it again is a hit.
  const codegen::DiskCacheStats hit_before = codegen::GetDiskCacheStats();
  Fresh(ir::Ufunc::kSinh);
  EXPECT_GE(codegen::GetDiskCacheStats().hits - hit_before.hits, 1);
}

TEST_F(DiskCache, ClearRemovesEveryEntryAndInspectListsThem) {
  Fresh(ir::Ufunc::kExp);
  codegen::DiskCacheInfo info = codegen::InspectDiskCache();
  EXPECT_TRUE(info.enabled);
  EXPECT_EQ(info.dir, dir_.string());
  EXPECT_EQ(info.entries.size(), 2u);
  absl::StatusOr<int64_t> removed = codegen::ClearDiskCache();
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 2);
  EXPECT_TRUE(codegen::InspectDiskCache().entries.empty());
}

TEST_F(DiskCache, TheAutoTierStoresBothTiersAndLoadsTheOptimised) {
  codegen::SetJitTier(codegen::JitTier::kAuto);
  const uint64_t want = Fresh(ir::Ufunc::kTanh);
  codegen::WaitForBackgroundCompiles();
  // Fast and optimised code of tanh's kernel and the fast code of the
  // evicting one, whose optimised compile is skipped if it died first.
  EXPECT_GE(Entries().size(), 3u);
  EXPECT_LE(Entries().size(), 4u);
  const codegen::DiskCacheStats before = codegen::GetDiskCacheStats();
  codegen::SetKernelCacheCapacity(1);
  RunOp(ir::Ufunc::kNegative);
  absl::StatusOr<codegen::Kernel> k = [] {
    const NDArray a = *NDArray::Full({8}, DType::kFloat32, 0.5);
    return codegen::GetKernel(
        ir::PlanElementwiseKernel({*ir::MakeUfunc(ir::Ufunc::kTanh, {ir::MakeArray(a)})}, 64)
            ->spec);
  }();
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE(k->optimised());  // loaded, not compiled in the fast tier
  EXPECT_EQ(RunOp(ir::Ufunc::kTanh), want);
  EXPECT_EQ(codegen::GetDiskCacheStats().hits - before.hits, 2);
}

TEST_F(DiskCache, TurnedOffItNeitherReadsNorWrites) {
  codegen::ConfigureDiskCache(dir_.string(), 0, /*enabled=*/false);
  const codegen::DiskCacheStats before = codegen::GetDiskCacheStats();
  EXPECT_NE(Fresh(ir::Ufunc::kCosh), 0u);
  const codegen::DiskCacheStats after = codegen::GetDiskCacheStats();
  EXPECT_EQ(after.stores, before.stores);
  EXPECT_EQ(after.misses, before.misses);
  EXPECT_FALSE(fs::exists(dir_));
}

}  // namespace
}  // namespace ndjit
