#include "ndjit/runtime/pool.h"

#include <unistd.h>

#include <cstdio>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "ndjit/runtime/buffer.h"

namespace ndjit {
namespace {

bool Aligned(const void* p, size_t a) { return reinterpret_cast<uintptr_t>(p) % a == 0; }

TEST(Pool, ClassSizesRoundUpAndStayAligned) {
  EXPECT_EQ(PoolClassSize(0), 64u);
  EXPECT_EQ(PoolClassSize(1), 64u);
  EXPECT_EQ(PoolClassSize(65), 128u);
  EXPECT_EQ(PoolClassSize(1000), 1024u);
  EXPECT_EQ(PoolClassSize(1025), 1280u);  // four classes per power of two
  EXPECT_EQ(PoolClassSize(1u << 20), 1u << 20);
  for (size_t n = 1; n < (size_t{1} << 26); n = n * 3 + 1) {
    const size_t c = PoolClassSize(n);
    EXPECT_GE(c, n);
    EXPECT_LE(c, n + n / 4 + 64) << n;  // at most 25% waste (plus the 64-byte floor)
    EXPECT_EQ(c % 64, 0u);
  }
}

TEST(Pool, FreedBlocksAreReusedWithoutTheSystem) {
  ReleaseCachedMemory();
  const PoolStats before = GetPoolStats();
  void* first;
  {
    PoolBlock b = *PoolAllocate(100000);
    first = b.data;
    EXPECT_TRUE(Aligned(b.data, kBufferAlignment));
    std::memset(b.data, 1, 100000);
    PoolFree(b);
  }
  for (int i = 0; i < 100; ++i) {
    PoolBlock b = *PoolAllocate(100000 - i);  // same class
    EXPECT_EQ(b.data, first);
    PoolFree(b);
  }
  const PoolStats after = GetPoolStats();
  EXPECT_EQ(after.system_allocations - before.system_allocations, 1);
  EXPECT_EQ(after.cache_hits - before.cache_hits, 100);
  EXPECT_EQ(after.cache_misses - before.cache_misses, 1);
}

TEST(Pool, StatsTrackBytesInUseAndPeak) {
  ReleaseCachedMemory();
  const PoolStats base = GetPoolStats();
  ResetPeakBytesInUse();
  PoolBlock a = *PoolAllocate(4096);
  PoolBlock b = *PoolAllocate(8192);
  EXPECT_EQ(GetPoolStats().bytes_in_use - base.bytes_in_use, 4096 + 8192);
  PoolFree(a);
  EXPECT_EQ(GetPoolStats().bytes_in_use - base.bytes_in_use, 8192);
  EXPECT_EQ(GetPoolStats().peak_bytes_in_use - base.bytes_in_use, 4096 + 8192);
  EXPECT_GE(GetPoolStats().bytes_cached, 4096);
  PoolFree(b);
  ReleaseCachedMemory();
  EXPECT_EQ(GetPoolStats().bytes_cached, 0);
  EXPECT_EQ(GetPoolStats().bytes_in_use, base.bytes_in_use);
}

TEST(Pool, LargeBlocksAreHugePageAligned) {
  PoolBlock b = *PoolAllocate(size_t{5} << 20);
  EXPECT_TRUE(Aligned(b.data, size_t{2} << 20));
  std::memset(b.data, 7, size_t{5} << 20);  // all of it is mapped
  PoolFree(b);
  PoolBlock again = *PoolAllocate(size_t{5} << 20);
  EXPECT_EQ(again.data, b.data);
  PoolFree(again);
}

TEST(Pool, CacheLimitSendsBlocksBackToTheSystem) {
  ReleaseCachedMemory();
  SetPoolCacheLimit(0);
  const PoolStats before = GetPoolStats();
  PoolBlock b = *PoolAllocate(size_t{4} << 20);  // too big for a thread cache
  PoolFree(b);
  EXPECT_EQ(GetPoolStats().system_frees - before.system_frees, 1);
  EXPECT_EQ(GetPoolStats().bytes_cached, 0);
  SetPoolCacheLimit(int64_t{1} << 30);
}

// Resident memory, from /proc: what the system sees, not the pool's count.
int64_t ResidentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f == nullptr || std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
  if (f != nullptr) std::fclose(f);
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

TEST(Pool, FreedWorkingSetsGoBackToTheSystemAboveTheLimit) {
  ReleaseCachedMemory();
  constexpr int64_t kBlock = int64_t{256} << 20;
  SetPoolCacheLimit(kBlock);
  std::vector<PoolBlock> blocks;
  for (int i = 0; i < 6; ++i) {
    blocks.push_back(*PoolAllocate(kBlock));
    std::memset(blocks.back().data, 1, kBlock);  // resident
  }
  const int64_t peak = ResidentBytes();
  for (const PoolBlock& b : blocks) PoolFree(b);
  // At most the limit stays cached, so at least 5 of the 6 blocks left.
  EXPECT_LE(GetPoolStats().bytes_cached, kBlock);
  EXPECT_LE(ResidentBytes(), peak - 5 * kBlock + (int64_t{64} << 20));
  ReleaseCachedMemory();
  EXPECT_EQ(GetPoolStats().bytes_cached, 0);
  SetPoolCacheLimit(int64_t{1} << 30);
}

TEST(Pool, AbsurdRequestsFailCleanly) {
  absl::StatusOr<PoolBlock> b = PoolAllocate(size_t{1} << 62);
  EXPECT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(Buffer::Allocate(-1).ok());
}

TEST(Pool, MemoryLimitRefusesWhatWouldPassItAndFreesMakeRoom) {
  const int64_t base = GetPoolStats().bytes_in_use;
  SetPoolMemoryLimit(base + (int64_t{8} << 20));
  absl::StatusOr<PoolBlock> a = PoolAllocate(size_t{6} << 20);
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<PoolBlock> b = PoolAllocate(size_t{4} << 20);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(b.status().message().find("Unable to allocate 4194304 bytes"), std::string::npos)
      << b.status();
  EXPECT_NE(b.status().message().find("memory limit"), std::string::npos) << b.status();
  // The refusal left the count as it was; an array of that size fails the same way.
  EXPECT_EQ(GetPoolStats().bytes_in_use, base + (int64_t{6} << 20));
  EXPECT_FALSE(Buffer::Allocate(int64_t{4} << 20).ok());
  PoolFree(*a);
  absl::StatusOr<PoolBlock> c = PoolAllocate(size_t{4} << 20);
  EXPECT_TRUE(c.ok()) << c.status();
  if (c.ok()) PoolFree(*c);
  SetPoolMemoryLimit(0);
  EXPECT_EQ(PoolMemoryLimit(), 0);
}

TEST(Pool, ByteSizesParseWithBinarySuffixes) {
  EXPECT_EQ(*ParseByteSize("4096"), 4096);
  EXPECT_EQ(*ParseByteSize("512M"), int64_t{512} << 20);
  EXPECT_EQ(*ParseByteSize("2g"), int64_t{2} << 30);
  for (const char* bad : {"", "M", "-1", "12X", "1.5G", "99999999999T"}) {
    absl::StatusOr<int64_t> n = ParseByteSize(bad);
    EXPECT_FALSE(n.ok()) << bad;
    if (!n.ok()) {
      EXPECT_NE(n.status().message().find("is not a byte size"), std::string::npos);
    }
  }
}

TEST(Pool, ThreadsAllocateAndFreeEachOthersBlocks) {
  const PoolStats base = GetPoolStats();
  constexpr int kThreads = 4, kPerThread = 2000;
  std::vector<std::vector<PoolBlock>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        PoolBlock b = *PoolAllocate(64 + (i % 50) * 100);
        std::memset(b.data, t, 64);
        made[t].push_back(b);
        if (i % 3 == 0) {  // free some right away
          PoolFree(made[t].back());
          made[t].pop_back();
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  threads.clear();
  // Each thread frees the blocks another one made.
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (PoolBlock b : made[(t + 1) % kThreads]) PoolFree(b);
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(GetPoolStats().bytes_in_use, base.bytes_in_use);
}

TEST(Buffer, PoolAndExternalBuffers) {
  {
    BufferPtr b = *Buffer::Allocate(1000);
    EXPECT_EQ(b->size(), 1000);
    EXPECT_TRUE(b->from_pool());
    EXPECT_TRUE(Aligned(b->data(), kBufferAlignment));
  }
  int freed = 0;
  std::vector<char> memory(100);
  {
    BufferPtr b = Buffer::WrapExternal(memory.data(), 100, [&](void* p, int64_t n) {
      EXPECT_EQ(p, memory.data());
      EXPECT_EQ(n, 100);
      ++freed;
    });
    BufferPtr copy = b;
    EXPECT_FALSE(b->from_pool());
  }
  EXPECT_EQ(freed, 1);
}

}  // namespace
}  // namespace ndjit
