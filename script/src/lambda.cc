#include "lambda.h"

#include "absl/strings/str_cat.h"
#include "args.h"
#include "ndjit/error.h"

namespace ndjit::script {
namespace {

// Binds `names` to `values` in `vars` until destroyed, then puts back what
// was there: a call's parameters shadow the session's variables.
class Scope {
 public:
  Scope(std::map<std::string, Value>& vars, const std::vector<std::string>& names,
        const std::vector<Value>& values)
      : vars_(vars) {
    for (size_t i = 0; i < names.size(); ++i) {
      auto it = vars_.find(names[i]);
      saved_.emplace_back(names[i],
                          it == vars_.end() ? std::nullopt : std::optional<Value>(it->second));
      vars_[names[i]] = values[i];
    }
  }
  ~Scope() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second.has_value()) {
        vars_[it->first] = *it->second;
      } else {
        vars_.erase(it->first);
      }
    }
  }

 private:
  std::map<std::string, Value>& vars_;
  std::vector<std::pair<std::string, std::optional<Value>>> saved_;
};

absl::StatusOr<Value> Apply(const Lambda& f, const std::vector<Value>& args,
                            std::map<std::string, Value>& vars, const Evaluator& eval) {
  if (args.size() != f.params.size()) {
    return Bad(absl::StrCat("<lambda>() takes ", f.params.size(), " positional argument(s) but ",
                            args.size(), " were given"));
  }
  Scope scope(vars, f.params, args);
  return eval(*f.body);
}

}  // namespace

NodePtr CloneSyntax(const Node& n) {
  auto c = std::make_unique<Node>();
  c->kind = n.kind;
  c->column = n.column;
  c->text = n.text;
  c->is_int = n.is_int;
  c->is_imag = n.is_imag;
  c->is_bytes = n.is_bytes;
  c->keywords = n.keywords;
  for (const NodePtr& k : n.kids) c->kids.push_back(k == nullptr ? nullptr : CloneSyntax(*k));
  for (const NodePtr& k : n.kwargs) c->kwargs.push_back(k == nullptr ? nullptr : CloneSyntax(*k));
  return c;
}

Value MakeLambda(const Node& syntax) {
  auto l = std::make_shared<Lambda>();
  l->params = syntax.keywords;
  l->body = CloneSyntax(*syntax.kids[0]);
  Value v;
  v.kind = Value::kLambda;
  v.lambda = std::move(l);
  return v;
}

absl::StatusOr<Value> CallLambda(const Value& f, const Args& args,
                                 std::map<std::string, Value>& vars, const Evaluator& eval) {
  if (!args.kw.empty()) {
    return Bad(absl::StrCat("<lambda>() got an unexpected keyword argument '",
                            args.kw.begin()->first, "'"));
  }
  const Lambda& l = *f.lambda;
  bool arrays = l.traced != nullptr;
  for (const Value& a : args.pos) arrays &= a.kind == Value::kArray;
  if (!arrays || args.pos.size() != l.params.size()) return Apply(l, args.pos, vars, eval);
  std::vector<NDArray> in;
  for (const Value& a : args.pos) in.push_back(a.array.array());
  std::vector<NDArray> out;
  try {
    out = (*l.traced)(in);
  } catch (const Error& e) {
    return absl::Status(e.code(), e.what());
  }
  if (out.size() == 1) return Value::Arr(Array<>(out[0]));
  Value t;
  t.kind = Value::kTuple;
  for (const NDArray& r : out) t.items.push_back(Value::Arr(Array<>(r)));
  return t;
}

absl::StatusOr<Value> Jit(const Args& args, std::map<std::string, Value>& vars,
                          const Evaluator& eval) {
  if (args.pos.size() != 1 || !args.kw.empty() || args.pos[0].kind != Value::kLambda) {
    return Bad("jit() takes one lambda, as jit(lambda a, b: ...)");
  }
  auto l = std::make_shared<Lambda>(*args.pos[0].lambda);
  // The trace runs the body over the arguments as lazy arrays; a value
  // that is not an array (a number) becomes a 0-d one.
  std::shared_ptr<const Lambda> body = args.pos[0].lambda;
  l->traced = std::make_shared<const Function>(
      [body, &vars, eval](const std::vector<Array<>>& xs) -> std::vector<Array<>> {
        std::vector<Value> in;
        for (const Array<>& x : xs) in.push_back(Value::Arr(x));
        absl::StatusOr<Value> v = Apply(*body, in, vars, eval);
        if (!v.ok()) throw Error(v.status());
        std::vector<Array<>> results;
        const std::vector<Value> items =
            v->kind == Value::kTuple ? v->items : std::vector<Value>{*v};
        for (const Value& item : items) {
          absl::StatusOr<Array<>> a = ToArray(item, "jit");
          if (!a.ok()) throw Error(a.status());
          results.push_back(*std::move(a));
        }
        return results;
      });
  Value v;
  v.kind = Value::kLambda;
  v.lambda = std::move(l);
  return v;
}

}  // namespace ndjit::script
