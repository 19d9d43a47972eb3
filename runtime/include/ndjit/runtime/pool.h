// The caching allocator under every array buffer.
//
// Requests are rounded up to size classes (four per power of two, all
// multiples of 64 bytes). A freed block goes back to a cache for its class and
// serves the next request of that class without a system call. Small classes
// are cached per thread first (no lock on a thread's hot path), then in a
// shared cache with one lock per class. Blocks of 2 MiB and more come from
// mmap, aligned to 2 MiB and advised for transparent huge pages, which are
// worth 15-30% of memory bandwidth on the machines we measure.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ndjit {

// Every block is aligned to at least this many bytes (a cache line, and the
// widest vector register).
inline constexpr size_t kBufferAlignment = 64;

struct PoolStats {
  int64_t bytes_in_use = 0;        // handed out and not yet freed (class sizes)
  int64_t peak_bytes_in_use = 0;   // since start or the last ResetPeakBytesInUse()
  int64_t bytes_cached = 0;        // freed blocks kept for reuse
  int64_t cache_hits = 0;          // requests served from a cache
  int64_t cache_misses = 0;        // requests that went to the system
  int64_t system_allocations = 0;  // blocks obtained from the system
  int64_t system_frees = 0;        // blocks returned to the system
};

struct PoolBlock {
  void* data = nullptr;
  size_t size = 0;  // the class size: at least the requested size
};

// Allocates at least `nbytes` (0 is allowed). Errors (ResourceExhausted) if
// the system is out of memory, the size is absurd, or the block would pass
// the memory limit.
absl::StatusOr<PoolBlock> PoolAllocate(size_t nbytes);
// Returns a block obtained from PoolAllocate. Any thread may free any block.
void PoolFree(PoolBlock block);

// The class size a request of `nbytes` is rounded up to.
size_t PoolClassSize(size_t nbytes);
// The largest request PoolAllocate takes.
size_t PoolMaxRequest();

PoolStats GetPoolStats();
void ResetPeakBytesInUse();
// Gives every cached block (of all threads' caches that can be reached: the
// shared cache and the calling thread's) back to the system.
void ReleaseCachedMemory();
// The most bytes handed out at once (class sizes, as PoolStats::bytes_in_use
// counts them); a request beyond it is an error, not an allocation. 0, the
// default, is no limit; the environment's NDJIT_MEMORY_LIMIT ("512M", "2G",
// bytes) sets it at start. For a process that must stay within a budget (a
// Dask worker, a service evaluating users' expressions, a fuzzer).
void SetPoolMemoryLimit(int64_t bytes);
int64_t PoolMemoryLimit();
// "512M", "2G", "4096": bytes, with an optional K/M/G/T (binary) suffix.
absl::StatusOr<int64_t> ParseByteSize(absl::string_view text);

// The most bytes the shared cache keeps; beyond it, freed blocks go back to
// the system. Default 1 GiB.
void SetPoolCacheLimit(int64_t bytes);

}  // namespace ndjit
