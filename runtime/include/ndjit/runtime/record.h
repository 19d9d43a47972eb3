// Record (structured) dtypes and arrays of records: NumPy's layout rules.
//
// A record type is a list of named fields, each a scalar dtype or a nested
// record, optionally a sub-array of them (('pos', '<f4', (3,))), at a byte
// offset inside an item of `itemsize` bytes. A RecordArray is NumPy's array
// model over such items; a field of it is an ordinary strided NDArray view of
// the same bytes (rec['vel'] has shape rec.shape + (3,) and the record's
// stride), so kernels read fields in place.
//
// NumPy's fixed-width bytes type 'S<n>' is a RecordType without fields
// (RecordType::Bytes): its items are byte strings padded with NULs, so
// arrays of them, and record fields of them, share the record array's
// layout, views, copies and .npy code.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ndjit/runtime/ndarray.h"

namespace ndjit {

class RecordType;
using RecordTypePtr = std::shared_ptr<const RecordType>;

// What one field holds: a scalar dtype, or a nested record when `record` is
// set; `subshape` non-empty makes it a C-ordered sub-array of those.
struct FieldFormat {
  DType dtype = DType::kFloat64;
  RecordTypePtr record;
  Shape subshape;
};

struct FieldSpec {
  std::string name;
  FieldFormat format;
};

struct RecordField {
  std::string name;
  FieldFormat format;
  int64_t offset = 0;    // bytes from the start of the record
  int64_t elemsize = 0;  // bytes of one scalar or nested record
  int64_t nbytes = 0;    // elemsize * prod(subshape)
};

class RecordType {
 public:
  // np.dtype(fields, align=...): fields one after another; with `align` each
  // starts at a multiple of its alignment and the itemsize is rounded up to
  // the largest one (C struct layout). Nested records given as specs of
  // their own keep the alignment they were made with.
  static absl::StatusOr<RecordTypePtr> Make(std::vector<FieldSpec> fields, bool align = false);
  // Explicit offsets and itemsize (np.dtype({'names', 'formats', 'offsets',
  // 'itemsize'})): every field must lie inside the item.
  static absl::StatusOr<RecordTypePtr> WithOffsets(std::vector<FieldSpec> fields,
                                                   std::vector<int64_t> offsets, int64_t itemsize);
  // np.dtype('S<width>'): byte strings of up to `width` (>= 1) bytes.
  static absl::StatusOr<RecordTypePtr> Bytes(int64_t width);

  bool is_bytes() const { return bytes_; }

  const std::vector<RecordField>& fields() const { return fields_; }
  int64_t itemsize() const { return itemsize_; }
  // NumPy's: the largest field alignment for aligned types, else 1.
  int64_t alignment() const { return alignment_; }
  bool aligned() const { return aligned_; }
  // The field called `name`, or an error listing the fields there are.
  absl::StatusOr<const RecordField*> Field(absl::string_view name) const;
  bool operator==(const RecordType& other) const;

  // The .npy header's 'descr' (NumPy's dtype.descr): a Python list of
  // (name, format[, shape]) with ('', '|V<n>') entries for gaps; of bytes,
  // the string '|S5'.
  std::string Descr() const;
  // NumPy's repr: "dtype([('t', '<u8'), ('pos', '<f4', (3,))], align=True)",
  // or the dict form when the fields leave gaps; "dtype('S5')".
  std::string Repr() const;
  // What follows "dtype=" in an array's repr: the list form, or the dict
  // form ('aligned': True included) when the list cannot say it; '|S5'.
  std::string ArraySpec() const;

 private:
  std::string Body(bool dict_form) const;

  std::vector<RecordField> fields_;
  int64_t itemsize_ = 0;
  int64_t alignment_ = 1;
  bool aligned_ = false;
  bool bytes_ = false;
};

// A string dtype code: 'S5' (or '|S5', '<S5', '>S5') is the bytes type of
// that width; 'U5' is an error, as unicode is not supported; anything else
// is not a string code (nullptr). Errors start with `context`.
absl::StatusOr<RecordTypePtr> StringTypeFromCode(absl::string_view code, absl::string_view context);

// Parses a descr as .npy headers and NumPy's dtype.descr spell it:
// "[('t', '<u8'), ('pos', '<f4', (3,)), ('', '|V4')]". Little-endian or
// byte-order-free scalar formats, and bytes ('|S5'), only.
absl::StatusOr<RecordTypePtr> RecordTypeFromDescr(absl::string_view descr);

// An array of records: shape, byte strides per record, a byte offset into a
// buffer. Views share the buffer; the bounds invariant of NDArray holds.
class RecordArray {
 public:
  RecordArray() = default;
  static absl::StatusOr<RecordArray> Zeros(Dims shape, RecordTypePtr type);
  static absl::StatusOr<RecordArray> FromBuffer(BufferPtr buffer, int64_t offset,
                                                RecordTypePtr type, Dims shape, Dims strides,
                                                bool writeable = true);

  bool valid() const { return type_ != nullptr; }
  const RecordTypePtr& type() const { return type_; }
  int ndim() const { return bytes_.ndim() - 1; }
  Dims shape() const { return bytes_.shape().subspan(0, ndim()); }
  Dims strides() const { return bytes_.strides().subspan(0, ndim()); }
  // The record count: the shape's product (checked when the array was made),
  // not bytes / itemsize, which a record of no bytes (('a', '<f4', (0,)))
  // makes a division by zero.
  int64_t size() const;
  int64_t itemsize() const { return type_->itemsize(); }
  int64_t nbytes() const { return bytes_.size(); }
  bool writeable() const { return bytes_.writeable(); }
  const BufferPtr& buffer() const { return bytes_.buffer(); }
  int64_t offset() const { return bytes_.offset(); }
  char* data() const { return bytes_.data(); }
  bool IsCContiguous() const { return bytes_.IsCContiguous(); }
  // The records' bytes as uint8 of shape shape() + (itemsize,).
  const NDArray& bytes() const { return bytes_; }
  std::string Describe() const;

  // rec['vel']: the field as a strided view, shape() + the field's
  // subshape. Fails for nested records (use Records).
  absl::StatusOr<NDArray> Field(absl::string_view name) const;
  // rec['inner'] of a nested record field.
  absl::StatusOr<RecordArray> Records(absl::string_view name) const;
  // Basic indexing over the record dimensions (a view).
  absl::StatusOr<RecordArray> Index(absl::Span<const IndexItem> items) const;
  absl::StatusOr<RecordArray> Copy() const;  // C order

 private:
  RecordArray(NDArray bytes, RecordTypePtr type)
      : bytes_(std::move(bytes)), type_(std::move(type)) {}
  NDArray bytes_;
  RecordTypePtr type_;
};

// NumPy's repr: "array([(0, [1., 2., 3.]), ...], dtype=[...])", and of
// bytes "array([b'abc', b'de'], dtype='|S5')".
std::string RecordArrayRepr(const RecordArray& a);

// Python's repr of a str (a field name) and of bytes: 'a\tb' and
// b'a\x00\n'. Single quotes unless the text holds one and no double quote;
// backslashes, the quote and control characters escaped, and in bytes every
// byte outside printable ASCII. What a .npy header's reader reads back.
std::string StrRepr(absl::string_view text);
std::string BytesRepr(absl::string_view bytes);

// An item of a bytes array as NumPy reads it (np.bytes_): its bytes up to
// the last one that is not NUL.
absl::string_view BytesItem(const char* item, int64_t width);

// a <op> b, elementwise with broadcasting, for arrays of bytes: NumPy's
// order, the bytes compared as unsigned, the shorter item padded with NULs.
enum class Comparison { kEqual, kNotEqual, kLess, kLessEqual, kGreater, kGreaterEqual };
absl::StatusOr<NDArray> CompareBytes(Comparison op, const RecordArray& a, const RecordArray& b);
// numexpr's contains(haystack, needle), elementwise with broadcasting:
// whether the needle's item occurs in the haystack's, both without their
// trailing NULs (an empty needle occurs in every item).
absl::StatusOr<NDArray> ContainsBytes(const RecordArray& haystack, const RecordArray& needle);

// A bytes array of `shape` holding `items` in C order, as wide as the
// longest item (at least 1 byte) unless `width` is given; longer items are
// cut to it, as NumPy's assignment cuts them.
absl::StatusOr<RecordArray> BytesArray(absl::Span<const std::string> items, Dims shape,
                                       int64_t width = 0);

}  // namespace ndjit
