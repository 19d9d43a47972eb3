// NumPy's .npy files: read (format 1.0, 2.0 and 3.0; either byte order; C or
// Fortran order), write (byte for byte what NumPy >= 1.24 writes), and open
// memory-mapped.
#pragma once

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "ndjit/runtime/ndarray.h"
#include "ndjit/runtime/record.h"

namespace ndjit {

struct NpyHeader {
  int major_version = 1, minor_version = 0;
  DType dtype = DType::kFloat64;
  // Set for files of records ('descr' a list) or of bytes ('|S5'); then
  // dtype is unused.
  RecordTypePtr record;
  bool big_endian = false;  // data must be byte-swapped on this host
  bool fortran_order = false;
  Shape shape;
  int64_t data_offset = 0;  // bytes from the start of the file to the data
  int64_t data_bytes = 0;   // prod(shape) * itemsize
  int64_t itemsize() const { return record ? record->itemsize() : ItemSize(dtype); }
  // "float32", or the record dtype's repr.
  std::string DTypeText() const { return record ? record->Repr() : std::string(Name(dtype)); }
};

// Parses the magic string, version, and header dict at the start of `file`
// (which needs to hold at least the whole header).
absl::StatusOr<NpyHeader> ParseNpyHeader(absl::string_view file);

// Reads only the header of the file at `path`.
absl::StatusOr<NpyHeader> ReadNpyHeader(const std::string& path);

// The file's bytes: header and data.
absl::StatusOr<std::string> NpyBytes(const NDArray& a);
absl::StatusOr<NDArray> NpyFromBytes(absl::string_view bytes);

absl::Status SaveNpy(const std::string& path, const NDArray& a);
absl::StatusOr<NDArray> LoadNpy(const std::string& path);

// np.load(mmap_mode=...): kReadOnly ('r') gives a read-only view of the file;
// kCopyOnWrite ('c') a writeable one whose writes stay in this process;
// kReadWrite ('r+') a writeable one whose writes reach the file.
enum class MmapMode { kReadOnly, kCopyOnWrite, kReadWrite };
absl::StatusOr<NDArray> OpenNpyMemmap(const std::string& path, MmapMode mode);

// The same for arrays of records, 'descr' NumPy's dtype.descr list, and of
// bytes ('|S5'). The plain-array functions above refuse those files, and
// these plain ones.
absl::StatusOr<std::string> NpyBytes(const RecordArray& a);
absl::StatusOr<RecordArray> RecordsFromNpyBytes(absl::string_view bytes);
absl::Status SaveNpy(const std::string& path, const RecordArray& a);
absl::StatusOr<RecordArray> LoadRecordNpy(const std::string& path);
absl::StatusOr<RecordArray> OpenRecordNpyMemmap(const std::string& path, MmapMode mode);

// Creates a .npy file of `shape` (zeros) and maps it shared and writeable,
// NumPy's open_memmap(mode='w+'): writes through the view reach the file.
// The file is sized up front, so it may be larger than memory.
absl::StatusOr<NDArray> CreateNpyMemmap(const std::string& path, Dims shape, DType dtype,
                                        bool fortran_order = false);

}  // namespace ndjit
