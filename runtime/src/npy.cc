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
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ndjit {
namespace {

constexpr absl::string_view kMagic = "\x93NUMPY";
constexpr int kArrayAlign = 64;
// NumPy leaves room to grow the first (C) or last (F) dim to this many digits.
constexpr int kGrowthAxisMaxDigits = 21;

absl::Status HeaderError(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("npy header: ", what));
}

// A recursive-descent reader for the one dict literal the format allows.
class DictParser {
 public:
  explicit DictParser(absl::string_view text) : s_(text) {}

  struct Value {
    enum Kind { kString, kBool, kTuple, kList } kind;
    std::string text;
    bool flag = false;
    Shape ints;
  };

  absl::Status Parse(std::vector<std::pair<std::string, Value>>* out) {
    if (!Eat('{')) return HeaderError("expected '{' at the start of the header dict");
    while (true) {
      if (Eat('}')) break;
      std::string key;
      if (absl::Status st = String(&key); !st.ok()) return st;
      if (!Eat(':')) return HeaderError(absl::StrCat("expected ':' after key '", key, "'"));
      Value v;
      if (absl::Status st = ParseValue(&v); !st.ok()) return st;
      out->emplace_back(std::move(key), std::move(v));
      if (Eat(',')) continue;
      if (Eat('}')) break;
      return HeaderError("expected ',' or '}' in the header dict");
    }
    SkipSpace();
    if (pos_ != s_.size()) return HeaderError("unexpected text after the header dict");
    return absl::OkStatus();
  }

 private:
  void SkipSpace() {
    while (pos_ < s_.size() && absl::ascii_isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool Eat(char c) {
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool EatWord(absl::string_view w) {
    SkipSpace();
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }

  absl::Status String(std::string* out) {
    SkipSpace();
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) {
      return HeaderError("expected a quoted string");
    }
    const char quote = s_[pos_++];
    const size_t end = s_.find(quote, pos_);
    if (end == absl::string_view::npos) return HeaderError("unterminated string");
    *out = std::string(s_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return absl::OkStatus();
  }

  absl::Status Int(int64_t* out) {
    SkipSpace();
    const size_t start = pos_;
    bool negative = false;
    if (pos_ < s_.size() && s_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    int64_t v = 0;
    bool any = false;
    while (pos_ < s_.size() && absl::ascii_isdigit(static_cast<unsigned char>(s_[pos_]))) {
      if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s_[pos_] - '0', &v)) {
        return HeaderError("a dimension in 'shape' does not fit in int64");
      }
      any = true;
      ++pos_;
    }
    if (!any) {
      pos_ = start;
      return HeaderError("expected an integer in 'shape'");
    }
    if (pos_ < s_.size() && s_[pos_] == 'L') ++pos_;  // Python 2 long literal
    *out = negative ? -v : v;
    return absl::OkStatus();
  }

  absl::Status ParseValue(Value* v) {
    SkipSpace();
    if (pos_ >= s_.size()) return HeaderError("unexpected end of header");
    const char c = s_[pos_];
    if (c == '\'' || c == '"') {
      v->kind = Value::kString;
      return String(&v->text);
    }
    if (EatWord("True")) {
      v->kind = Value::kBool;
      v->flag = true;
      return absl::OkStatus();
    }
    if (EatWord("False")) {
      v->kind = Value::kBool;
      v->flag = false;
      return absl::OkStatus();
    }
    if (c == '[') {
      // Record dtypes are described by a list of fields; skip it whole.
      v->kind = Value::kList;
      int depth = 0;
      for (; pos_ < s_.size(); ++pos_) {
        if (s_[pos_] == '[') ++depth;
        if (s_[pos_] == ']' && --depth == 0) {
          ++pos_;
          return absl::OkStatus();
        }
      }
      return HeaderError("unterminated list");
    }
    if (Eat('(')) {
      v->kind = Value::kTuple;
      while (!Eat(')')) {
        int64_t d;
        if (absl::Status st = Int(&d); !st.ok()) return st;
        v->ints.push_back(d);
        if (v->ints.size() > kMaxDims) return HeaderError("'shape' has too many dimensions");
        if (!Eat(',')) {
          if (!Eat(')')) return HeaderError("expected ',' or ')' in 'shape'");
          break;
        }
      }
      return absl::OkStatus();
    }
    return HeaderError(absl::StrCat("unexpected character '", std::string(1, c), "'"));
  }

  absl::string_view s_;
  size_t pos_ = 0;
};

uint32_t ReadLE(absl::string_view b, size_t pos, int nbytes) {
  uint32_t v = 0;
  for (int i = nbytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[pos + i]);
  return v;
}

absl::Status ParseDescr(absl::string_view descr, NpyHeader* h) {
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
      absl::StrCat("npy data: file truncated: shape ", ShapeString(h.shape), " of ", Name(h.dtype),
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
  std::vector<std::pair<std::string, DictParser::Value>> items;
  DictParser parser(file.substr(header_start, header_len));
  if (absl::Status s = parser.Parse(&items); !s.ok()) return s;
  bool have_descr = false, have_order = false, have_shape = false;
  for (const auto& [key, v] : items) {
    if (key == "descr") {
      if (v.kind == DictParser::Value::kList) {
        return HeaderError("record dtypes (a 'descr' list of fields) are not supported yet");
      }
      if (v.kind != DictParser::Value::kString) return HeaderError("'descr' is not a string");
      if (absl::Status s = ParseDescr(v.text, &h); !s.ok()) return s;
      have_descr = true;
    } else if (key == "fortran_order") {
      if (v.kind != DictParser::Value::kBool) return HeaderError("'fortran_order' is not a bool");
      h.fortran_order = v.flag;
      have_order = true;
    } else if (key == "shape") {
      if (v.kind != DictParser::Value::kTuple) return HeaderError("'shape' is not a tuple");
      h.shape = v.ints;
      have_shape = true;
    } else {
      return HeaderError(absl::StrCat("unexpected key '", key, "'"));
    }
  }
  if (!have_descr || !have_order || !have_shape) {
    return HeaderError("the dict must have the keys 'descr', 'fortran_order' and 'shape'");
  }
  absl::StatusOr<int64_t> size = CheckedSize(h.shape, ItemSize(h.dtype));
  if (!size.ok()) return HeaderError(size.status().message());
  h.data_offset = header_start + header_len;
  h.data_bytes = *size * ItemSize(h.dtype);
  return h;
}

absl::StatusOr<std::string> NpyBytes(const NDArray& a) {
  if (!a.valid()) return absl::FailedPreconditionError("save(): the array is null");
  // NumPy writes Fortran order only for arrays that are F- but not C-contiguous.
  const bool fortran = a.IsFContiguous() && !a.IsCContiguous();
  std::string dict = absl::StrCat("{'descr': '", Info(a.dtype()).descr,
                                  "', 'fortran_order': ", fortran ? "True" : "False",
                                  ", 'shape': ", ShapeRepr(a.shape()), ", }");
  if (a.ndim() > 0) {
    const int64_t growth = a.shape()[fortran ? a.ndim() - 1 : 0];
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
  absl::StatusOr<NDArray> contiguous = fortran ? AsFortranArray(a) : AsContiguousArray(a);
  if (!contiguous.ok()) return contiguous.status();
  out.append(contiguous->data(), static_cast<size_t>(contiguous->nbytes()));
  return out;
}

absl::StatusOr<NDArray> NpyFromBytes(absl::string_view bytes) {
  absl::StatusOr<NpyHeader> h = ParseNpyHeader(bytes);
  if (!h.ok()) return h.status();
  if (absl::Status s = CheckDataPresent(*h, bytes.size()); !s.ok()) return s;
  absl::StatusOr<NDArray> a =
      NDArray::Empty(h->shape, h->dtype, h->fortran_order ? Order::kF : Order::kC);
  if (!a.ok()) return a.status();
  std::memcpy(a->data(), bytes.data() + h->data_offset, static_cast<size_t>(h->data_bytes));
  if (h->big_endian) SwapBytes(a->data(), a->size(), h->dtype);
  return a;
}

absl::Status SaveNpy(const std::string& path, const NDArray& a) {
  absl::StatusOr<std::string> bytes = NpyBytes(a);
  if (!bytes.ok()) return bytes.status();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return FileError("save(): cannot open", path);
  f.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
  if (!f.flush()) return FileError("save(): cannot write", path);
  return absl::OkStatus();
}

absl::StatusOr<NDArray> LoadNpy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return FileError("load(): cannot open", path);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  absl::StatusOr<NDArray> a = NpyFromBytes(bytes);
  if (!a.ok())
    return absl::Status(a.status().code(),
                        absl::StrCat("load('", path, "'): ", a.status().message()));
  return a;
}

absl::StatusOr<NDArray> OpenNpyMemmap(const std::string& path, MmapMode mode) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FileError("load(mmap): cannot open", path);
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size == 0) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("load(mmap): '", path, "' is empty or unreadable"));
  }
  const auto length = static_cast<size_t>(st.st_size);
  const int prot = mode == MmapMode::kReadOnly ? PROT_READ : PROT_READ | PROT_WRITE;
  void* map = mmap(nullptr, length, prot, MAP_PRIVATE, fd, 0);
  close(fd);  // the mapping keeps the file alive
  if (map == MAP_FAILED) return FileError("load(mmap): cannot map", path);
  BufferPtr buffer =
      Buffer::WrapExternal(map, static_cast<int64_t>(length),
                           [](void* p, int64_t n) { munmap(p, static_cast<size_t>(n)); });
  const absl::string_view bytes(static_cast<const char*>(map), length);
  absl::StatusOr<NpyHeader> h = ParseNpyHeader(bytes);
  if (!h.ok())
    return absl::Status(h.status().code(),
                        absl::StrCat("load('", path, "'): ", h.status().message()));
  if (h->big_endian) {
    return absl::InvalidArgumentError(
        absl::StrCat("load('", path,
                     "'): big-endian data cannot be memory-mapped on this little-endian host; "
                     "load it without mmap to byte-swap it"));
  }
  if (absl::Status s = CheckDataPresent(*h, length); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("load('", path, "'): ", s.message()));
  }
  const Strides strides =
      ContiguousStrides(h->shape, ItemSize(h->dtype), h->fortran_order ? Order::kF : Order::kC);
  return NDArray::FromBuffer(std::move(buffer), h->data_offset, h->dtype, h->shape, strides,
                             mode == MmapMode::kCopyOnWrite);
}

}  // namespace ndjit
