// The language's names for the C++ API's composite ufuncs (degrees,
// logaddexp, ...) and the *_like constructors and copy.
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "args.h"
#include "ndjit/runtime/status_macros.h"
#include "value.h"

namespace ndjit::script {
void AddComposites(std::map<std::string, Fn>& t) {
  using Unary = Array<> (*)(const Array<>&);
  for (const auto& [name, fn] :
       std::initializer_list<std::pair<const char*, Unary>>{{"degrees", degrees},
                                                            {"radians", radians},
                                                            {"rad2deg", rad2deg},
                                                            {"deg2rad", deg2rad},
                                                            {"signbit", signbit},
                                                            {"spacing", spacing},
                                                            {"bitwise_not", bitwise_not},
                                                            {"copy", copy}}) {
    t[name] = [name = std::string(name), fn = fn](Args& a) -> absl::StatusOr<Value> {
      NDJIT_ASSIGN_OR_RETURN(std::vector<Array<>> x, Operands(a.pos, name));
      return Value::Arr(fn((x)[0]));
    };
  }
  using Binary = Array<> (*)(const Array<>&, const Array<>&);
  for (const auto& [name, fn] :
       std::initializer_list<std::pair<const char*, Binary>>{{"logaddexp", logaddexp},
                                                             {"logaddexp2", logaddexp2},
                                                             {"heaviside", heaviside},
                                                             {"float_power", float_power}}) {
    t[name] = [name = std::string(name), fn = fn](Args& a) -> absl::StatusOr<Value> {
      NDJIT_ASSIGN_OR_RETURN(std::vector<Array<>> x, Operands(a.pos, name));
      return Value::Arr(fn((x)[0], (x)[1]));
    };
  }
  t["frexp"] = [](Args& a) -> absl::StatusOr<Value> {
    NDJIT_ASSIGN_OR_RETURN(std::vector<Array<>> x, Operands(a.pos, "frexp"));
    auto [m, e] = frexp((x)[0]);
    Value pair;
    pair.kind = Value::kTuple;
    pair.items = {Value::Arr(m), Value::Arr(e)};
    return pair;
  };
  for (const char* name : {"zeros_like", "ones_like", "full_like"}) {
    t[name] = [name = std::string(name)](Args& a) -> absl::StatusOr<Value> {
      NDJIT_ASSIGN_OR_RETURN(Array<> x, ToArray(a.pos[0], name));
      const bool full = name == "full_like";
      std::optional<DType> dtype;
      if (const Value* d = Arg(a, "dtype", full ? 2 : 1); d != nullptr && d->kind != Value::kNone) {
        NDJIT_ASSIGN_OR_RETURN(DType dt, ToDType(*d));
        dtype = dt;
      }
      double value = name == "ones_like" ? 1 : 0;
      if (full) {
        const Value* v = Arg(a, "fill_value", 1);
        NDJIT_ASSIGN_OR_RETURN(double f, ToFloat(*v, "fill_value"));
        value = f;
      }
      return Value::Arr(full_like(x, value, dtype));
    };
  }
}

}  // namespace ndjit::script
