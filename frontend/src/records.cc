#include "ndjit/records.h"

#include "absl/strings/str_cat.h"
#include "ndjit/error.h"
#include "ndjit/runtime/npy.h"

namespace ndjit {

RecordTypePtr record_dtype(const std::vector<FieldDesc>& fields, bool align) {
  std::vector<FieldSpec> specs;
  for (const FieldDesc& f : fields) {
    FieldSpec s{f.name, {}};
    s.format.subshape = f.shape;
    if (const auto* record = std::get_if<RecordTypePtr>(&f.format)) {
      if (*record == nullptr) {
        throw Error(absl::InvalidArgumentError(
            absl::StrCat("dtype(): field '", f.name, "' has a null record type")));
      }
      s.format.record = *record;
    } else {
      const std::string& code = std::get<std::string>(f.format);
      absl::StatusOr<DType> t = DTypeFromString(code);
      if (!t.ok()) {
        throw Error(absl::InvalidArgumentError(
            absl::StrCat("dtype(): field '", f.name, "': data type '", code, "' not understood")));
      }
      s.format.dtype = *t;
    }
    specs.push_back(std::move(s));
  }
  return ValueOrThrow(RecordType::Make(std::move(specs), align));
}

Records Records::zeros(Dims shape, RecordTypePtr type) {
  return Records(ValueOrThrow(RecordArray::Zeros(shape, std::move(type))));
}

Records Records::load(const std::string& path, bool mmap) {
  return Records(
      ValueOrThrow(mmap ? OpenRecordNpyMemmap(path, MmapMode::kReadOnly) : LoadRecordNpy(path)));
}

Array<> Records::operator[](absl::string_view field) const {
  return Array<>(ValueOrThrow(data_.Field(field)));
}

Records Records::records(absl::string_view field) const {
  return Records(ValueOrThrow(data_.Records(field)));
}

Records Records::index(absl::Span<const IndexItem> items) const {
  return Records(ValueOrThrow(data_.Index(items)));
}

void Records::save(const std::string& path) const { ThrowIfError(SaveNpy(path, data_)); }

}  // namespace ndjit
