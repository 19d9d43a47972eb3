#include "ndjit/runtime/buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit {

absl::StatusOr<BufferPtr> Buffer::Allocate(int64_t nbytes) {
  if (nbytes < 0) {
    return absl::InvalidArgumentError(absl::StrCat("Buffer::Allocate(): negative size ", nbytes));
  }
  NDJIT_ASSIGN_OR_RETURN(PoolBlock block, PoolAllocate(static_cast<size_t>(nbytes)));
  return BufferPtr(new Buffer(static_cast<char*>(block.data), nbytes, block.size, nullptr));
}

namespace {
std::atomic<int64_t> g_live_file_backed{0};
}  // namespace

BufferPtr Buffer::WrapExternal(void* data, int64_t size, Deleter deleter, bool file_backed) {
  if (file_backed) g_live_file_backed.fetch_add(1, std::memory_order_relaxed);
  return BufferPtr(new Buffer(static_cast<char*>(data), size, 0, std::move(deleter), file_backed));
}

int64_t Buffer::LiveFileBacked() { return g_live_file_backed.load(std::memory_order_relaxed); }

namespace {

// [begin, end) clipped to `buffer`, widened (`outward`) or narrowed to whole
// pages; empty when nothing is left.
std::pair<char*, size_t> Pages(const Buffer& buffer, const char* begin, const char* end,
                               bool outward) {
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto lo =
      std::max(reinterpret_cast<uintptr_t>(begin), reinterpret_cast<uintptr_t>(buffer.data()));
  const auto hi = std::min(reinterpret_cast<uintptr_t>(end),
                           reinterpret_cast<uintptr_t>(buffer.data() + buffer.size()));
  const uintptr_t a = outward ? lo / page * page : (lo + page - 1) / page * page;
  const uintptr_t b = outward ? (hi + page - 1) / page * page : hi / page * page;
  if (lo >= hi || a >= b) return {nullptr, 0};
  return {reinterpret_cast<char*>(a), b - a};
}

}  // namespace

void Buffer::ReleasePages(const char* begin, const char* end) const {
  if (!file_backed_) return;
  // Only whole pages inside the range: a page shared with a neighbouring
  // range may still be in use there.
  auto [p, n] = Pages(*this, begin, end, /*outward=*/false);
  if (n > 0) madvise(p, n, MADV_DONTNEED);
}

void Buffer::WillNeed(const char* begin, const char* end) const {
  if (!file_backed_) return;
  auto [p, n] = Pages(*this, begin, end, /*outward=*/true);
  if (n == 0) return;
    // Linux >= 5.14 maps the pages in one call (no fault per page later);
    // older kernels refuse the advice, and readahead is all there is.
#ifndef MADV_POPULATE_READ
  constexpr int MADV_POPULATE_READ = 22;
#endif
  if (madvise(p, n, MADV_POPULATE_READ) != 0) madvise(p, n, MADV_WILLNEED);
}

Buffer::~Buffer() {
  if (file_backed_) g_live_file_backed.fetch_sub(1, std::memory_order_relaxed);
  if (pool_size_ != 0) {
    PoolFree(PoolBlock{data_, pool_size_});
  } else if (deleter_) {
    deleter_(data_, size_);
  }
}

}  // namespace ndjit
