#include "ndjit/runtime/buffer.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ndjit {

absl::StatusOr<BufferPtr> Buffer::Allocate(int64_t nbytes) {
  if (nbytes < 0) {
    return absl::InvalidArgumentError(absl::StrCat("Buffer::Allocate(): negative size ", nbytes));
  }
  absl::StatusOr<PoolBlock> block = PoolAllocate(static_cast<size_t>(nbytes));
  if (!block.ok()) return block.status();
  return BufferPtr(new Buffer(static_cast<char*>(block->data), nbytes, block->size, nullptr));
}

BufferPtr Buffer::WrapExternal(void* data, int64_t size, Deleter deleter) {
  return BufferPtr(new Buffer(static_cast<char*>(data), size, 0, std::move(deleter)));
}

Buffer::~Buffer() {
  if (pool_size_ != 0) {
    PoolFree(PoolBlock{data_, pool_size_});
  } else if (deleter_) {
    deleter_(data_, size_);
  }
}

}  // namespace ndjit
