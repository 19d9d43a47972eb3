#include "ndjit/runtime/arrow.h"

#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit {
namespace {

// Arrow's format strings for ndjit's dtypes. complex has no Arrow type.
struct FormatEntry {
  DType dtype;
  const char* format;
};
constexpr FormatEntry kFormats[] = {
    {DType::kBool, "b"},   {DType::kInt8, "c"},    {DType::kUInt8, "C"},   {DType::kInt16, "s"},
    {DType::kUInt16, "S"}, {DType::kInt32, "i"},   {DType::kUInt32, "I"},  {DType::kInt64, "l"},
    {DType::kUInt64, "L"}, {DType::kFloat16, "e"}, {DType::kFloat32, "f"}, {DType::kFloat64, "g"},
};

const char* FormatOf(DType t) {
  for (const FormatEntry& e : kFormats) {
    if (e.dtype == t) return e.format;
  }
  return nullptr;
}

std::optional<DType> DTypeOfFormat(absl::string_view format) {
  for (const FormatEntry& e : kFormats) {
    if (format == e.format) return e.dtype;
  }
  return std::nullopt;
}

constexpr absl::string_view kTensorExtension = "arrow.fixed_shape_tensor";

// The specification's metadata encoding: int32 pair count, then per pair an
// int32 length and the bytes of the key, the same for the value (native
// byte order).
std::string EncodeMetadata(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out;
  auto put_int = [&](int32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put_int(static_cast<int32_t>(pairs.size()));
  for (const auto& [k, v] : pairs) {
    put_int(static_cast<int32_t>(k.size()));
    out += k;
    put_int(static_cast<int32_t>(v.size()));
    out += v;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> DecodeMetadata(const char* md) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (md == nullptr) return pairs;
  auto get_int = [&]() {
    int32_t v;
    std::memcpy(&v, md, sizeof v);
    md += sizeof v;
    return v;
  };
  const int32_t n = get_int();
  for (int32_t i = 0; i < n; ++i) {
    const int32_t kn = get_int();
    std::string k(md, kn);
    md += kn;
    const int32_t vn = get_int();
    std::string v(md, vn);
    md += vn;
    pairs.emplace_back(std::move(k), std::move(v));
  }
  return pairs;
}

// ---------------------------------------------------------------------------
// Export: the arrays and schemas are built as plain trees, then laid out as
// the C structs, each node owning its own strings, buffers and children.

struct SchemaNode {
  std::string format, name, metadata;
  std::vector<SchemaNode> children;
};

struct ArrayNode {
  int64_t length = 0;
  std::vector<const void*> buffers;
  std::vector<NDArray> keep;  // holds the buffers' memory
  std::vector<ArrayNode> children;
};

struct SchemaData {
  std::string format, name, metadata;
  std::vector<std::unique_ptr<ArrowSchema>> children;
  std::vector<ArrowSchema*> child_ptrs;
};

struct ArrayData {
  std::vector<const void*> buffers;
  std::vector<NDArray> keep;
  std::vector<std::unique_ptr<ArrowArray>> children;
  std::vector<ArrowArray*> child_ptrs;
};

// A child the consumer moved out has a null release and is its own now.
void ReleaseSchema(ArrowSchema* s) {
  auto* d = static_cast<SchemaData*>(s->private_data);
  for (ArrowSchema* c : d->child_ptrs) {
    if (c->release != nullptr) c->release(c);
  }
  delete d;
  s->release = nullptr;
}

void ReleaseArray(ArrowArray* a) {
  auto* d = static_cast<ArrayData*>(a->private_data);
  for (ArrowArray* c : d->child_ptrs) {
    if (c->release != nullptr) c->release(c);
  }
  delete d;  // drops the arrays' references: their buffers may go now
  a->release = nullptr;
}

void Emit(SchemaNode node, ArrowSchema* out) {
  auto* d = new SchemaData{
      std::move(node.format), std::move(node.name), std::move(node.metadata), {}, {}};
  for (SchemaNode& c : node.children) {
    d->children.push_back(std::make_unique<ArrowSchema>());
    Emit(std::move(c), d->children.back().get());
    d->child_ptrs.push_back(d->children.back().get());
  }
  *out = ArrowSchema{d->format.c_str(),
                     d->name.c_str(),
                     d->metadata.empty() ? nullptr : d->metadata.data(),
                     0,
                     static_cast<int64_t>(d->child_ptrs.size()),
                     d->child_ptrs.empty() ? nullptr : d->child_ptrs.data(),
                     nullptr,
                     ReleaseSchema,
                     d};
}

void Emit(ArrayNode node, ArrowArray* out) {
  auto* d = new ArrayData{std::move(node.buffers), std::move(node.keep), {}, {}};
  for (ArrayNode& c : node.children) {
    d->children.push_back(std::make_unique<ArrowArray>());
    Emit(std::move(c), d->children.back().get());
    d->child_ptrs.push_back(d->children.back().get());
  }
  *out = ArrowArray{node.length,
                    0,
                    0,
                    static_cast<int64_t>(d->buffers.size()),
                    static_cast<int64_t>(d->child_ptrs.size()),
                    d->buffers.data(),
                    d->child_ptrs.empty() ? nullptr : d->child_ptrs.data(),
                    nullptr,
                    ReleaseArray,
                    d};
}

struct Exported {
  SchemaNode schema;
  ArrayNode array;
};

// The values of a C-contiguous array as one primitive Arrow array.
absl::StatusOr<ArrayNode> PrimitiveArray(const NDArray& c) {
  ArrayNode node;
  node.length = c.size();
  if (c.dtype() != DType::kBool) {
    node.buffers = {nullptr, c.data()};
    node.keep = {c};
    return node;
  }
  // Arrow's booleans are bits, LSB first.
  NDJIT_ASSIGN_OR_RETURN(NDArray bits, NDArray::Zeros({(c.size() + 7) / 8}, DType::kUInt8));
  auto* out = reinterpret_cast<uint8_t*>(bits.data());
  const auto* in = reinterpret_cast<const uint8_t*>(c.data());
  for (int64_t i = 0; i < c.size(); ++i) {
    if (in[i] != 0) out[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
  }
  node.buffers = {nullptr, bits.data()};
  node.keep = {bits};
  return node;
}

// An array of at least one dim: primitive when 1-D, else a
// fixed_shape_tensor over fixed_size_list<item>[prod(shape[1:])].
absl::StatusOr<Exported> ExportValues(const NDArray& a, std::string name) {
  const char* format = FormatOf(a.dtype());
  if (format == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("ExportArrow(): ", Name(a.dtype()),
                                                   " has no Arrow type (field '", name, "')"));
  }
  NDJIT_ASSIGN_OR_RETURN(NDArray c, AsContiguousArray(a));
  NDJIT_ASSIGN_OR_RETURN(ArrayNode values, PrimitiveArray(c));
  if (a.ndim() == 1) return Exported{{format, std::move(name), "", {}}, std::move(values)};
  const Dims inner = a.shape().subspan(1);
  int64_t list_size = 1;
  for (int64_t d : inner) list_size *= d;
  Exported e;
  e.schema = {absl::StrCat("+w:", list_size),
              std::move(name),
              EncodeMetadata({{"ARROW:extension:name", std::string(kTensorExtension)},
                              {"ARROW:extension:metadata",
                               absl::StrCat("{\"shape\":[", absl::StrJoin(inner, ","), "]}")}}),
              {{format, "item", "", {}}}};
  e.array.length = a.shape()[0];
  e.array.buffers = {nullptr};
  e.array.children.push_back(std::move(values));
  return e;
}

absl::StatusOr<Exported> ExportRecords(const RecordArray& r, std::string name) {
  if (r.type()->is_bytes()) {
    return absl::UnimplementedError(absl::StrCat("ExportArrow(): ", name.empty() ? "" : "field '",
                                                 name, name.empty() ? "" : "' of ", "bytes (",
                                                 r.type()->Repr(), ") has no Arrow form here yet"));
  }
  Exported e;
  e.schema = {"+s", std::move(name), "", {}};
  e.array.length = r.shape()[0];
  e.array.buffers = {nullptr};
  for (const RecordField& f : r.type()->fields()) {
    Exported child;
    if (f.format.record != nullptr) {
      if (!f.format.subshape.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("ExportArrow(): field '", f.name,
                                                       "' is a sub-array of records, which has "
                                                       "no Arrow form here"));
      }
      NDJIT_ASSIGN_OR_RETURN(RecordArray inner, r.Records(f.name));
      NDJIT_ASSIGN_OR_RETURN(child, ExportRecords(inner, f.name));
    } else {
      NDJIT_ASSIGN_OR_RETURN(NDArray field, r.Field(f.name));
      NDJIT_ASSIGN_OR_RETURN(child, ExportValues(field, f.name));
    }
    e.schema.children.push_back(std::move(child.schema));
    e.array.children.push_back(std::move(child.array));
  }
  return e;
}

absl::Status Publish(absl::StatusOr<Exported> e, ArrowSchema* schema, ArrowArray* array) {
  if (!e.ok()) return e.status();
  Emit(std::move(e->schema), schema);
  Emit(std::move(e->array), array);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Import.

// Releases a schema the importer owns when it goes out of scope.
struct SchemaGuard {
  ArrowSchema* s;
  ~SchemaGuard() {
    if (s->release != nullptr) s->release(s);
  }
};

// A moved ArrowArray, released once, by whichever thread drops the last
// NDArray that reads it.
struct Imported {
  ArrowArray array{};
  ~Imported() {
    if (array.release != nullptr) array.release(&array);
  }
};

absl::Status ImportError(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("ImportArrow(): ", what));
}

// "{"shape":[2,3],...}" -> `shape` {2, 3}; fixed_shape_tensor's permutation (a
// strided layout) is not taken.
absl::Status TensorShape(absl::string_view json, Shape& shape) {
  if (json.find("\"permutation\"") != absl::string_view::npos) {
    return ImportError(
        absl::StrCat("fixed_shape_tensor with a permutation is not supported: ", json));
  }
  const size_t key = json.find("\"shape\"");
  const size_t open = json.find('[', key);
  const size_t close = json.find(']', open);
  if (key == absl::string_view::npos || open == absl::string_view::npos ||
      close == absl::string_view::npos) {
    return ImportError(absl::StrCat("fixed_shape_tensor metadata without a shape: ", json));
  }
  shape.clear();
  const absl::string_view list = json.substr(open + 1, close - open - 1);
  if (list.find_first_not_of(" ") == absl::string_view::npos) return absl::OkStatus();
  for (absl::string_view part : absl::StrSplit(list, ',')) {
    int64_t d;
    if (!absl::SimpleAtoi(part, &d) || d < 0) {
      return ImportError(absl::StrCat("bad fixed_shape_tensor shape: ", json));
    }
    shape.push_back(d);
  }
  return absl::OkStatus();
}

// One level of the array: a primitive leaf or a fixed-size list of the next.
struct Level {
  const ArrowArray* array;
  int64_t list_size;  // 0 for the leaf
};

// The element type and the levels of `schema`/`array`, checked against each
// other; `inner` gets the dims below the first (list sizes, or a tensor's
// shape).
absl::StatusOr<DType> Describe(const ArrowSchema& schema, const ArrowArray& array,
                               std::vector<Level>& levels, Shape& inner) {
  if (schema.format == nullptr) return ImportError("the schema has no format");
  const absl::string_view format = schema.format;
  if (schema.dictionary != nullptr || array.dictionary != nullptr) {
    return ImportError(
        absl::StrCat("dictionary-encoded arrays (format '", format, "') are not supported"));
  }
  if (array.length < 0 || array.offset < 0) {
    return ImportError(absl::StrCat("negative length ", array.length, " or offset ", array.offset));
  }
  if (std::optional<DType> t = DTypeOfFormat(format)) {
    if (array.n_buffers != 2 || array.n_children != 0 || array.buffers == nullptr) {
      return ImportError(absl::StrCat("a primitive array (format '", format,
                                      "') needs 2 buffers and no children, not ", array.n_buffers,
                                      " and ", array.n_children));
    }
    levels.push_back({&array, 0});
    return *t;
  }
  int64_t list_size = -1;
  if (absl::StartsWith(format, "+w:") && absl::SimpleAtoi(format.substr(3), &list_size) &&
      list_size >= 0) {
    if (schema.n_children != 1 || schema.children == nullptr || array.n_children != 1 ||
        array.children == nullptr || array.n_buffers != 1 || array.buffers == nullptr) {
      return ImportError(
          "a fixed_size_list needs one child in the schema and in the array, "
          "and one buffer");
    }
    levels.push_back({&array, list_size});
    Shape below;
    NDJIT_ASSIGN_OR_RETURN(DType t,
                           Describe(*schema.children[0], *array.children[0], levels, below));
    Shape here = {list_size};
    std::string extension, extension_metadata;
    for (const auto& [k, v] : DecodeMetadata(schema.metadata)) {
      if (k == "ARROW:extension:name") extension = v;
      if (k == "ARROW:extension:metadata") extension_metadata = v;
    }
    if (extension == kTensorExtension) {
      Shape tensor;
      NDJIT_RETURN_IF_ERROR(TensorShape(extension_metadata, tensor));
      int64_t size = 1;
      for (int64_t d : tensor) size *= d;
      if (size != list_size || !below.empty()) {
        return ImportError(absl::StrCat("fixed_shape_tensor of shape ", ShapeString(tensor),
                                        " over lists of ", list_size));
      }
      here = tensor;
    }
    inner = here;
    inner.insert(inner.end(), below.begin(), below.end());
    return t;
  }
  return ImportError(absl::StrCat("Arrow format '", format,
                                  "' has no ndjit dtype (ndjit takes b c C s S i I l L e f g "
                                  "and fixed-size lists of them)"));
}

bool BitSet(const void* bits, int64_t i) {
  return (static_cast<const uint8_t*>(bits)[i / 8] >> (i % 8)) & 1;
}

}  // namespace

absl::Status ExportArrow(const NDArray& a, ArrowSchema* schema, ArrowArray* array) {
  if (!a.valid()) return absl::InvalidArgumentError("ExportArrow(): a null array");
  if (a.ndim() == 0) {
    return absl::InvalidArgumentError(
        "ExportArrow(): a 0-d array has no Arrow form; reshape it to (1,)");
  }
  return Publish(ExportValues(a, ""), schema, array);
}

absl::Status ExportArrow(const RecordArray& a, ArrowSchema* schema, ArrowArray* array) {
  if (!a.valid()) return absl::InvalidArgumentError("ExportArrow(): a null record array");
  if (a.ndim() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("ExportArrow(): a struct array is 1-D; this record array has shape ",
                     ShapeString(a.shape())));
  }
  return Publish(ExportRecords(a, ""), schema, array);
}

absl::StatusOr<NDArray> ImportArrow(ArrowSchema* schema, ArrowArray* array,
                                    const ArrowImportOptions& options) {
  if (schema == nullptr || array == nullptr) return ImportError("null schema or array");
  // Take both first, so every return below leaves nothing unreleased.
  auto held = std::make_shared<Imported>();
  if (array->release != nullptr) {
    held->array = *array;
    array->release = nullptr;
  }
  SchemaGuard schema_guard{schema};
  if (held->array.release == nullptr) return ImportError("the array was already released");
  if (schema->release == nullptr) return ImportError("the schema was already released");

  std::vector<Level> levels;
  Shape inner;
  NDJIT_ASSIGN_OR_RETURN(DType dtype, Describe(*schema, held->array, levels, inner));
  const int64_t length = held->array.length;
  Shape shape = {length};
  shape.insert(shape.end(), inner.begin(), inner.end());
  NDJIT_ASSIGN_OR_RETURN(const int64_t count, CheckedSize(shape, ItemSize(dtype)));

  // Walk down the levels: `first` is the physical index (offset included) of
  // this level's first element in its own buffers, `n` how many of its
  // elements the result holds; each covers count / n leaf elements. A child
  // of a fixed-size list holds list_size elements per parent element, from
  // the parent's physical index times list_size on.
  std::vector<std::pair<int64_t, int64_t>> null_ranges;  // [begin, end) of result elements
  int64_t first = levels[0].array->offset;
  int64_t n = length;
  for (size_t k = 0; k < levels.size(); ++k) {
    const ArrowArray& a = *levels[k].array;
    if (k > 0) {
      const int64_t list_size = levels[k - 1].list_size;
      if (__builtin_mul_overflow(first, list_size, &first) ||
          __builtin_add_overflow(first, a.offset, &first)) {
        return ImportError("offsets overflow int64");
      }
      n *= list_size;  // <= count, which did not overflow
      if (a.length < first - a.offset + n) {
        return ImportError(absl::StrCat("a child array of length ", a.length,
                                        " is shorter than its parent's lists need (",
                                        first - a.offset + n, ")"));
      }
    }
    if (a.null_count != 0 && a.buffers[0] == nullptr && a.null_count != -1) {
      return ImportError(
          absl::StrCat("the array claims ", a.null_count, " nulls but has no validity bitmap"));
    }
    if (a.null_count == 0 || a.buffers[0] == nullptr) continue;
    const int64_t per = n == 0 ? 0 : count / n;
    for (int64_t i = 0; i < n; ++i) {
      if (!BitSet(a.buffers[0], first + i)) null_ranges.emplace_back(i * per, (i + 1) * per);
    }
  }
  if (!null_ranges.empty() && !options.fill_nulls.has_value()) {
    return ImportError(absl::StrCat("the array has ", null_ranges.size(),
                                    " nulls and ndjit arrays have no missing values (set "
                                    "ArrowImportOptions::fill_nulls to replace them)"));
  }

  const ArrowArray& leaf = *levels.back().array;
  const Strides strides = ContiguousStrides(shape, ItemSize(dtype), Order::kC);
  if (count == 0) return NDArray::Empty(shape, dtype);
  const char* data = static_cast<const char*>(leaf.buffers[1]);
  if (data == nullptr) return ImportError("the values buffer is null");
  const int64_t itemsize = ItemSize(dtype);
  NDArray result;
  if (dtype == DType::kBool) {
    NDJIT_ASSIGN_OR_RETURN(result, NDArray::Empty(shape, dtype));
    for (int64_t i = 0; i < count; ++i) result.data()[i] = BitSet(data, first + i) ? 1 : 0;
  } else {
    int64_t first_byte;
    if (__builtin_mul_overflow(first, itemsize, &first_byte)) {
      return ImportError("offsets overflow int64");
    }
    const char* begin = data + first_byte;
    if (reinterpret_cast<uintptr_t>(begin) % itemsize == 0 && null_ranges.empty()) {
      // In place: the buffer's deleter holds the ArrowArray.
      BufferPtr buffer = Buffer::WrapExternal(const_cast<char*>(begin), count * itemsize,
                                              [held](void*, int64_t) {});
      return NDArray::FromBuffer(std::move(buffer), 0, dtype, shape, strides,
                                 /*writeable=*/false);
    }
    NDJIT_ASSIGN_OR_RETURN(result, NDArray::Empty(shape, dtype));
    std::memcpy(result.data(), begin, count * itemsize);
  }
  if (!null_ranges.empty()) {
    NDJIT_ASSIGN_OR_RETURN(NDArray fill, NDArray::Full({}, dtype, *options.fill_nulls));
    for (const auto& [b, e] : null_ranges) {
      for (int64_t i = b; i < e; ++i)
        std::memcpy(result.data() + i * itemsize, fill.data(), itemsize);
    }
  }
  return result;
}

}  // namespace ndjit
