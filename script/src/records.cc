// The language's record arrays: np.dtype(list, align=), zeros, load (also
// memory-mapped) and save of records, rec['field'], rec[index], and the
// attributes a record array has; and arrays of bytes, which are record
// arrays of the bytes type: b'..' literals, their comparisons and copies.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "args.h"
#include "ndjit/runtime/npy.h"
#include "ndjit/runtime/status_macros.h"
#include "value.h"

namespace ndjit::script {
namespace {

absl::StatusOr<RecordTypePtr> RecordDType(const Value& spec, bool align);

// One field: (name, format) or (name, format, shape); the format a dtype
// name, a dtype, or a nested list of fields.
absl::StatusOr<FieldSpec> Field(const Value& v, bool align) {
  if ((v.kind != Value::kTuple && v.kind != Value::kList) || v.items.size() < 2 ||
      v.items.size() > 3 || v.items[0].kind != Value::kString) {
    return Bad(
        absl::StrCat("dtype(): a field is a tuple (name, format) or (name, format, shape), "
                     "not ",
                     Repr(v)));
  }
  FieldSpec f{v.items[0].s, {}};
  const Value& format = v.items[1];
  if (format.kind == Value::kList || (format.kind == Value::kDType && format.record)) {
    NDJIT_ASSIGN_OR_RETURN(RecordTypePtr nested, format.kind == Value::kList
                                                     ? RecordDType(format, align)
                                                     : format.record);
    f.format.record = nested;
  } else if (absl::StatusOr<RecordTypePtr> bytes =
                 ToItemType(format, absl::StrCat("dtype(): field '", f.name, "'"));
             !bytes.ok() || *bytes != nullptr) {
    if (!bytes.ok()) return bytes.status();
    f.format.record = *bytes;
  } else {
    absl::StatusOr<DType> t = ToDType(format);
    if (!t.ok()) return Bad(absl::StrCat("dtype(): field '", f.name, "': ", t.status().message()));
    f.format.dtype = *t;
  }
  if (v.items.size() == 3) {
    NDJIT_ASSIGN_OR_RETURN(Shape s, ToShape(v.items[2], "field shape"));
    f.format.subshape = s;
  }
  return f;
}

absl::StatusOr<RecordTypePtr> RecordDType(const Value& spec, bool align) {
  std::vector<FieldSpec> fields;
  for (const Value& item : spec.items) {
    NDJIT_ASSIGN_OR_RETURN(FieldSpec f, Field(item, align));
    fields.push_back(std::move(f));
  }
  return RecordType::Make(std::move(fields), align);
}

// What NumPy's errors call an operand's dtype.
std::string DTypeRepr(const Value& v) {
  if (IsBytes(v)) {
    absl::StatusOr<RecordArray> r = ToBytesArray(v);
    return r.ok() ? r->type()->Repr() : KindName(v);
  }
  if (v.kind == Value::kRecords) return v.records.type()->Repr();
  absl::StatusOr<Array<>> x = ToArray(v, "ufunc");
  return x.ok() ? Repr(Value::DTypeOf(x->dtype())) : KindName(v);
}

absl::StatusOr<Shape> OperandShape(const Value& v) {
  if (IsBytes(v)) {
    NDJIT_ASSIGN_OR_RETURN(RecordArray r, ToBytesArray(v));
    return Shape(r.shape().begin(), r.shape().end());
  }
  NDJIT_ASSIGN_OR_RETURN(Array<> x, ToArray(v, "comparison"));
  return Shape(x.shape().begin(), x.shape().end());
}

// A predicate's result over bytes operands: of two items (np.bytes_) a
// bool, as NumPy's scalars give, else the array.
absl::StatusOr<Value> BoolResult(const std::vector<Value>& ins, absl::StatusOr<NDArray> out) {
  if (!out.ok()) return out.status();
  if (std::all_of(ins.begin(), ins.end(), [](const Value& v) { return v.kind == Value::kBytes; })) {
    return Value::Bool(*reinterpret_cast<const bool*>(out->data()));
  }
  return Value::Arr(Array<>(*std::move(out)));
}

absl::StatusOr<RecordTypePtr> RecordTypeArg(const Args& a, size_t index) {
  const Value* d = Arg(a, "dtype", index);
  return d == nullptr ? RecordTypePtr() : ToItemType(*d, "dtype()");
}

absl::StatusOr<MmapMode> ToMmapMode(const Value& v) {
  if (v.kind == Value::kString && (v.s == "r" || v.s == "c" || v.s == "r+")) {
    return v.s == "r"   ? MmapMode::kReadOnly
           : v.s == "c" ? MmapMode::kCopyOnWrite
                        : MmapMode::kReadWrite;
  }
  return Bad(absl::StrCat("load(): mmap_mode must be None, 'r', 'r+' or 'c', not ", Repr(v)));
}

}  // namespace

void AddRecords(std::map<std::string, Fn>& t) {
  t["dtype"] = [](Args& a) -> absl::StatusOr<Value> {
    if (a.pos.empty()) return Bad("dtype() missing required argument 'dtype'");
    const Value& spec = a.pos[0];
    NDJIT_ASSIGN_OR_RETURN(RecordTypePtr item, ToItemType(spec, "dtype()"));
    if (item != nullptr) return Value::RecordDType(item);
    if (spec.kind != Value::kList) {
      NDJIT_ASSIGN_OR_RETURN(DType d, ToDType(spec));
      return Value::DTypeOf(d);
    }
    NDJIT_ASSIGN_OR_RETURN(RecordTypePtr r, RecordDType(spec, Truthy(Arg(a, "align", 1), false)));
    return Value::RecordDType(r);
  };
  for (const char* fill : {"zeros", "ones", "full"}) {
    Fn plain = t[fill];
    t[fill] = [plain, fill = std::string(fill)](Args& a) -> absl::StatusOr<Value> {
      NDJIT_ASSIGN_OR_RETURN(RecordTypePtr d, RecordTypeArg(a, fill == "full" ? 2 : 1));
      if (d == nullptr) return plain(a);
      if (fill != "zeros") {
        return Bad(absl::StrCat(fill, "() of a ", (d)->is_bytes() ? "bytes" : "record",
                                " dtype: use zeros()"));
      }
      NDJIT_ASSIGN_OR_RETURN(Shape shape, ToShape(a.pos.empty() ? Value() : a.pos[0], "shape"));
      NDJIT_ASSIGN_OR_RETURN(RecordArray r, RecordArray::Zeros(shape, d));
      return Value::Records(std::move(r));
    };
  }
  // np.load(path, mmap_mode=None|'r'|'c'): an array or a record array, as
  // the file holds.
  t["load"] = [](Args& a) -> absl::StatusOr<Value> {
    if (a.pos.empty() || a.pos[0].kind != Value::kString) return Bad("load() needs a file name");
    const std::string& path = a.pos[0].s;
    std::optional<MmapMode> mode;
    if (const Value* m = Arg(a, "mmap_mode", 1); m != nullptr && m->kind != Value::kNone) {
      NDJIT_ASSIGN_OR_RETURN(MmapMode md, ToMmapMode(*m));
      mode = md;
    }
    NDJIT_ASSIGN_OR_RETURN(NpyHeader h, ReadNpyHeader(path));
    if (h.record) {
      NDJIT_ASSIGN_OR_RETURN(RecordArray r,
                             mode ? OpenRecordNpyMemmap(path, *mode) : LoadRecordNpy(path));
      return Value::Records(std::move(r));
    }
    NDJIT_ASSIGN_OR_RETURN(NDArray x, mode ? OpenNpyMemmap(path, *mode) : LoadNpy(path));
    return Value::Arr(Array<>(x));
  };
  // np.lib.format.open_memmap(path, mode='w+', dtype=, shape=): a new
  // .npy file mapped writeable, e.g. as the out= of a streamed evaluation.
  t["open_memmap"] = [](Args& a) -> absl::StatusOr<Value> {
    if (a.pos.empty() || a.pos[0].kind != Value::kString) {
      return Bad("open_memmap() needs a file name");
    }
    const Value* mode = Arg(a, "mode", 1);
    if (mode == nullptr || mode->kind != Value::kString || mode->s != "w+") {
      return Bad(
          "open_memmap(): only mode='w+' creates a file; use load(path, mmap_mode=...) "
          "to open one");
    }
    const Value* shape = Arg(a, "shape", 3);
    if (shape == nullptr) return Bad("open_memmap() missing required argument 'shape'");
    NDJIT_ASSIGN_OR_RETURN(Shape s, ToShape(*shape, "shape"));
    DType t = DType::kFloat64;
    if (const Value* d = Arg(a, "dtype", 2); d != nullptr && d->kind != Value::kNone) {
      NDJIT_ASSIGN_OR_RETURN(DType dt, ToDType(*d));
      t = dt;
    }
    NDJIT_ASSIGN_OR_RETURN(NDArray m, CreateNpyMemmap(a.pos[0].s, s, t));
    return Value::Arr(Array<>(m));
  };
  // copy(x) / x.copy() of records or bytes: C order.
  Fn copy = t["copy"];
  t["copy"] = [copy](Args& a) -> absl::StatusOr<Value> {
    if (a.pos.size() != 1 || (a.pos[0].kind != Value::kRecords && a.pos[0].kind != Value::kBytes)) {
      return copy(a);
    }
    if (a.pos[0].kind == Value::kBytes) return a.pos[0];
    NDJIT_ASSIGN_OR_RETURN(RecordArray r, a.pos[0].records.Copy());
    return Value::Records(std::move(r));
  };
  // numexpr's contains(haystack, needle) over bytes.
  t["contains"] = [](Args& a) -> absl::StatusOr<Value> {
    if (a.pos.size() != 2 || !IsBytes(a.pos[0]) || !IsBytes(a.pos[1])) {
      std::vector<std::string> kinds;
      for (const Value& v : a.pos) kinds.push_back(DTypeRepr(v));
      return Bad(absl::StrCat("contains() takes two bytes operands, not (",
                              absl::StrJoin(kinds, ", "), ")"));
    }
    absl::StatusOr<RecordArray> h = ToBytesArray(a.pos[0]), n = ToBytesArray(a.pos[1]);
    if (!h.ok()) return h.status();
    if (!n.ok()) return n.status();
    return BoolResult(a.pos, ContainsBytes(*h, *n));
  };
  Fn save = t["save"];
  t["save"] = [save](Args& a) -> absl::StatusOr<Value> {
    if (a.pos.size() != 2 || a.pos[0].kind != Value::kString || a.pos[1].kind != Value::kRecords) {
      return save(a);
    }
    NDJIT_RETURN_IF_ERROR(SaveNpy(a.pos[0].s, a.pos[1].records));
    return Value();
  };
}

absl::StatusOr<Value> RecordSubscript(const Value& rec, const std::vector<Value>& keys,
                                      absl::Span<const IndexItem> items) {
  if (keys.empty()) {
    NDJIT_ASSIGN_OR_RETURN(RecordArray r, rec.records.Index(items));
    // An item of bytes is np.bytes_, which the language holds as bytes.
    if (r.type()->is_bytes() && r.ndim() == 0) {
      return Value::Bytes(std::string(BytesItem(r.data(), r.itemsize())));
    }
    return Value::Records(std::move(r));
  }
  if (keys.size() != 1 || !items.empty() || keys[0].kind != Value::kString) {
    return Bad("a record array takes one field name, or integers, slices and ... as an index");
  }
  NDJIT_ASSIGN_OR_RETURN(const RecordField* f, rec.records.type()->Field(keys[0].s));
  if ((f)->format.record) {
    NDJIT_ASSIGN_OR_RETURN(RecordArray r, rec.records.Records(keys[0].s));
    return Value::Records(std::move(r));
  }
  NDJIT_ASSIGN_OR_RETURN(NDArray x, rec.records.Field(keys[0].s));
  return Value::Arr(Array<>(x));
}

absl::StatusOr<Value> RecordAttribute(const Value& rec, const std::string& name) {
  const RecordArray& r = rec.records;
  if (name == "dtype") return Value::RecordDType(r.type());
  if (name == "ndim") return Value::Int(r.ndim());
  if (name == "size") return Value::Int(r.size());
  if (name == "itemsize") return Value::Int(r.itemsize());
  if (name == "nbytes") return Value::Int(r.nbytes());
  if (name == "shape") return Value::IntTuple(r.shape());
  if (name == "strides") return Value::IntTuple(r.strides());
  if (name == "copy") return Value::Function(name, std::make_shared<Value>(rec));
  if (r.type()->is_bytes()) return Bad(absl::StrCat("bytes array has no attribute '", name, "'"));
  return Bad(
      absl::StrCat("record array has no attribute '", name, "' (fields are read as rec['name'])"));
}

absl::StatusOr<Value> DTypeAttribute(const Value& d, const std::string& name) {
  const RecordTypePtr& r = d.record;
  if (name == "itemsize") return Value::Int(r ? r->itemsize() : ItemSize(d.dtype));
  if (name == "alignment") {
    return Value::Int(r                    ? r->alignment()
                      : IsComplex(d.dtype) ? ItemSize(d.dtype) / 2
                                           : ItemSize(d.dtype));
  }
  const bool bytes = r && r->is_bytes();
  if (name == "name") {
    return Value::Str(r ? absl::StrCat(bytes ? "bytes" : "void", 8 * r->itemsize())
                        : std::string(Name(d.dtype)));
  }
  if (name == "kind") {
    return Value::Str(r ? (bytes ? "S" : "V") : std::string(1, static_cast<char>(Kind(d.dtype))));
  }
  if (name == "isalignedstruct") return Value::Bool(r && r->aligned());
  if ((!r || bytes) && (name == "names" || name == "fields")) return Value();  // NumPy's None
  if (bytes && name == "descr") return Value::Str(absl::StrCat("[('', ", r->Descr(), ")]"));
  if (r && name == "descr") return Value::Str(r->Descr());
  if (r && (name == "names" || name == "fields")) {
    Value t;
    t.kind = Value::kTuple;
    for (const RecordField& f : r->fields()) {
      if (name == "names") {
        t.items.push_back(Value::Str(f.name));
        continue;
      }
      Value entry;
      entry.kind = Value::kTuple;
      entry.items.push_back(Value::Str(f.name));
      entry.items.push_back(f.format.record ? Value::RecordDType(f.format.record)
                                            : Value::DTypeOf(f.format.dtype));
      entry.items.push_back(Value::Int(f.offset));
      t.items.push_back(std::move(entry));
    }
    return t;
  }
  return Bad(absl::StrCat("'numpy.dtype' object has no attribute '", name, "'"));
}

bool IsBytes(const Value& v) {
  if (v.kind == Value::kRecords) return v.records.type()->is_bytes();
  if ((v.kind == Value::kList || v.kind == Value::kTuple) && !v.items.empty()) {
    return IsBytes(v.items[0]);
  }
  return v.kind == Value::kBytes;
}

absl::StatusOr<RecordArray> ToBytesArray(const Value& v, int64_t width) {
  if (v.kind == Value::kRecords) {
    if (!v.records.type()->is_bytes()) {
      return Bad(absl::StrCat("expected bytes, not records of ", v.records.type()->Repr()));
    }
    return v.records;
  }
  Shape shape;
  std::vector<const Value*> leaves;
  NDJIT_RETURN_IF_ERROR(FlattenList(v, shape, leaves, [](const Value& x) {
    return x.kind == Value::kBytes
               ? absl::OkStatus()
               : Bad(absl::StrCat("array(): bytes and ", KindName(x), " do not mix in one array"));
  }));
  std::vector<std::string> items;
  for (const Value* x : leaves) items.push_back(x->s);
  return BytesArray(items, shape, width);
}

absl::StatusOr<Value> BytesUfunc(ir::Ufunc op, const std::vector<Value>& ins) {
  static constexpr std::pair<ir::Ufunc, Comparison> kComparisons[] = {
      {ir::Ufunc::kEqual, Comparison::kEqual},
      {ir::Ufunc::kNotEqual, Comparison::kNotEqual},
      {ir::Ufunc::kLess, Comparison::kLess},
      {ir::Ufunc::kLessEqual, Comparison::kLessEqual},
      {ir::Ufunc::kGreater, Comparison::kGreater},
      {ir::Ufunc::kGreaterEqual, Comparison::kGreaterEqual}};
  const auto* c = std::find_if(std::begin(kComparisons), std::end(kComparisons),
                               [op](const auto& entry) { return entry.first == op; });
  const bool both = ins.size() == 2 && IsBytes(ins[0]) && IsBytes(ins[1]);
  // NumPy 2: == and != of bytes and numbers are elementwise False and True;
  // nothing else has a loop.
  const bool equality = c != std::end(kComparisons) &&
                        (c->second == Comparison::kEqual || c->second == Comparison::kNotEqual);
  if (c == std::end(kComparisons) || (!both && !equality)) {
    std::vector<std::string> types;
    for (const Value& v : ins) types.push_back(DTypeRepr(v));
    return Bad(absl::StrCat("ufunc '", ir::Name(op),
                            "' did not contain a loop with signature matching types (",
                            absl::StrJoin(types, ", "), ") -> None"));
  }
  if (!both) {
    absl::StatusOr<Shape> a = OperandShape(ins[0]), b = OperandShape(ins[1]);
    if (!a.ok()) return a.status();
    if (!b.ok()) return b.status();
    NDJIT_ASSIGN_OR_RETURN(Shape shape, BroadcastShapes(*a, *b));
    NDJIT_ASSIGN_OR_RETURN(NDArray out,
                           NDArray::Full(shape, DType::kBool, c->second == Comparison::kNotEqual));
    return Value::Arr(Array<>(std::move(out)));
  }
  absl::StatusOr<RecordArray> a = ToBytesArray(ins[0]), b = ToBytesArray(ins[1]);
  if (!a.ok()) return a.status();
  if (!b.ok()) return b.status();
  return BoolResult(ins, CompareBytes(c->second, *a, *b));
}

}  // namespace ndjit::script
