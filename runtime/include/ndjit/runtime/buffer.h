// A refcounted block of bytes that arrays view. Buffers from the pool are
// 64-byte aligned; external buffers (an mmap, a user's pointer) keep whatever
// alignment they came with and are released by their own deleter.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "ndjit/runtime/pool.h"

namespace ndjit {

class Buffer {
 public:
  using Deleter = std::function<void(void* data, int64_t size)>;

  // A pool block of at least `nbytes` bytes, uninitialised.
  static absl::StatusOr<std::shared_ptr<Buffer>> Allocate(int64_t nbytes);
  // Memory the caller owns; `deleter` (may be empty) runs when the last view
  // goes away. `file_backed`: a read-only or shared file mapping, whose
  // pages the kernel can drop and fault back in from the file unchanged.
  static std::shared_ptr<Buffer> WrapExternal(void* data, int64_t size, Deleter deleter,
                                              bool file_backed = false);

  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  char* data() const { return data_; }
  // The usable size: what was asked for, not the pool's class size.
  int64_t size() const { return size_; }
  bool from_pool() const { return pool_size_ != 0; }
  bool file_backed() const { return file_backed_; }
  // How many file-backed buffers are alive: evaluations skip the search for
  // streamed inputs while there are none.
  static int64_t LiveFileBacked();

  // Paging hints for streaming over file-backed buffers (no-ops otherwise):
  // drop this process's mappings of the whole pages inside [begin, end),
  // which bounds its resident memory (the file's page cache keeps them);
  // map [begin, end) ahead of use (reading it in if it is not cached).
  void ReleasePages(const char* begin, const char* end) const;
  void WillNeed(const char* begin, const char* end) const;

  // How many lazy graph nodes read an array over this buffer directly. A
  // write into the buffer through ndjit first fixes the values of those still
  // alive (see ir::DirectReaders); while there are none it needs no search.
  int64_t readers() const { return readers_.load(std::memory_order_relaxed); }
  void AddReaders(int64_t n) const { readers_.fetch_add(n, std::memory_order_relaxed); }

 private:
  Buffer(char* data, int64_t size, size_t pool_size, Deleter deleter, bool file_backed = false)
      : data_(data),
        size_(size),
        pool_size_(pool_size),
        deleter_(std::move(deleter)),
        file_backed_(file_backed) {}

  char* data_;
  int64_t size_;
  size_t pool_size_;  // class size when from the pool, else 0
  Deleter deleter_;
  bool file_backed_;
  mutable std::atomic<int64_t> readers_{0};
};

using BufferPtr = std::shared_ptr<Buffer>;

}  // namespace ndjit
