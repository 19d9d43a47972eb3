// Internal to the script language: converting arguments of builtins, with
// Python's error texts.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ndjit/array.h"
#include "value.h"

namespace ndjit::script {

absl::Status Bad(const std::string& text);
// Python's type name of a value ("int", "tuple", "ndarray").
std::string KindName(const Value& v);
absl::StatusOr<int64_t> ToInt(const Value& v, const std::string& what);
absl::StatusOr<double> ToFloat(const Value& v, const std::string& what);
// A shape: an int, or a tuple or list of ints.
absl::StatusOr<Shape> ToShape(const Value& v, const std::string& what);
// Shape arguments given either as one tuple or as several ints.
absl::StatusOr<Shape> ShapeArgs(const std::vector<Value>& pos, size_t from,
                                const std::string& what);
// A scalar dtype (a dtype value or a name); record dtypes are refused.
absl::StatusOr<DType> ToDType(const Value& v);
// The item type a dtype argument names when it is not a scalar dtype: a
// record dtype, or bytes ('S5', dtype('S5')); nullptr otherwise.
absl::StatusOr<RecordTypePtr> ToItemType(const Value& v, const std::string& what);
// Keyword `name` (or positional `index`), if present.
const Value* Arg(const Args& a, const std::string& name, size_t index);
absl::StatusOr<Axis> ToAxis(const Value* v);
bool Truthy(const Value* v, bool dflt);
// The leaves of nested lists and tuples in C order and the shape of the
// nesting, fixed by the first path down; every other path must agree
// (NumPy's inhomogeneous-shape error). `leaf` vets each leaf as it is met.
using LeafCheck = std::function<absl::Status(const Value&)>;
absl::Status FlattenList(const Value& v, Shape& shape, std::vector<const Value*>& leaves,
                         const LeafCheck& leaf);
// np.array of nested lists or tuples of numbers: the shape from the
// nesting, float64 / int64 / bool as NumPy infers; ragged nesting fails.
absl::StatusOr<Array<>> ListToArray(const Value& v, const std::string& what);

// The ufunc of a Python operator ("+", "<=", ...) (operators.cc).
absl::StatusOr<ir::Ufunc> OperatorUfunc(const std::string& op);
// Python's arithmetic on two numbers (ints stay ints where Python's do).
absl::StatusOr<Value> NumberOp(const std::string& op, const Value& a, const Value& b);

}  // namespace ndjit::script
