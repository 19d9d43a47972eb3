// .npy reading, writing and memory mapping.
//
// The format: the magic "\x93NUMPY", a version byte pair, the header length
// (2 bytes little-endian in 1.0, 4 bytes in 2.0 and 3.0), then a Python dict
// literal {'descr': ..., 'fortran_order': ..., 'shape': (...), } padded with
// spaces and a newline so that the data starts at a multiple of 64 bytes.
#include "ndjit/runtime/npy.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "ndjit/runtime/status_macros.h"
#include "py_literal.h"

namespace ndjit {
namespace {

constexpr absl::string_view kMagic = "\x93NUMPY";
constexpr int kArrayAlign = 64;
// NumPy leaves room to grow the first (C) or last (F) dim to this many digits.
constexpr int kGrowthAxisMaxDigits = 21;

absl::Status HeaderError(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("npy header: ", what));
}

uint32_t ReadLE(absl::string_view b, size_t pos, int nbytes) {
  uint32_t v = 0;
  for (int i = nbytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[pos + i]);
  return v;
}

absl::Status ParseDescr(absl::string_view descr, NpyHeader* h) {
  NDJIT_ASSIGN_OR_RETURN(RecordTypePtr text, StringTypeFromCode(descr, "npy header"));
  if (text != nullptr) {
    h->record = std::move(text);
    h->dtype = DType::kUInt8;
    return absl::OkStatus();
  }
  if (descr.size() < 2) return HeaderError(absl::StrCat("unsupported dtype '", descr, "'"));
  const char order = descr[0];
  absl::string_view code = descr;
  if (order == '<' || order == '>' || order == '|' || order == '=') code.remove_prefix(1);
  absl::StatusOr<DType> t = DTypeFromString(code);
  // Only the numeric codes of the dtype table are accepted, not names.
  if (!t.ok() || Info(*t).descr.substr(1) != code) {
    return HeaderError(absl::StrCat("unsupported dtype '", descr, "'"));
  }
  h->dtype = *t;
  h->big_endian = order == '>' && ItemSize(*t) > 1;
  return absl::OkStatus();
}

// Byte-swaps every scalar (each half of a complex on its own).
void SwapBytes(char* data, int64_t count, DType dtype) {
  const int unit = IsComplex(dtype) ? ItemSize(dtype) / 2 : ItemSize(dtype);
  if (unit == 1) return;
  const int64_t units = count * (ItemSize(dtype) / unit);
  for (int64_t i = 0; i < units; ++i) std::reverse(data + i * unit, data + (i + 1) * unit);
}

absl::Status CheckDataPresent(const NpyHeader& h, size_t file_size) {
  const int64_t available = static_cast<int64_t>(file_size) - h.data_offset;
  if (available >= h.data_bytes) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("npy data: file truncated: shape ", ShapeString(h.shape), " of ", h.DTypeText(),
                   " needs ", h.data_bytes, " bytes but only ", available, " follow the header"));
}

absl::Status FileError(absl::string_view op, const std::string& path) {
  return absl::NotFoundError(absl::StrCat(op, " '", path, "': ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<NpyHeader> ParseNpyHeader(absl::string_view file) {
  if (file.size() < 10 || file.substr(0, kMagic.size()) != kMagic) {
    return HeaderError("the magic string \\x93NUMPY is missing: not a .npy file");
  }
  NpyHeader h;
  h.major_version = static_cast<uint8_t>(file[6]);
  h.minor_version = static_cast<uint8_t>(file[7]);
  if (h.major_version < 1 || h.major_version > 3 || h.minor_version != 0) {
    return HeaderError(absl::StrCat("unsupported format version ", h.major_version, ".",
                                    h.minor_version, " (1.0, 2.0 and 3.0 are known)"));
  }
  const int len_bytes = h.major_version == 1 ? 2 : 4;
  if (file.size() < 8u + len_bytes) return HeaderError("file truncated inside the header length");
  const int64_t header_len = ReadLE(file, 8, len_bytes);
  const int64_t header_start = 8 + len_bytes;
  if (header_len > static_cast<int64_t>(file.size()) - header_start) {
    return HeaderError(absl::StrCat("file truncated: the header is ", header_len,
                                    " bytes but only ", file.size() - header_start, " follow"));
  }
  NDJIT_ASSIGN_OR_RETURN(
      internal::PyLiteral dict,
      internal::ParsePyLiteral(file.substr(header_start, header_len), "npy header"));
  if (dict.kind != internal::PyLiteral::kDict) return HeaderError("the header is not a dict");
  bool have_descr = false, have_order = false, have_shape = false;
  for (size_t i = 0; i < dict.items.size(); i += 2) {
    const internal::PyLiteral& k = dict.items[i];
    const internal::PyLiteral& v = dict.items[i + 1];
    const std::string key = k.kind == internal::PyLiteral::kString ? k.text : "";
    if (key == "descr") {
      if (v.kind == internal::PyLiteral::kList) {
        NDJIT_ASSIGN_OR_RETURN(RecordTypePtr rt, internal::RecordTypeFromDescr(v, "npy header"));
        h.record = std::move(rt);
        h.dtype = DType::kUInt8;
      } else if (v.kind != internal::PyLiteral::kString) {
        return HeaderError("'descr' is not a string or a list of fields");
      } else if (absl::Status s = ParseDescr(v.text, &h); !s.ok()) {
        return s;
      }
      have_descr = true;
    } else if (key == "fortran_order") {
      if (v.kind != internal::PyLiteral::kBool) return HeaderError("'fortran_order' is not a bool");
      h.fortran_order = v.i != 0;
      have_order = true;
    } else if (key == "shape") {
      if (v.kind != internal::PyLiteral::kTuple) return HeaderError("'shape' is not a tuple");
      if (v.items.size() > kMaxDims) return HeaderError("'shape' has too many dimensions");
      h.shape.clear();
      for (const internal::PyLiteral& d : v.items) {
        if (d.kind != internal::PyLiteral::kInt) return HeaderError("'shape' holds a non-integer");
        h.shape.push_back(d.i);
      }
      have_shape = true;
    } else {
      return HeaderError(absl::StrCat("unexpected key '", key, "'"));
    }
  }
  if (!have_descr || !have_order || !have_shape) {
    return HeaderError("the dict must have the keys 'descr', 'fortran_order' and 'shape'");
  }
  absl::StatusOr<int64_t> size = CheckedSize(h.shape, h.itemsize());
  if (!size.ok()) return HeaderError(size.status().message());
  h.data_offset = header_start + header_len;
  h.data_bytes = *size * h.itemsize();
  return h;
}

namespace {

// The header NumPy writes for `descr` (already a Python literal), padded so
// the data starts on a 64-byte boundary.
std::string HeaderBytes(absl::string_view descr, Dims shape, bool fortran) {
  std::string dict =
      absl::StrCat("{'descr': ", descr, ", 'fortran_order': ", fortran ? "True" : "False",
                   ", 'shape': ", ShapeRepr(shape), ", }");
  if (!shape.empty()) {
    const int64_t growth = shape[fortran ? shape.size() - 1 : 0];
    dict.append(kGrowthAxisMaxDigits - absl::StrCat(growth).size(), ' ');
  }
  const int64_t hlen = static_cast<int64_t>(dict.size()) + 1;  // + the final '\n'
  // As NumPy computes it: a header already aligned still gets 64 spaces.
  auto padding = [&](int prefix) { return kArrayAlign - (prefix + hlen) % kArrayAlign; };
  const bool v1 = hlen + padding(10) <= 65535;  // else the length needs format 2.0
  const int64_t pad = padding(v1 ? 10 : 12);
  const int64_t total_len = hlen + pad;
  std::string out(kMagic);
  out.push_back(static_cast<char>(v1 ? 1 : 2));
  out.push_back(0);
  for (int i = 0; i < (v1 ? 2 : 4); ++i)
    out.push_back(static_cast<char>((total_len >> (8 * i)) & 0xff));
  out += dict;
  out.append(static_cast<size_t>(pad), ' ');
  out.push_back('\n');
  return out;
}

// NumPy writes Fortran order only for arrays that are F- but not C-contiguous.
bool SavesFortran(const NDArray& a) { return a.IsFContiguous() && !a.IsCContiguous(); }

// Writes `parts` to `path` so that a reader sees the old file or the whole
// new one, never a mix: a temporary in the same directory is written and
// synced, then renamed over `path`. On any failure the temporary is removed
// and the old file is untouched.
absl::Status WriteFile(const std::string& path, std::initializer_list<absl::string_view> parts) {
  static std::atomic<uint64_t> counter{0};
  const std::string tmp =
      absl::StrCat(path, ".tmp", getpid(), ".", counter.fetch_add(1, std::memory_order_relaxed));
  // 0666 less the umask, as a file NumPy creates.
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return FileError("save(): cannot create", path);
  auto fail = [&](absl::string_view what) {
    absl::Status s = FileError(what, path);
    close(fd);
    unlink(tmp.c_str());
    return s;
  };
  for (absl::string_view part : parts) {
    while (!part.empty()) {
      const ssize_t n = write(fd, part.data(), std::min<size_t>(part.size(), size_t{1} << 30));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail("save(): cannot write");
      part.remove_prefix(static_cast<size_t>(n));
    }
  }
  if (fsync(fd) != 0) return fail("save(): cannot write");
  if (close(fd) != 0) {
    absl::Status s = FileError("save(): cannot write", path);
    unlink(tmp.c_str());
    return s;
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status s = FileError("save(): cannot replace", path);
    unlink(tmp.c_str());
    return s;
  }
  return absl::OkStatus();
}

// Reads exactly `n` bytes at `offset` into `out` (large reads, retried on
// EINTR); a short file is reported as what it is.
absl::Status ReadExactly(int fd, int64_t offset, char* out, int64_t n, const NpyHeader& h) {
  int64_t done = 0;
  while (done < n) {
    const ssize_t got =
        pread(fd, out + done, static_cast<size_t>(std::min<int64_t>(n - done, int64_t{1} << 30)),
              offset + done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      return absl::DataLossError(absl::StrCat("npy data: read failed: ", std::strerror(errno)));
    }
    if (got == 0) return CheckDataPresent(h, static_cast<size_t>(offset + done));
    done += got;
  }
  return absl::OkStatus();
}

// The magic string, version and header dict at the start of `fd`: at most
// the header is read (NumPy refuses headers above 10000 bytes by default;
// past 1 MiB the parse reports the truncation instead of this reading more).
absl::StatusOr<NpyHeader> ReadHeader(int fd) {
  std::string head(12, '\0');
  ssize_t got;
  do {
    got = pread(fd, head.data(), 12, 0);
  } while (got < 0 && errno == EINTR);
  head.resize(static_cast<size_t>(std::max<ssize_t>(got, 0)));
  // The header length sits after the magic and version (2 bytes in 1.0, else 4).
  if (head.size() >= 12 && absl::string_view(head).substr(0, kMagic.size()) == kMagic) {
    // In int64: a 4-byte length of 0xFFFFFFFF plus 12 wraps in uint32.
    const int64_t len = std::min<int64_t>(
        head[6] == 1 ? int64_t{ReadLE(head, 8, 2)} + 10 : int64_t{ReadLE(head, 8, 4)} + 12,
        int64_t{1} << 20);
    head.resize(static_cast<size_t>(len));
    do {
      got = pread(fd, head.data() + 12, static_cast<size_t>(len - 12), 12);
    } while (got < 0 && errno == EINTR);
    head.resize(12 + static_cast<size_t>(std::max<ssize_t>(got, 0)));
  }
  return ParseNpyHeader(head);
}

// Opens `path` for reading; a directory is refused as NumPy's open does.
absl::StatusOr<int> OpenForLoad(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FileError("load(): cannot open", path);
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    errno = EISDIR;
    return FileError("load(): cannot open", path);
  }
  return fd;
}

absl::Status InFile(const std::string& path, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat("load('", path, "'): ", s.message()));
}

// The header must describe records (`records`) or plain numbers (not).
absl::Status CheckKind(const NpyHeader& h, bool records) {
  if (records && !h.record) {
    return absl::InvalidArgumentError(absl::StrCat("npy: the file holds ", Name(h.dtype),
                                                   " values, not records: load it as an array"));
  }
  if (!records && h.record) {
    return absl::InvalidArgumentError(
        absl::StrCat("npy: the file holds ", h.record->is_bytes() ? "bytes" : "records", " of ",
                     h.record->Repr(), ": load it as a record array"));
  }
  return absl::OkStatus();
}

// The array a file's data is read into: the header's shape, dtype and
// order, or for records their bytes (uint8, the itemsize as the last dim in
// C order, the first in F).
absl::StatusOr<NDArray> EmptyItems(const NpyHeader& h, bool records) {
  Shape shape = h.shape;
  DType dtype = h.dtype;
  if (records) {
    shape.insert(h.fortran_order ? shape.begin() : shape.end(), h.itemsize());
    dtype = DType::kUInt8;
  }
  return NDArray::Empty(shape, dtype, h.fortran_order ? Order::kF : Order::kC);
}

// The header and a fresh C- or F-ordered copy of the data, as raw items.
absl::StatusOr<std::pair<NpyHeader, NDArray>> ReadItems(absl::string_view bytes, bool records) {
  NDJIT_ASSIGN_OR_RETURN(NpyHeader h, ParseNpyHeader(bytes));
  NDJIT_RETURN_IF_ERROR(CheckKind(h, records));
  NDJIT_RETURN_IF_ERROR(CheckDataPresent(h, bytes.size()));
  NDJIT_ASSIGN_OR_RETURN(NDArray a, EmptyItems(h, records));
  std::memcpy(a.data(), bytes.data() + h.data_offset, static_cast<size_t>(h.data_bytes));
  if (h.big_endian) SwapBytes(a.data(), a.size(), h.dtype);
  return std::make_pair(std::move(h), std::move(a));
}

// Records in a buffer laid out as the header says, from `offset`.
absl::StatusOr<RecordArray> RecordsIn(BufferPtr buffer, int64_t offset, const NpyHeader& h,
                                      bool writeable) {
  const Strides strides =
      ContiguousStrides(h.shape, h.itemsize(), h.fortran_order ? Order::kF : Order::kC);
  return RecordArray::FromBuffer(std::move(buffer), offset, h.record, h.shape, strides, writeable);
}

struct Mapped {
  BufferPtr buffer;
  NpyHeader header;
};

// Maps a whole .npy file and checks its header and length. The buffer is
// file-backed (its pages can be dropped and faulted back in unchanged) for
// read-only and shared mappings, not copy-on-write ones.
absl::StatusOr<Mapped> MapFile(const std::string& path, int open_flags, int prot, int share) {
  const int fd = open(path.c_str(), open_flags | O_CLOEXEC);
  if (fd < 0) return FileError("load(mmap): cannot open", path);
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size == 0) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("load(mmap): '", path, "' is empty or unreadable"));
  }
  const auto length = static_cast<size_t>(st.st_size);
  void* map = mmap(nullptr, length, prot, share, fd, 0);
  close(fd);  // the mapping keeps the file alive
  if (map == MAP_FAILED) return FileError("load(mmap): cannot map", path);
  const bool file_backed = (prot & PROT_WRITE) == 0 || share == MAP_SHARED;
  BufferPtr buffer = Buffer::WrapExternal(
      map, static_cast<int64_t>(length),
      [](void* p, int64_t n) { munmap(p, static_cast<size_t>(n)); }, file_backed);
  const absl::string_view bytes(static_cast<const char*>(map), length);
  absl::StatusOr<NpyHeader> h = ParseNpyHeader(bytes);
  if (!h.ok()) return InFile(path, h.status());
  if (h->big_endian) {
    return absl::InvalidArgumentError(
        absl::StrCat("load('", path,
                     "'): big-endian data cannot be memory-mapped on this little-endian host; "
                     "load it without mmap to byte-swap it"));
  }
  if (absl::Status s = CheckDataPresent(*h, length); !s.ok()) return InFile(path, s);
  return Mapped{std::move(buffer), *std::move(h)};
}

absl::StatusOr<Mapped> MapForReading(const std::string& path, MmapMode mode) {
  switch (mode) {
    case MmapMode::kReadOnly:
      return MapFile(path, O_RDONLY, PROT_READ, MAP_PRIVATE);
    case MmapMode::kCopyOnWrite:
      return MapFile(path, O_RDONLY, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    case MmapMode::kReadWrite:
      break;
  }
  return MapFile(path, O_RDWR, PROT_READ | PROT_WRITE, MAP_SHARED);
}

}  // namespace

absl::StatusOr<std::string> NpyBytes(const NDArray& a) {
  if (!a.valid()) return absl::FailedPreconditionError("save(): the array is null");
  const bool fortran = SavesFortran(a);
  std::string out = HeaderBytes(absl::StrCat("'", Info(a.dtype()).descr, "'"), a.shape(), fortran);
  NDJIT_ASSIGN_OR_RETURN(NDArray contiguous, fortran ? AsFortranArray(a) : AsContiguousArray(a));
  out.append(contiguous.data(), static_cast<size_t>(contiguous.nbytes()));
  return out;
}

absl::StatusOr<std::string> NpyBytes(const RecordArray& a) {
  if (!a.valid()) return absl::FailedPreconditionError("save(): the record array is null");
  std::string out = HeaderBytes(a.type()->Descr(), a.shape(), /*fortran=*/false);
  NDJIT_ASSIGN_OR_RETURN(NDArray contiguous, AsContiguousArray(a.bytes()));
  out.append(contiguous.data(), static_cast<size_t>(contiguous.nbytes()));
  return out;
}

absl::StatusOr<NDArray> NpyFromBytes(absl::string_view bytes) {
  auto items = ReadItems(bytes, /*records=*/false);
  if (!items.ok()) return items.status();
  return std::move(items->second);
}

absl::StatusOr<RecordArray> RecordsFromNpyBytes(absl::string_view bytes) {
  auto items = ReadItems(bytes, /*records=*/true);
  if (!items.ok()) return items.status();
  const NDArray& raw = items->second;
  return RecordsIn(raw.buffer(), raw.offset(), items->first, /*writeable=*/true);
}

absl::Status SaveNpy(const std::string& path, const NDArray& a) {
  if (!a.valid()) return absl::FailedPreconditionError("save(): the array is null");
  const bool fortran = SavesFortran(a);
  const std::string header =
      HeaderBytes(absl::StrCat("'", Info(a.dtype()).descr, "'"), a.shape(), fortran);
  NDJIT_ASSIGN_OR_RETURN(NDArray data, fortran ? AsFortranArray(a) : AsContiguousArray(a));
  return WriteFile(path, {header, absl::string_view(data.data(), data.nbytes())});
}

absl::Status SaveNpy(const std::string& path, const RecordArray& a) {
  if (!a.valid()) return absl::FailedPreconditionError("save(): the record array is null");
  const std::string header = HeaderBytes(a.type()->Descr(), a.shape(), /*fortran=*/false);
  NDJIT_ASSIGN_OR_RETURN(NDArray data, AsContiguousArray(a.bytes()));
  return WriteFile(path, {header, absl::string_view(data.data(), data.nbytes())});
}

absl::StatusOr<NpyHeader> ReadNpyHeader(const std::string& path) {
  NDJIT_ASSIGN_OR_RETURN(int fd, OpenForLoad(path));
  absl::StatusOr<NpyHeader> h = ReadHeader(fd);
  close(fd);
  if (!h.ok()) return InFile(path, h.status());
  return h;
}

namespace {

// The header of `path`, then its data read straight into a fresh C- or
// F-ordered array of raw items (one copy, no staging of the whole file).
absl::StatusOr<std::pair<NpyHeader, NDArray>> LoadItems(const std::string& path, bool records) {
  NDJIT_ASSIGN_OR_RETURN(int fd, OpenForLoad(path));
  auto read = [&]() -> absl::StatusOr<std::pair<NpyHeader, NDArray>> {
    NDJIT_ASSIGN_OR_RETURN(NpyHeader h, ReadHeader(fd));
    NDJIT_RETURN_IF_ERROR(CheckKind(h, records));
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      NDJIT_RETURN_IF_ERROR(CheckDataPresent(h, static_cast<size_t>(st.st_size)));
    }
    NDJIT_ASSIGN_OR_RETURN(NDArray a, EmptyItems(h, records));
    if (absl::Status s = ReadExactly(fd, h.data_offset, a.data(), h.data_bytes, h); !s.ok()) {
      return s;
    }
    if (h.big_endian) SwapBytes(a.data(), a.size(), h.dtype);
    return std::make_pair(std::move(h), std::move(a));
  };
  absl::StatusOr<std::pair<NpyHeader, NDArray>> items = read();
  close(fd);
  if (!items.ok()) return InFile(path, items.status());
  return items;
}

}  // namespace

absl::StatusOr<NDArray> LoadNpy(const std::string& path) {
  auto items = LoadItems(path, /*records=*/false);
  if (!items.ok()) return items.status();
  return std::move(items->second);
}

absl::StatusOr<RecordArray> LoadRecordNpy(const std::string& path) {
  auto items = LoadItems(path, /*records=*/true);
  if (!items.ok()) return items.status();
  const NDArray& raw = items->second;
  return RecordsIn(raw.buffer(), raw.offset(), items->first, /*writeable=*/true);
}

absl::StatusOr<NDArray> OpenNpyMemmap(const std::string& path, MmapMode mode) {
  NDJIT_ASSIGN_OR_RETURN(Mapped m, MapForReading(path, mode));
  if (absl::Status s = CheckKind(m.header, /*records=*/false); !s.ok()) return InFile(path, s);
  const NpyHeader& h = m.header;
  const Strides strides =
      ContiguousStrides(h.shape, ItemSize(h.dtype), h.fortran_order ? Order::kF : Order::kC);
  return NDArray::FromBuffer(std::move(m.buffer), h.data_offset, h.dtype, h.shape, strides,
                             mode != MmapMode::kReadOnly);
}

absl::StatusOr<RecordArray> OpenRecordNpyMemmap(const std::string& path, MmapMode mode) {
  NDJIT_ASSIGN_OR_RETURN(Mapped m, MapForReading(path, mode));
  if (absl::Status s = CheckKind(m.header, /*records=*/true); !s.ok()) return InFile(path, s);
  return RecordsIn(std::move(m.buffer), m.header.data_offset, m.header,
                   mode != MmapMode::kReadOnly);
}

absl::StatusOr<NDArray> CreateNpyMemmap(const std::string& path, Dims shape, DType dtype,
                                        bool fortran_order) {
  NDJIT_ASSIGN_OR_RETURN(int64_t size, CheckedSize(shape, ItemSize(dtype)));
  const std::string header =
      HeaderBytes(absl::StrCat("'", Info(dtype).descr, "'"), shape, fortran_order);
  {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return FileError("open_memmap(): cannot create", path);
    const int64_t total = static_cast<int64_t>(header.size()) + size * ItemSize(dtype);
    // The blocks are reserved now: a sparse file on a full disk would turn
    // a later store through the mapping into SIGBUS instead of an error.
    const bool wrote =
        write(fd, header.data(), header.size()) == static_cast<ssize_t>(header.size());
    // Beyond the free space it fails at once rather than filling the disk.
    struct statvfs fs;
    const bool room = fstatvfs(fd, &fs) != 0 ||
                      static_cast<double>(total) <=
                          static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize);
    int reserved = !wrote ? 0 : room ? posix_fallocate(fd, 0, total) : ENOSPC;
    if (reserved == EOPNOTSUPP || reserved == EINVAL) {  // a file system without it
      reserved = ftruncate(fd, total) == 0 ? 0 : errno;
    }
    close(fd);
    if (!wrote) return FileError("open_memmap(): cannot write", path);
    if (reserved != 0) {
      std::remove(path.c_str());
      return absl::ResourceExhaustedError(absl::StrCat("open_memmap(): cannot reserve ", total,
                                                       " bytes for '", path,
                                                       "': ", std::strerror(reserved)));
    }
  }
  NDJIT_ASSIGN_OR_RETURN(Mapped m, MapFile(path, O_RDWR, PROT_READ | PROT_WRITE, MAP_SHARED));
  const Strides strides =
      ContiguousStrides(shape, ItemSize(dtype), fortran_order ? Order::kF : Order::kC);
  return NDArray::FromBuffer(std::move(m.buffer), m.header.data_offset, dtype, shape, strides,
                             /*writeable=*/true);
}

}  // namespace ndjit
