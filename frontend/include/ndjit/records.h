// Record (structured) arrays in the DSL: NumPy's structured dtypes, whose
// fields are lazy arrays over the records' bytes.
//
//   auto particle = ndjit::record_dtype(
//       {{"t", "u8"}, {"pos", "f4", {3}}, {"vel", "f4", {3}}}, /*align=*/true);
//   ndjit::Records rec = ndjit::Records::load("particles.npy", /*mmap=*/true);
//   ndjit::Array<> v = rec["vel"];                // (n, 3) float32, stride 32 bytes
//   auto speed = sqrt(v[{Slice{}, 0}] * v[{Slice{}, 0}] + ...);  // reads fields in place
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "ndjit/array.h"
#include "ndjit/runtime/record.h"

namespace ndjit {

// One field of a record dtype: a name, a scalar format ("f4", "<u8",
// "float32") or a nested record, and an optional sub-array shape.
struct FieldDesc {
  FieldDesc(std::string name, std::string format, const Shape& shape = {})
      : name(std::move(name)), format(std::move(format)), shape(shape) {}
  FieldDesc(std::string name, RecordTypePtr record, const Shape& shape = {})
      : name(std::move(name)), format(std::move(record)), shape(shape) {}
  std::string name;
  std::variant<std::string, RecordTypePtr> format;
  Shape shape;
};

// np.dtype([...], align=align). Throws Error on a bad description.
RecordTypePtr record_dtype(const std::vector<FieldDesc>& fields, bool align = false);

class Records {
 public:
  Records() = default;
  explicit Records(RecordArray data) : data_(std::move(data)) {}
  static Records zeros(Dims shape, RecordTypePtr type);
  // np.load(path, mmap_mode='r' if mmap else None).
  static Records load(const std::string& path, bool mmap = false);

  bool valid() const { return data_.valid(); }
  const RecordTypePtr& dtype() const { return data_.type(); }
  Dims shape() const { return data_.shape(); }
  int ndim() const { return data_.ndim(); }
  int64_t size() const { return data_.size(); }
  const RecordArray& data() const { return data_; }

  // rec["vel"]: the field as an array over the same bytes (no copy); kernels
  // read it in place and eval_into can write it.
  Array<> operator[](absl::string_view field) const;
  // A field holding nested records.
  Records records(absl::string_view field) const;
  Records index(absl::Span<const IndexItem> items) const;
  Records operator[](std::initializer_list<IndexItem> items) const { return index(items); }

  std::string repr() const { return RecordArrayRepr(data_); }
  void save(const std::string& path) const;

 private:
  RecordArray data_;
};

}  // namespace ndjit
