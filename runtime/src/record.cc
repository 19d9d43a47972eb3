// Record dtypes: layout (NumPy's _convert_from_list rules), descr text, and
// record arrays as views of uint8 items.
#include "ndjit/runtime/record.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ndjit/runtime/status_macros.h"
#include "py_literal.h"

namespace ndjit {
namespace {

absl::Status DTypeError(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("dtype(): ", what));
}

int64_t RoundUp(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// A scalar's alignment is its size, a complex one's that of its parts (the
// C struct of two reals), a record's what it was laid out with.
int64_t Alignment(const FieldFormat& f) {
  if (f.record) return f.record->alignment();
  return IsComplex(f.dtype) ? ItemSize(f.dtype) / 2 : ItemSize(f.dtype);
}

int64_t ElemSize(const FieldFormat& f) {
  return f.record ? f.record->itemsize() : ItemSize(f.dtype);
}

// Checks names and sub-shapes; fills in NumPy's f0, f1, ... for empty names.
absl::StatusOr<std::vector<RecordField>> Fields(std::vector<FieldSpec> specs) {
  if (specs.empty()) return DTypeError("a record dtype needs at least one field");
  std::vector<RecordField> out;
  absl::flat_hash_set<std::string> seen;
  for (size_t i = 0; i < specs.size(); ++i) {
    FieldSpec& s = specs[i];
    if (s.name.empty()) s.name = absl::StrCat("f", i);
    if (!seen.insert(s.name).second) {
      return DTypeError(absl::StrCat("field '", s.name, "' occurs more than once"));
    }
    absl::StatusOr<int64_t> count = CheckedSize(s.format.subshape, ElemSize(s.format));
    if (!count.ok()) {
      return DTypeError(absl::StrCat("field '", s.name, "': ", count.status().message()));
    }
    RecordField f;
    f.name = std::move(s.name);
    f.elemsize = ElemSize(s.format);
    f.nbytes = *count * f.elemsize;
    f.format = std::move(s.format);
    out.push_back(std::move(f));
  }
  return out;
}

// NumPy's spelling of a scalar format inside a record's repr: no '|', '?'
// for bool.
std::string ReprFormat(DType t) {
  if (t == DType::kBool) return "'?'";
  absl::string_view d = Info(t).descr;
  if (d[0] == '|') d.remove_prefix(1);
  return absl::StrCat("'", d, "'");
}

// One field's format, as descr (`for_descr`) or repr spells it.
std::string FormatText(const FieldFormat& f, bool for_descr) {
  if (f.record && f.record->is_bytes() && !for_descr) {
    return absl::StrCat("'S", f.record->itemsize(), "'");
  }
  if (f.record) return for_descr ? f.record->Descr() : f.record->Repr();
  return for_descr ? absl::StrCat("'", Info(f.dtype).descr, "'") : ReprFormat(f.dtype);
}

std::string FieldTuple(const RecordField& f, bool for_descr) {
  std::string s = absl::StrCat("(", StrRepr(f.name), ", ", FormatText(f.format, for_descr));
  if (!f.format.subshape.empty()) absl::StrAppend(&s, ", ", ShapeRepr(f.format.subshape));
  return s + ")";
}

}  // namespace

absl::StatusOr<RecordTypePtr> RecordType::Make(std::vector<FieldSpec> specs, bool align) {
  NDJIT_ASSIGN_OR_RETURN(std::vector<RecordField> fields, Fields(std::move(specs)));
  auto t = std::make_shared<RecordType>();
  int64_t end = 0, max_align = 1;
  for (RecordField& f : fields) {
    if (align) {
      const int64_t a = Alignment(f.format);
      if (end > INT64_MAX - a)
        return DTypeError("the fields add up to more bytes than an array can hold");
      end = RoundUp(end, a);
      max_align = std::max(max_align, a);
    }
    f.offset = end;
    if (__builtin_add_overflow(end, f.nbytes, &end)) {
      return DTypeError("the fields add up to more bytes than an array can hold");
    }
  }
  t->fields_ = std::move(fields);
  t->aligned_ = align;
  t->alignment_ = align ? max_align : 1;
  if (align && end > INT64_MAX - max_align) {
    return DTypeError("the fields add up to more bytes than an array can hold");
  }
  t->itemsize_ = align ? RoundUp(end, max_align) : end;
  return t;
}

absl::StatusOr<RecordTypePtr> RecordType::WithOffsets(std::vector<FieldSpec> specs,
                                                      std::vector<int64_t> offsets,
                                                      int64_t itemsize) {
  if (offsets.size() != specs.size()) {
    return DTypeError(absl::StrCat(specs.size(), " fields but ", offsets.size(), " offsets"));
  }
  NDJIT_ASSIGN_OR_RETURN(std::vector<RecordField> fields, Fields(std::move(specs)));
  for (size_t i = 0; i < offsets.size(); ++i) {
    RecordField& f = (fields)[i];
    if (offsets[i] < 0 || offsets[i] > itemsize || f.nbytes > itemsize - offsets[i]) {
      return DTypeError(absl::StrCat("field '", f.name, "' of ", f.nbytes, " bytes at offset ",
                                     offsets[i], " does not fit in an itemsize of ", itemsize));
    }
    f.offset = offsets[i];
  }
  auto t = std::make_shared<RecordType>();
  t->fields_ = std::move(fields);
  t->itemsize_ = itemsize;
  return t;
}

absl::StatusOr<RecordTypePtr> RecordType::Bytes(int64_t width) {
  if (width < 1 || width > INT32_MAX) {
    return DTypeError(
        absl::StrCat("a bytes dtype is 1 to ", INT32_MAX, " bytes wide, not ", width));
  }
  auto t = std::make_shared<RecordType>();
  t->itemsize_ = width;
  t->bytes_ = true;
  return t;
}

absl::StatusOr<const RecordField*> RecordType::Field(absl::string_view name) const {
  if (bytes_) {
    return absl::InvalidArgumentError(
        absl::StrCat("no field of name '", name, "': bytes (", Repr(), ") have no fields"));
  }
  for (const RecordField& f : fields_) {
    if (f.name == name) return &f;
  }
  std::vector<std::string> names;
  for (const RecordField& f : fields_) names.push_back(StrRepr(f.name));
  return absl::InvalidArgumentError(absl::StrCat("no field of name '", name, "' (the fields are ",
                                                 absl::StrJoin(names, ", "), ")"));
}

bool RecordType::operator==(const RecordType& o) const {
  if (itemsize_ != o.itemsize_ || aligned_ != o.aligned_ || bytes_ != o.bytes_ ||
      fields_.size() != o.fields_.size()) {
    return false;
  }
  for (size_t i = 0; i < fields_.size(); ++i) {
    const RecordField &a = fields_[i], &b = o.fields_[i];
    if (a.name != b.name || a.offset != b.offset || a.format.subshape != b.format.subshape ||
        (a.format.record == nullptr) != (b.format.record == nullptr)) {
      return false;
    }
    if (a.format.record ? !(*a.format.record == *b.format.record)
                        : a.format.dtype != b.format.dtype) {
      return false;
    }
  }
  return true;
}

std::string RecordType::Descr() const {
  if (bytes_) return absl::StrCat("'|S", itemsize_, "'");
  // By offset, with the gaps spelled as unnamed void fields (NumPy's
  // dtype.descr), so that the offsets survive a round trip.
  std::vector<const RecordField*> order;
  for (const RecordField& f : fields_) order.push_back(&f);
  std::stable_sort(order.begin(), order.end(), [](const RecordField* a, const RecordField* b) {
    return a->offset < b->offset;
  });
  std::vector<std::string> items;
  int64_t at = 0;
  for (const RecordField* f : order) {
    if (f->offset > at) items.push_back(absl::StrCat("('', '|V", f->offset - at, "')"));
    items.push_back(FieldTuple(*f, /*for_descr=*/true));
    at = std::max(at, f->offset + f->nbytes);
  }
  if (itemsize_ > at) items.push_back(absl::StrCat("('', '|V", itemsize_ - at, "')"));
  return absl::StrCat("[", absl::StrJoin(items, ", "), "]");
}

std::string RecordType::Body(bool dict_form) const {
  bool packed = true;
  int64_t at = 0;
  for (const RecordField& f : fields_) {
    packed = packed && f.offset == at;
    at = f.offset + f.nbytes;
  }
  if (packed && at == itemsize_ && !dict_form) {
    std::vector<std::string> items;
    for (const RecordField& f : fields_) items.push_back(FieldTuple(f, /*for_descr=*/false));
    return absl::StrCat("[", absl::StrJoin(items, ", "), "]");
  }
  std::vector<std::string> names, formats, offsets;
  for (const RecordField& f : fields_) {
    names.push_back(StrRepr(f.name));
    const std::string fmt = FormatText(f.format, /*for_descr=*/false);
    formats.push_back(f.format.subshape.empty()
                          ? fmt
                          : absl::StrCat("(", fmt, ", ", ShapeRepr(f.format.subshape), ")"));
    offsets.push_back(absl::StrCat(f.offset));
  }
  return absl::StrCat("{'names': [", absl::StrJoin(names, ", "), "], 'formats': [",
                      absl::StrJoin(formats, ", "), "], 'offsets': [", absl::StrJoin(offsets, ", "),
                      "], 'itemsize': ", itemsize_,
                      dict_form && aligned_ ? ", 'aligned': True" : "", "}");
}

std::string RecordType::Repr() const {
  if (bytes_) return absl::StrCat("dtype('S", itemsize_, "')");
  return absl::StrCat("dtype(", Body(false), aligned_ ? ", align=True" : "", ")");
}

std::string RecordType::ArraySpec() const { return bytes_ ? Descr() : Body(aligned_); }

namespace internal {

absl::StatusOr<RecordTypePtr> RecordTypeFromDescr(const PyLiteral& descr,
                                                  absl::string_view context) {
  auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(context, ": ", what));
  };
  if (descr.kind != PyLiteral::kList) return error("a record descr must be a list of fields");
  std::vector<FieldSpec> specs;
  std::vector<int64_t> offsets;
  int64_t at = 0;
  for (const PyLiteral& item : descr.items) {
    const size_t n = item.items.size();
    if (item.kind != PyLiteral::kTuple || n < 2 || n > 3 ||
        item.items[0].kind != PyLiteral::kString) {
      return error("each field must be a tuple (name, format) or (name, format, shape)");
    }
    const std::string& name = item.items[0].text;
    const PyLiteral& format = item.items[1];
    FieldSpec spec{name, {}};
    if (n == 3) {
      const PyLiteral& shape = item.items[2];
      if (shape.kind == PyLiteral::kInt) {
        spec.format.subshape = {shape.i};
      } else if (shape.kind == PyLiteral::kTuple) {
        for (const PyLiteral& d : shape.items) {
          if (d.kind != PyLiteral::kInt) return error("a field's shape must be a tuple of ints");
          spec.format.subshape.push_back(d.i);
        }
      } else {
        return error(absl::StrCat("field '", name, "': the shape must be an int or a tuple"));
      }
    }
    if (format.kind == PyLiteral::kList) {
      NDJIT_ASSIGN_OR_RETURN(RecordTypePtr nested, RecordTypeFromDescr(format, context));
      spec.format.record = std::move(nested);
    } else if (format.kind == PyLiteral::kString) {
      const std::string& code = format.text;
      // Unnamed void fields are padding: they only move the offset.
      if (name.empty() && code.size() > 2 && (code[0] == '|' || code[0] == '<') && code[1] == 'V') {
        int64_t gap = 0;
        for (char c : code.substr(2)) {
          if (c < '0' || c > '9' || gap > (int64_t{1} << 40))
            return error("bad padding '" + code + "'");
          gap = gap * 10 + (c - '0');
        }
        if (__builtin_add_overflow(at, gap, &at)) return error("the fields overflow the record");
        continue;
      }
      NDJIT_ASSIGN_OR_RETURN(
          RecordTypePtr text,
          StringTypeFromCode(code, absl::StrCat(context, ": field '", name, "'")));
      absl::StatusOr<DType> t = DTypeFromString(code);
      if (text != nullptr) {
        spec.format.record = std::move(text);
      } else if (!t.ok() || code.size() < 2 || (code[0] != '<' && code[0] != '|') ||
                 Info(*t).descr.substr(1) != absl::string_view(code).substr(1)) {
        return error(absl::StrCat("field '", name, "' has the unsupported format '", code,
                                  "' (little-endian numeric formats such as '<f4' are)"));
      } else {
        spec.format.dtype = *t;
      }
    } else {
      return error(absl::StrCat("field '", name, "': the format must be a string or a list"));
    }
    specs.push_back(std::move(spec));
    offsets.push_back(at);
    absl::StatusOr<int64_t> count =
        CheckedSize(specs.back().format.subshape, ElemSize(specs.back().format));
    if (!count.ok()) return error(absl::StrCat("field '", name, "': ", count.status().message()));
    // CheckedSize has made sure the field's bytes fit; their sum must too.
    if (__builtin_add_overflow(at, *count * ElemSize(specs.back().format), &at)) {
      return error("the fields overflow the record");
    }
  }
  absl::StatusOr<RecordTypePtr> t = RecordType::WithOffsets(std::move(specs), offsets, at);
  if (!t.ok()) return error(t.status().message());
  return t;
}

}  // namespace internal

absl::StatusOr<RecordTypePtr> StringTypeFromCode(absl::string_view code,
                                                 absl::string_view context) {
  absl::string_view c = code;
  if (!c.empty() && (c[0] == '|' || c[0] == '<' || c[0] == '>' || c[0] == '=')) c.remove_prefix(1);
  if (c.size() < 2 || (c[0] != 'S' && c[0] != 'U')) return nullptr;
  int64_t width = 0;
  for (char d : c.substr(1)) {
    if (d < '0' || d > '9') return nullptr;
    width = std::min<int64_t>(width * 10 + (d - '0'), int64_t{1} << 40);
  }
  if (c[0] == 'U') {
    return absl::InvalidArgumentError(absl::StrCat(context, ": unicode strings (dtype '", code,
                                                   "') are not supported; bytes strings ('|S",
                                                   width, "') are"));
  }
  absl::StatusOr<RecordTypePtr> t = RecordType::Bytes(width);
  if (!t.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(context, ": '", code, "': ", t.status().message()));
  }
  return t;
}

absl::StatusOr<RecordTypePtr> RecordTypeFromDescr(absl::string_view descr) {
  NDJIT_ASSIGN_OR_RETURN(internal::PyLiteral lit, internal::ParsePyLiteral(descr, "record descr"));
  return internal::RecordTypeFromDescr(lit, "record descr");
}

// --- RecordArray ------------------------------------------------------------

namespace {

Shape Append(Dims dims, Dims more) {
  Shape s(dims.begin(), dims.end());
  s.insert(s.end(), more.begin(), more.end());
  return s;
}

}  // namespace

int64_t RecordArray::size() const {
  int64_t n = 1;
  for (int64_t d : shape()) n *= d;
  return n;
}

absl::StatusOr<RecordArray> RecordArray::Zeros(Dims shape, RecordTypePtr type) {
  if (type == nullptr) return absl::InvalidArgumentError("zeros(): the record type is null");
  // The record count must fit int64 even when the records hold no bytes.
  if (absl::StatusOr<int64_t> n = CheckedSize(shape); !n.ok()) return n.status();
  NDJIT_ASSIGN_OR_RETURN(NDArray bytes,
                         NDArray::Zeros(Append(shape, {type->itemsize()}), DType::kUInt8));
  return RecordArray(std::move(bytes), std::move(type));
}

absl::StatusOr<RecordArray> RecordArray::FromBuffer(BufferPtr buffer, int64_t offset,
                                                    RecordTypePtr type, Dims shape, Dims strides,
                                                    bool writeable) {
  if (type == nullptr) return absl::InvalidArgumentError("records: the record type is null");
  if (strides.size() != shape.size()) {
    return absl::InvalidArgumentError("records: shape and strides differ in length");
  }
  if (absl::StatusOr<int64_t> n = CheckedSize(shape); !n.ok()) return n.status();
  NDJIT_ASSIGN_OR_RETURN(
      NDArray bytes,
      NDArray::FromBuffer(std::move(buffer), offset, DType::kUInt8,
                          Append(shape, {type->itemsize()}), Append(strides, {1}), writeable));
  return RecordArray(std::move(bytes), std::move(type));
}

std::string RecordArray::Describe() const {
  return absl::StrCat(type_->Repr(), " ", ShapeRepr(shape()), " strides ", ShapeRepr(strides()),
                      " offset ", offset());
}

absl::StatusOr<NDArray> RecordArray::Field(absl::string_view name) const {
  NDJIT_ASSIGN_OR_RETURN(const RecordField* f, type_->Field(name));
  const FieldFormat& fmt = (f)->format;
  if (fmt.record) {
    return absl::InvalidArgumentError(
        absl::StrCat("field '", name, "' holds records (", fmt.record->Repr(),
                     "): take it as a record array, not a numeric one"));
  }
  return NDArray::FromBuffer(
      buffer(), offset() + (f)->offset, fmt.dtype, Append(shape(), fmt.subshape),
      Append(strides(), ContiguousStrides(fmt.subshape, (f)->elemsize, Order::kC)), writeable());
}

absl::StatusOr<RecordArray> RecordArray::Records(absl::string_view name) const {
  NDJIT_ASSIGN_OR_RETURN(const RecordField* f, type_->Field(name));
  const FieldFormat& fmt = (f)->format;
  if (!fmt.record) {
    return absl::InvalidArgumentError(
        absl::StrCat("field '", name, "' holds ", Name(fmt.dtype), " values, not records"));
  }
  return FromBuffer(buffer(), offset() + (f)->offset, fmt.record, Append(shape(), fmt.subshape),
                    Append(strides(), ContiguousStrides(fmt.subshape, (f)->elemsize, Order::kC)),
                    writeable());
}

absl::StatusOr<RecordArray> RecordArray::Index(absl::Span<const IndexItem> items) const {
  int consumed = 0;
  bool ellipsis = false;
  for (const IndexItem& it : items) {
    ellipsis = ellipsis || std::holds_alternative<Ellipsis>(it);
    consumed += std::holds_alternative<int64_t>(it) || std::holds_alternative<Slice>(it);
  }
  if (consumed > ndim()) {
    return absl::InvalidArgumentError(absl::StrCat("too many indices for array: array is ", ndim(),
                                                   "-dimensional, but ", consumed,
                                                   " were indexed"));
  }
  // The bytes' last dim is the item: an ellipsis must not reach it.
  std::vector<IndexItem> all(items.begin(), items.end());
  if (ellipsis) all.push_back(Slice{});
  NDJIT_ASSIGN_OR_RETURN(NDArray bytes, bytes_.Index(all));
  return RecordArray(std::move(bytes), type_);
}

absl::StatusOr<RecordArray> RecordArray::Copy() const {
  NDJIT_ASSIGN_OR_RETURN(NDArray bytes, bytes_.Copy(Order::kC));
  return RecordArray(std::move(bytes), type_);
}

}  // namespace ndjit
