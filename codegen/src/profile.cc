#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ndjit/codegen/disk_cache.h"
#include "profile_internal.h"

namespace ndjit::codegen {
namespace {

struct Registry {
  std::mutex mu;
  absl::flat_hash_map<const void*, KernelProfile> rows;  // guarded by mu
  // An optimised tier's entry -> its kernel's row key; guarded by mu.
  absl::flat_hash_map<const void*, const void*> aliases;
  double startup_ms = 0;  // guarded by mu
};

Registry& Get() {
  static Registry* r = new Registry;  // never destroyed: reports run at exit
  return *r;
}

void PrintAtExit() {
  std::fflush(stdout);
  std::fputs(("\nndjit profile (NDJIT_PROFILE=1):\n" + ProfileReport()).c_str(), stderr);
}

std::atomic<bool>& Enabled() {
  static std::atomic<bool> on = [] {
    const char* env = std::getenv("NDJIT_PROFILE");
    const bool want = env != nullptr && std::strcmp(env, "0") != 0 && env[0] != '\0';
    if (want) std::atexit(PrintAtExit);
    return want;
  }();
  return on;
}

// Rows are numbered in the order kernels first appear: k0, k1, ...
KernelProfile& Row(const void* key, const std::string& name) {
  Registry& r = Get();
  if (auto alias = r.aliases.find(key); alias != r.aliases.end()) key = alias->second;
  auto [it, fresh] = r.rows.try_emplace(key);
  if (fresh) it->second.name = absl::StrCat("k", r.rows.size() - 1, " ", name);
  return it->second;
}

}  // namespace

void SetProfiling(bool on) { Enabled().store(on, std::memory_order_relaxed); }
bool ProfilingEnabled() { return Enabled().load(std::memory_order_relaxed); }

std::vector<KernelProfile> GetProfile() {
  std::vector<KernelProfile> out;
  {
    std::lock_guard<std::mutex> lock(Get().mu);
    for (const auto& [key, row] : Get().rows) out.push_back(row);
  }
  std::sort(out.begin(), out.end(), [](const KernelProfile& a, const KernelProfile& b) {
    return a.run_ms != b.run_ms ? a.run_ms > b.run_ms : a.name < b.name;
  });
  return out;
}

void ResetProfile() {
  std::lock_guard<std::mutex> lock(Get().mu);
  Get().rows.clear();
  Get().aliases.clear();
}

std::string ProfileReport(const std::vector<KernelProfile>& rows) {
  std::string s =
      absl::StrFormat("%-44s %7s %10s %10s %9s %9s %4s %-8s %7s\n", "kernel", "calls", "compile ms",
                      "run ms", "GB/s", "GFLOP/s", "thr", "tier", "opt ms");
  for (const KernelProfile& r : rows) {
    const double sec = r.run_ms / 1e3;
    const std::string name = r.name.size() > 44 ? r.name.substr(0, 41) + "..." : r.name;
    absl::StrAppend(
        &s, absl::StrFormat("%-44s %7d %10.3f %10.3f %9.2f %9.2f %4d %-8s %7s\n", name, r.calls,
                            r.compile_ms, r.run_ms, sec > 0 ? r.bytes / sec / 1e9 : 0,
                            sec > 0 ? r.flops / sec / 1e9 : 0, r.threads, r.tier,
                            r.opt_ms > 0 ? absl::StrFormat("%.3f", r.opt_ms) : ""));
  }
  double startup = 0;
  {
    std::lock_guard<std::mutex> lock(Get().mu);
    startup = Get().startup_ms;
  }
  const DiskCacheStats disk = GetDiskCacheStats();
  if (startup > 0 || disk.hits + disk.misses > 0) {
    absl::StrAppend(&s, absl::StrFormat("jit start-up %.3f ms; disk cache: %d hits (%.3f ms to "
                                        "load), %d misses, %d stored, %d rejected\n",
                                        startup, disk.hits, disk.load_ms, disk.misses, disk.stores,
                                        disk.rejected));
  }
  return s;
}

namespace profile {

std::string DescribeSpec(const ir::KernelSpec& spec) {
  std::string ops;
  int folds = 0;
  for (const ir::Instr& in : spec.body) {
    if (in.kind == ir::Instr::kUfunc) absl::StrAppend(&ops, ir::Name(in.op), " ");
    folds += in.kind == ir::Instr::kAccumulate;
  }
  if (folds > 0) absl::StrAppend(&ops, "fold x", folds, " ");
  if (ops.empty()) ops = "copy ";
  return absl::StrCat(ops, "-> ", ir::ShortTypeName(spec.operands[0]), "[rank ", spec.rank, "]");
}

void RecordCompile(const void* key, const std::string& name, double ms, const char* how) {
  if (!ProfilingEnabled()) return;
  std::lock_guard<std::mutex> lock(Get().mu);
  KernelProfile& row = Row(key, name);
  row.compile_ms += ms;
  row.tier = how;
}

void RecordTierUp(const void* key, const void* entry, double ms) {
  // Recorded whether or not profiling is on: a kernel may run profiled
  // after its swap, and its launches must find the row.
  std::lock_guard<std::mutex> lock(Get().mu);
  Get().aliases[entry] = key;
  auto it = Get().rows.find(key);
  if (it == Get().rows.end()) return;
  it->second.tier = "fast>opt";
  it->second.opt_ms += ms;
}

void RecordStartup(double ms) {
  std::lock_guard<std::mutex> lock(Get().mu);
  Get().startup_ms = ms;
}

void RetireKernel(const void* key) {
  // Kernel addresses are aligned: odd keys are never one.
  static uintptr_t next_retired = 1;
  std::lock_guard<std::mutex> lock(Get().mu);
  for (auto a = Get().aliases.begin(); a != Get().aliases.end();) {
    if (a->second == key) {
      Get().aliases.erase(a++);
    } else {
      ++a;
    }
  }
  auto it = Get().rows.find(key);
  if (it == Get().rows.end()) return;
  KernelProfile row = std::move(it->second);
  Get().rows.erase(it);
  Get().rows.emplace(reinterpret_cast<const void*>(next_retired), std::move(row));
  next_retired += 2;
}

void RecordRun(const void* key, const std::string& name, double ms, double bytes, double flops,
               int threads) {
  std::lock_guard<std::mutex> lock(Get().mu);
  KernelProfile& row = Row(key, name);
  ++row.calls;
  row.run_ms += ms;
  row.bytes += bytes;
  row.flops += flops;
  row.threads = std::max(row.threads, threads);
}

}  // namespace profile
}  // namespace ndjit::codegen
