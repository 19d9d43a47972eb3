#include "ndjit/runtime/pool.h"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ndjit {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kMaxRequest = size_t{1} << 48;
constexpr int kNumClasses = 8 + (48 - 10 + 1) * 4;
// Blocks up to this size may sit in a per-thread cache.
constexpr size_t kThreadCacheMaxBlock = size_t{1} << 20;
constexpr int kThreadCacheBlocksPerClass = 4;
constexpr size_t kThreadCacheMaxBytes = size_t{8} << 20;

size_t RoundUp(size_t n, size_t m) { return (n + m - 1) / m * m; }

// Classes: multiples of 64 up to 512, then four per power of two.
int ClassIndex(size_t class_size) {
  if (class_size <= 512) return static_cast<int>(class_size / 64) - 1;
  const int k = std::bit_width(class_size - 1);  // 2^(k-1) < class_size <= 2^k
  const size_t step = size_t{1} << (k - 3);
  const int j = static_cast<int>((class_size - (size_t{1} << (k - 1))) / step) - 1;
  return 8 + (k - 10) * 4 + j;
}

struct Counters {
  std::atomic<int64_t> bytes_in_use{0};
  std::atomic<int64_t> peak{0};
  std::atomic<int64_t> bytes_cached{0};
  std::atomic<int64_t> hits{0};
  std::atomic<int64_t> misses{0};
  std::atomic<int64_t> system_allocations{0};
  std::atomic<int64_t> system_frees{0};
  std::atomic<int64_t> cache_limit{int64_t{1} << 30};
  std::atomic<int64_t> memory_limit{MemoryLimitFromEnvironment()};

  void NoteInUse(int64_t delta) {
    RaisePeak(bytes_in_use.fetch_add(delta, std::memory_order_relaxed) + delta);
  }
  void RaisePeak(int64_t now) {
    int64_t p = peak.load(std::memory_order_relaxed);
    while (now > p && !peak.compare_exchange_weak(p, now, std::memory_order_relaxed)) {
    }
  }

  // Counts `size` as in use unless that passes the memory limit. Reserving
  // before allocating keeps concurrent requests from passing it together.
  bool Reserve(int64_t size) {
    const int64_t limit = memory_limit.load(std::memory_order_relaxed);
    if (limit <= 0) {
      NoteInUse(size);
      return true;
    }
    int64_t now = bytes_in_use.load(std::memory_order_relaxed);
    do {
      if (size > limit - now) return false;
    } while (!bytes_in_use.compare_exchange_weak(now, now + size, std::memory_order_relaxed));
    RaisePeak(now + size);
    return true;
  }

  static int64_t MemoryLimitFromEnvironment() {
    const char* env = std::getenv("NDJIT_MEMORY_LIMIT");
    if (env == nullptr || *env == '\0') return 0;
    absl::StatusOr<int64_t> bytes = ParseByteSize(env);
    if (!bytes.ok()) {
      // A typo must not pass for a limit: say once that there is none.
      std::fprintf(stderr, "ndjit: NDJIT_MEMORY_LIMIT: %s; no limit is set\n",
                   std::string(bytes.status().message()).c_str());
      return 0;
    }
    return *bytes;
  }
};

Counters& Stats() {
  static Counters* counters = new Counters;  // never destroyed: frees may run at exit
  return *counters;
}

void* SystemAllocate(size_t class_size) {
  if (class_size >= kHugePage) {
    const size_t length = RoundUp(class_size, kHugePage);
    void* raw = mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    // Trim the mapping to a 2 MiB-aligned range so the kernel can back it with
    // huge pages.
    const auto begin = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = RoundUp(begin, kHugePage);
    if (aligned > begin) munmap(raw, aligned - begin);
    const size_t tail = (begin + length + kHugePage) - (aligned + length);
    if (tail > 0) munmap(reinterpret_cast<void*>(aligned + length), tail);
    void* p = reinterpret_cast<void*>(aligned);
    madvise(p, length, MADV_HUGEPAGE);
    return p;
  }
  return std::aligned_alloc(kBufferAlignment, class_size);
}

void SystemFree(PoolBlock block) {
  Stats().system_frees.fetch_add(1, std::memory_order_relaxed);
  if (block.size >= kHugePage) {
    munmap(block.data, RoundUp(block.size, kHugePage));
  } else {
    std::free(block.data);
  }
}

// Shared by all threads; one lock per class, so threads working on different
// sizes never contend.
class SharedCache {
 public:
  bool Take(int cls, PoolBlock* out) {
    Class& c = classes_[cls];
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.blocks.empty()) return false;
    *out = c.blocks.back();
    c.blocks.pop_back();
    return true;
  }

  // Keeps the block unless the cache is over its limit.
  void Put(int cls, PoolBlock block) {
    Counters& s = Stats();
    const auto size = static_cast<int64_t>(block.size);
    if (s.bytes_cached.load(std::memory_order_relaxed) + size >
        s.cache_limit.load(std::memory_order_relaxed)) {
      SystemFree(block);
      return;
    }
    s.bytes_cached.fetch_add(size, std::memory_order_relaxed);
    Class& c = classes_[cls];
    std::lock_guard<std::mutex> lock(c.mu);
    c.blocks.push_back(block);
  }

  void ReleaseAll() {
    for (Class& c : classes_) {
      std::vector<PoolBlock> blocks;
      {
        std::lock_guard<std::mutex> lock(c.mu);
        blocks.swap(c.blocks);
      }
      for (const PoolBlock& b : blocks) {
        Stats().bytes_cached.fetch_sub(static_cast<int64_t>(b.size), std::memory_order_relaxed);
        SystemFree(b);
      }
    }
  }

 private:
  struct Class {
    std::mutex mu;
    std::vector<PoolBlock> blocks;  // guarded by mu
  };
  std::array<Class, kNumClasses> classes_;
};

SharedCache& Shared() {
  static SharedCache* cache = new SharedCache;  // outlives every thread cache
  return *cache;
}

// A thread's own small cache: touched only by its thread, so no lock.
class ThreadCache {
 public:
  ~ThreadCache() { Flush(); }

  bool Take(int cls, PoolBlock* out) {
    std::vector<PoolBlock>& v = blocks_[cls];
    if (v.empty()) return false;
    *out = v.back();
    v.pop_back();
    bytes_ -= out->size;
    return true;
  }

  bool Put(int cls, PoolBlock block) {
    if (block.size > kThreadCacheMaxBlock || bytes_ + block.size > kThreadCacheMaxBytes) {
      return false;
    }
    std::vector<PoolBlock>& v = blocks_[cls];
    if (static_cast<int>(v.size()) >= kThreadCacheBlocksPerClass) return false;
    v.push_back(block);
    bytes_ += block.size;
    Stats().bytes_cached.fetch_add(static_cast<int64_t>(block.size), std::memory_order_relaxed);
    return true;
  }

  // Moves every block to the shared cache (which may give them to the system).
  void Flush() {
    for (int cls = 0; cls < kNumClasses; ++cls) {
      for (const PoolBlock& b : blocks_[cls]) {
        Stats().bytes_cached.fetch_sub(static_cast<int64_t>(b.size), std::memory_order_relaxed);
        Shared().Put(cls, b);
      }
      blocks_[cls].clear();
    }
    bytes_ = 0;
  }

 private:
  std::array<std::vector<PoolBlock>, kNumClasses> blocks_;
  size_t bytes_ = 0;
};

ThreadCache& Local() {
  thread_local ThreadCache cache;
  return cache;
}

}  // namespace

size_t PoolClassSize(size_t nbytes) {
  if (nbytes <= 64) return 64;
  const int k = std::bit_width(nbytes - 1);
  const size_t step = std::max<size_t>(64, size_t{1} << (k - 3));
  return RoundUp(nbytes, step);
}

size_t PoolMaxRequest() { return kMaxRequest; }

absl::StatusOr<PoolBlock> PoolAllocate(size_t nbytes) {
  if (nbytes > kMaxRequest) {
    return absl::ResourceExhaustedError(absl::StrCat("Unable to allocate ", nbytes,
                                                     " bytes: larger than the pool's limit of ",
                                                     kMaxRequest, " bytes"));
  }
  Counters& s = Stats();
  PoolBlock block;
  block.size = PoolClassSize(nbytes);
  if (!s.Reserve(static_cast<int64_t>(block.size))) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "Unable to allocate ", nbytes, " bytes: ", s.bytes_in_use.load(std::memory_order_relaxed),
        " bytes are in use and the memory limit is ",
        s.memory_limit.load(std::memory_order_relaxed),
        " bytes (SetPoolMemoryLimit, NDJIT_MEMORY_LIMIT)"));
  }
  const int cls = ClassIndex(block.size);
  if (Local().Take(cls, &block) || Shared().Take(cls, &block)) {
    s.hits.fetch_add(1, std::memory_order_relaxed);
    s.bytes_cached.fetch_sub(static_cast<int64_t>(block.size), std::memory_order_relaxed);
  } else {
    s.misses.fetch_add(1, std::memory_order_relaxed);
    block.data = SystemAllocate(block.size);
    if (block.data == nullptr) {
      // Cached blocks of other sizes may be what stands in the way.
      ReleaseCachedMemory();
      block.data = SystemAllocate(block.size);
    }
    if (block.data == nullptr) {
      s.NoteInUse(-static_cast<int64_t>(block.size));
      return absl::ResourceExhaustedError(
          absl::StrCat("Unable to allocate ", nbytes, " bytes: the system is out of memory"));
    }
    s.system_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  return block;
}

void PoolFree(PoolBlock block) {
  if (block.data == nullptr) return;
  Stats().NoteInUse(-static_cast<int64_t>(block.size));
  const int cls = ClassIndex(block.size);
  if (!Local().Put(cls, block)) Shared().Put(cls, block);
}

PoolStats GetPoolStats() {
  const Counters& s = Stats();
  PoolStats out;
  out.bytes_in_use = s.bytes_in_use.load(std::memory_order_relaxed);
  out.peak_bytes_in_use = s.peak.load(std::memory_order_relaxed);
  out.bytes_cached = s.bytes_cached.load(std::memory_order_relaxed);
  out.cache_hits = s.hits.load(std::memory_order_relaxed);
  out.cache_misses = s.misses.load(std::memory_order_relaxed);
  out.system_allocations = s.system_allocations.load(std::memory_order_relaxed);
  out.system_frees = s.system_frees.load(std::memory_order_relaxed);
  return out;
}

void ResetPeakBytesInUse() {
  Counters& s = Stats();
  s.peak.store(s.bytes_in_use.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

void ReleaseCachedMemory() {
  Local().Flush();
  Shared().ReleaseAll();
}

void SetPoolMemoryLimit(int64_t bytes) {
  Stats().memory_limit.store(std::max<int64_t>(bytes, 0), std::memory_order_relaxed);
}

int64_t PoolMemoryLimit() { return Stats().memory_limit.load(std::memory_order_relaxed); }

absl::StatusOr<int64_t> ParseByteSize(absl::string_view text) {
  absl::string_view digits = text;
  int shift = 0;
  if (!digits.empty()) {
    const size_t unit = absl::string_view("KMGT").find(absl::ascii_toupper(digits.back()));
    if (unit != absl::string_view::npos) {
      shift = 10 * static_cast<int>(unit + 1);
      digits.remove_suffix(1);
    }
  }
  int64_t n = 0;
  if (digits.empty() || !absl::SimpleAtoi(digits, &n) || n < 0 ||
      n > (std::numeric_limits<int64_t>::max() >> shift)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text,
        "' is not a byte size (a non-negative integer, optionally followed by K, M, G or T)"));
  }
  return n << shift;
}

void SetPoolCacheLimit(int64_t bytes) {
  Stats().cache_limit.store(std::max<int64_t>(bytes, 0), std::memory_order_relaxed);
}

}  // namespace ndjit
