// Internal to the script language: run-time values and the builtins.
#pragma once

#include <complex>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ndjit/array.h"
#include "ndjit/random.h"
#include "ndjit/runtime/record.h"
#include "ndjit/script.h"

namespace ndjit::script {

struct Lambda;

struct Value {
  enum Kind {
    kNone,
    kArray,
    kInt,
    kFloat,
    kBool,
    kComplex,  // a Python complex number (1j, 2+3j)
    kString,
    kBytes,  // a Python bytes object (b'abc'), or an item of a bytes array
    kTuple,
    kList,
    kDType,    // a scalar dtype, or a record dtype when `record` is set
    kRecords,  // a record (structured) array, or an array of bytes
    kFunction,
    kModule,
    kGenerator,  // random.default_rng(seed): shared, so its stream count moves on
    kLambda,     // lambda a, b: ... (lambda.h), or jit(lambda ...)
  };
  Kind kind = kNone;
  Array<> array;
  int64_t i = 0;
  double f = 0;
  std::complex<double> c;  // kComplex
  std::string s;           // kString, kBytes; kFunction / kModule: the name
  std::vector<Value> items;
  DType dtype = DType::kFloat64;
  RecordTypePtr record;                  // kDType of records
  RecordArray records;                   // kRecords
  std::shared_ptr<Value> self;           // kFunction: the bound object of a method
  std::shared_ptr<Generator> rng;        // kGenerator
  std::shared_ptr<const Lambda> lambda;  // kLambda

  static Value Arr(Array<> a) {
    Value v;
    v.kind = kArray;
    v.array = std::move(a);
    return v;
  }
  static Value Int(int64_t x) {
    Value v;
    v.kind = kInt;
    v.i = x;
    return v;
  }
  static Value Float(double x) {
    Value v;
    v.kind = kFloat;
    v.f = x;
    return v;
  }
  static Value Complex(std::complex<double> x) {
    Value v;
    v.kind = kComplex;
    v.c = x;
    return v;
  }
  static Value Bool(bool x) {
    Value v;
    v.kind = kBool;
    v.i = x;
    return v;
  }
  static Value Str(std::string x) {
    Value v;
    v.kind = kString;
    v.s = std::move(x);
    return v;
  }
  static Value Bytes(std::string x) {
    Value v;
    v.kind = kBytes;
    v.s = std::move(x);
    return v;
  }
  static Value DTypeOf(DType t) {
    Value v;
    v.kind = kDType;
    v.dtype = t;
    return v;
  }
  static Value Function(std::string name, std::shared_ptr<Value> self = nullptr) {
    Value v;
    v.kind = kFunction;
    v.s = std::move(name);
    v.self = std::move(self);
    return v;
  }
  static Value IntTuple(Dims ints) {
    Value v;
    v.kind = kTuple;
    for (int64_t x : ints) v.items.push_back(Int(x));
    return v;
  }
  static Value Records(RecordArray r) {
    Value v;
    v.kind = kRecords;
    v.records = std::move(r);
    return v;
  }
  static Value RecordDType(RecordTypePtr t) {
    Value v;
    v.kind = kDType;
    v.record = std::move(t);
    return v;
  }
  bool IsNumber() const {
    return kind == kInt || kind == kFloat || kind == kBool || kind == kComplex;
  }
};

// Arguments of a call: positional, then keyword.
struct Args {
  std::vector<Value> pos;
  std::map<std::string, Value> kw;
};

// Calls builtin `name` (functions, and methods with `self` first).
absl::StatusOr<Value> CallBuiltin(const std::string& name, Args args);
// Whether `name` is a builtin function, or a method of arrays.
bool IsBuiltin(const std::string& name);
bool IsMethod(const std::string& name);
std::vector<std::string> BuiltinNames();

// The value as an array (numbers become 0-d arrays of NumPy's default
// dtypes), or an error naming `what`.
absl::StatusOr<Array<>> ToArray(const Value& v, const std::string& what);
// Applies ufunc `op` to values: Python numbers are weak (NEP 50) beside arrays.
absl::StatusOr<Value> ApplyUfunc(ir::Ufunc op, const std::vector<Value>& ins);
// The operands as arrays, Python numbers weak beside the first array
// `may_lead` allows (all when empty), or int64 where `is_exponent` says so:
// the one NEP 50 rule of the language.
absl::StatusOr<std::vector<Array<>>> Operands(const std::vector<Value>& ins,
                                              const std::string& what,
                                              const std::function<bool(size_t)>& may_lead = {},
                                              const std::function<bool(size_t)>& is_exponent = {});
// The language's record arrays: dtype(list, align=), zeros/load/save of
// records, rec['field'] and rec[index] (records.cc).
using Fn = std::function<absl::StatusOr<Value>(Args&)>;
void AddRecords(std::map<std::string, Fn>& table);
// The composite ufuncs, *_like and copy (composites.cc).
void AddComposites(std::map<std::string, Fn>& table);
// The reductions, nan-reductions and running reductions (reductions.cc).
void AddReductions(std::map<std::string, Fn>& table);
absl::StatusOr<Value> RecordSubscript(const Value& records, const std::vector<Value>& keys,
                                      absl::Span<const IndexItem> items);
absl::StatusOr<Value> RecordAttribute(const Value& records, const std::string& name);
// Whether a ufunc's operand is bytes: b'..', a bytes array, or a list of
// bytes; then ApplyUfunc hands the call to BytesUfunc (records.cc), which
// compares them and refuses other ufuncs.
bool IsBytes(const Value& v);
absl::StatusOr<Value> BytesUfunc(ir::Ufunc op, const std::vector<Value>& ins);
// np.array of bytes: b'..', a bytes array, or nested lists of bytes.
absl::StatusOr<RecordArray> ToBytesArray(const Value& v, int64_t width = 0);
// dtype attributes: name, itemsize, kind, alignment; of records also names,
// descr, isalignedstruct and fields ({name: (dtype, offset)}, as a tuple of
// (name, dtype, offset) here: the language has no dicts).
absl::StatusOr<Value> DTypeAttribute(const Value& dtype, const std::string& name);

// NumPy's repr of a value.
std::string Repr(const Value& v);

// A session's variables and evaluation as values, for the Python binding's
// evaluate over what its traced path cannot take (bytes).
struct SessionAccess {
  static void Set(Session& s, const std::string& name, Value v);
  static absl::StatusOr<Value> Evaluate(Session& s, absl::string_view expr);
};

}  // namespace ndjit::script
