// The language's record arrays: np.dtype(list, align=), zeros, load (also
// memory-mapped) and save of records, rec['field'], rec[index], and the
// attributes a record array has.
#include "absl/strings/str_cat.h"
#include "args.h"
#include "ndjit/runtime/npy.h"
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
    absl::StatusOr<RecordTypePtr> nested =
        format.kind == Value::kList ? RecordDType(format, align) : format.record;
    if (!nested.ok()) return nested.status();
    f.format.record = *nested;
  } else {
    absl::StatusOr<DType> t = ToDType(format);
    if (!t.ok()) return Bad(absl::StrCat("dtype(): field '", f.name, "': ", t.status().message()));
    f.format.dtype = *t;
  }
  if (v.items.size() == 3) {
    absl::StatusOr<Shape> s = ToShape(v.items[2], "field shape");
    if (!s.ok()) return s.status();
    f.format.subshape = *s;
  }
  return f;
}

absl::StatusOr<RecordTypePtr> RecordDType(const Value& spec, bool align) {
  std::vector<FieldSpec> fields;
  for (const Value& item : spec.items) {
    absl::StatusOr<FieldSpec> f = Field(item, align);
    if (!f.ok()) return f.status();
    fields.push_back(*std::move(f));
  }
  return RecordType::Make(std::move(fields), align);
}

const Value* RecordTypeArg(const Args& a, size_t index) {
  const Value* d = Arg(a, "dtype", index);
  return d != nullptr && d->kind == Value::kDType && d->record ? d : nullptr;
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
    if (spec.kind != Value::kList) {
      absl::StatusOr<DType> d = ToDType(spec);
      if (!d.ok()) return d.status();
      return Value::DTypeOf(*d);
    }
    absl::StatusOr<RecordTypePtr> r = RecordDType(spec, Truthy(Arg(a, "align", 1), false));
    if (!r.ok()) return r.status();
    return Value::RecordDType(*r);
  };
  for (const char* fill : {"zeros", "ones", "full"}) {
    Fn plain = t[fill];
    t[fill] = [plain, fill = std::string(fill)](Args& a) -> absl::StatusOr<Value> {
      const Value* d = RecordTypeArg(a, fill == "full" ? 2 : 1);
      if (d == nullptr) return plain(a);
      if (fill != "zeros") return Bad(absl::StrCat(fill, "() of a record dtype: use zeros()"));
      absl::StatusOr<Shape> shape = ToShape(a.pos.empty() ? Value() : a.pos[0], "shape");
      if (!shape.ok()) return shape.status();
      absl::StatusOr<RecordArray> r = RecordArray::Zeros(*shape, d->record);
      if (!r.ok()) return r.status();
      return Value::Records(*std::move(r));
    };
  }
  // np.load(path, mmap_mode=None|'r'|'c'): an array or a record array, as
  // the file holds.
  t["load"] = [](Args& a) -> absl::StatusOr<Value> {
    if (a.pos.empty() || a.pos[0].kind != Value::kString) return Bad("load() needs a file name");
    const std::string& path = a.pos[0].s;
    std::optional<MmapMode> mode;
    if (const Value* m = Arg(a, "mmap_mode", 1); m != nullptr && m->kind != Value::kNone) {
      absl::StatusOr<MmapMode> md = ToMmapMode(*m);
      if (!md.ok()) return md.status();
      mode = *md;
    }
    absl::StatusOr<NpyHeader> h = ReadNpyHeader(path);
    if (!h.ok()) return h.status();
    if (h->record) {
      absl::StatusOr<RecordArray> r = mode ? OpenRecordNpyMemmap(path, *mode) : LoadRecordNpy(path);
      if (!r.ok()) return r.status();
      return Value::Records(*std::move(r));
    }
    absl::StatusOr<NDArray> x = mode ? OpenNpyMemmap(path, *mode) : LoadNpy(path);
    if (!x.ok()) return x.status();
    return Value::Arr(Array<>(*x));
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
    absl::StatusOr<Shape> s = ToShape(*shape, "shape");
    if (!s.ok()) return s.status();
    DType t = DType::kFloat64;
    if (const Value* d = Arg(a, "dtype", 2); d != nullptr && d->kind != Value::kNone) {
      absl::StatusOr<DType> dt = ToDType(*d);
      if (!dt.ok()) return dt.status();
      t = *dt;
    }
    absl::StatusOr<NDArray> m = CreateNpyMemmap(a.pos[0].s, *s, t);
    if (!m.ok()) return m.status();
    return Value::Arr(Array<>(*m));
  };
  Fn save = t["save"];
  t["save"] = [save](Args& a) -> absl::StatusOr<Value> {
    if (a.pos.size() != 2 || a.pos[0].kind != Value::kString || a.pos[1].kind != Value::kRecords) {
      return save(a);
    }
    if (absl::Status s = SaveNpy(a.pos[0].s, a.pos[1].records); !s.ok()) return s;
    return Value();
  };
}

absl::StatusOr<Value> RecordSubscript(const Value& rec, const std::vector<Value>& keys,
                                      absl::Span<const IndexItem> items) {
  if (keys.empty()) {
    absl::StatusOr<RecordArray> r = rec.records.Index(items);
    if (!r.ok()) return r.status();
    return Value::Records(*std::move(r));
  }
  if (keys.size() != 1 || !items.empty() || keys[0].kind != Value::kString) {
    return Bad("a record array takes one field name, or integers, slices and ... as an index");
  }
  absl::StatusOr<const RecordField*> f = rec.records.type()->Field(keys[0].s);
  if (!f.ok()) return f.status();
  if ((*f)->format.record) {
    absl::StatusOr<RecordArray> r = rec.records.Records(keys[0].s);
    if (!r.ok()) return r.status();
    return Value::Records(*std::move(r));
  }
  absl::StatusOr<NDArray> x = rec.records.Field(keys[0].s);
  if (!x.ok()) return x.status();
  return Value::Arr(Array<>(*x));
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
  if (name == "name") {
    return Value::Str(r ? absl::StrCat("void", 8 * r->itemsize()) : std::string(Name(d.dtype)));
  }
  if (name == "kind") {
    return Value::Str(r ? "V" : std::string(1, static_cast<char>(Kind(d.dtype))));
  }
  if (name == "isalignedstruct") return Value::Bool(r && r->aligned());
  if (!r && (name == "names" || name == "fields")) return Value();  // NumPy's None
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

}  // namespace ndjit::script
