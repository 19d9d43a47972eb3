// NumPy's .npy files: read (format 1.0, 2.0 and 3.0; either byte order; C or
// Fortran order), write (byte for byte what NumPy >= 1.24 writes), and open
// memory-mapped.
#pragma once

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "ndjit/runtime/ndarray.h"

namespace ndjit {

struct NpyHeader {
  int major_version = 1, minor_version = 0;
  DType dtype = DType::kFloat64;
  bool big_endian = false;  // data must be byte-swapped on this host
  bool fortran_order = false;
  Shape shape;
  int64_t data_offset = 0;  // bytes from the start of the file to the data
  int64_t data_bytes = 0;   // prod(shape) * itemsize
};

// Parses the magic string, version, and header dict at the start of `file`
// (which needs to hold at least the whole header).
absl::StatusOr<NpyHeader> ParseNpyHeader(absl::string_view file);

// The file's bytes: header and data.
absl::StatusOr<std::string> NpyBytes(const NDArray& a);
absl::StatusOr<NDArray> NpyFromBytes(absl::string_view bytes);

absl::Status SaveNpy(const std::string& path, const NDArray& a);
absl::StatusOr<NDArray> LoadNpy(const std::string& path);

// np.load(mmap_mode=...): kReadOnly ('r') gives a read-only view of the file;
// kCopyOnWrite ('c') a writeable one whose writes stay in this process.
enum class MmapMode { kReadOnly, kCopyOnWrite };
absl::StatusOr<NDArray> OpenNpyMemmap(const std::string& path, MmapMode mode);

}  // namespace ndjit
