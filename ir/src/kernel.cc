#include "ndjit/ir/kernel.h"

#include <algorithm>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kernel_body.h"
#include "ndjit/runtime/philox.h"
#include "ndjit/runtime/status_macros.h"
#include "ndjit/runtime/strided_loop.h"

namespace ndjit::ir {
namespace {

const char* AccessName(InnerAccess a) {
  switch (a) {
    case InnerAccess::kContiguous:
      return "contiguous";
    case InnerAccess::kBroadcast:
      return "broadcast";
    case InnerAccess::kStrided:
      return "strided";
    case InnerAccess::kTransposed:
      return "transposed";
    case InnerAccess::kIndex:
      return "index space";
  }
  return "?";
}

// float16 values live in float32 registers, so they cost 4 bytes a lane.
int RegisterBytes(DType t) { return t == DType::kFloat16 ? 4 : ItemSize(t); }

Order OutputOrder(absl::Span<const NDArray> inputs, Dims shape) {
  bool any = false;
  for (const NDArray& a : inputs) {
    if (a.shape() != shape) continue;
    if (!a.IsFContiguous() || a.IsCContiguous()) return Order::kC;
    any = true;
  }
  return any ? Order::kF : Order::kC;
}

}  // namespace

double MovedBytes(const KernelSpec& spec, Dims sizes, absl::Span<const Strides> strides) {
  double bytes = 0;
  for (size_t k = 0; k < strides.size(); ++k) {
    if (spec.inner[k] == InnerAccess::kIndex) continue;
    double elements = 1;
    for (size_t d = 0; d < sizes.size(); ++d) {
      if (strides[k][d] != 0) elements *= static_cast<double>(sizes[d]);
    }
    bytes += elements * static_cast<double>(ItemSize(spec.operands[k]));
  }
  return bytes;
}

int64_t FusedOps(const KernelSpec& spec) {
  int64_t ops = 0;
  for (const Instr& in : spec.body) ops += in.kind == Instr::kUfunc;
  return ops;
}

double Flops(const KernelSpec& spec, Dims sizes) {
  double elements = 1;
  for (int64_t s : sizes) elements *= static_cast<double>(s);
  int64_t ops = 0;
  for (const Instr& in : spec.body)
    ops += in.kind == Instr::kUfunc || in.kind == Instr::kAccumulate;
  return static_cast<double>(ops) * elements;
}

int WidestBytes(const KernelSpec& spec) {
  int widest = 1;
  for (const Instr& in : spec.body) {
    widest = std::max({widest, RegisterBytes(in.dtype), RegisterBytes(in.compute)});
  }
  return widest;
}

int InnerLanes(const KernelSpec& spec, int vector_bytes, int widest_bytes, int chains) {
  int random = 0, pairs = 0;
  for (const Instr& in : spec.body) {
    if (in.kind != Instr::kRandom) continue;
    ++random;
    pairs += in.param >= philox::kPairX;
  }
  // Pair words let one block serve two lanes: twice the lanes keep as many
  // blocks (independent chains) per step as per-element words have.
  const int factor = random == 0 ? 1 : random == pairs ? 8 : 4;
  return std::max(1, factor * chains * vector_bytes / widest_bytes);
}

void MarkIndexOperands(KernelSpec& spec) {
  for (const Instr& in : spec.body) {
    if (in.kind == Instr::kRandom) spec.inner[in.slot] = InnerAccess::kIndex;
  }
}

InnerAccess AccessOf(int64_t inner_stride, DType dtype) {
  return inner_stride == 0                 ? InnerAccess::kBroadcast
         : inner_stride == ItemSize(dtype) ? InnerAccess::kContiguous
                                           : InnerAccess::kStrided;
}

int BodyBuilder::Append(Instr in, const Node* node) {
  launch_.spec.body.push_back(std::move(in));
  launch_.instr_nodes.push_back(node);
  return static_cast<int>(launch_.spec.body.size()) - 1;
}

int BodyBuilder::CastTo(int value, DType to) {
  if (launch_.spec.body[value].dtype == to) return value;
  Instr c;
  c.kind = Instr::kCast;
  c.dtype = to;
  c.compute = to;
  c.args = {value};
  return Append(std::move(c));
}

absl::Status BodyBuilder::Emit(absl::Span<const NodePtr> values) {
  KernelSpec& spec = launch_.spec;
  for (const Node* n : TopologicalOrder(values)) {
    if (value_of_.contains(n)) continue;
    Instr in;
    in.dtype = n->dtype();
    in.compute = n->dtype();
    switch (n->kind()) {
      case NodeKind::kArray: {
        NDJIT_ASSIGN_OR_RETURN(NDArray b, n->array().BroadcastTo(shape_));
        in.kind = Instr::kLoad;
        in.slot = static_cast<int>(spec.operands.size());
        spec.operands.push_back(n->dtype());
        inputs_.push_back(b);
        break;
      }
      case NodeKind::kScalar:
        in.kind = Instr::kScalarArg;
        in.slot = static_cast<int>(spec.scalars.size());
        spec.scalars.push_back(n->dtype());
        launch_.scalar_values.push_back(n->scalar());
        break;
      case NodeKind::kRandom: {
        NDJIT_ASSIGN_OR_RETURN(NDArray b, n->array().BroadcastTo(shape_));
        in.kind = Instr::kRandom;
        in.param = n->word();
        const std::vector<int64_t> strides(b.strides().begin(), b.strides().end());
        auto same =
            std::find_if(random_sources_.begin(), random_sources_.end(), [&](const auto& r) {
              return r.data == b.data() && r.strides == strides && r.seed == n->seed() &&
                     r.stream == n->stream();
            });
        if (same != random_sources_.end()) {
          in.slot = same->slot;
          in.args = same->args;
          break;
        }
        // Seed, stream and origin as uint64 scalar arguments: kernels differ
        // by structure only, never by seed.
        const uint64_t values[3] = {n->seed(), n->stream(),
                                    reinterpret_cast<uintptr_t>(RandomOrigin())};
        for (uint64_t v : values) {
          Instr arg;
          arg.kind = Instr::kScalarArg;
          arg.dtype = arg.compute = DType::kUInt64;
          arg.slot = static_cast<int>(spec.scalars.size());
          spec.scalars.push_back(DType::kUInt64);
          ScalarValue sv;
          sv.i = static_cast<int64_t>(v);
          launch_.scalar_values.push_back(sv);
          in.args.push_back(Append(std::move(arg)));
        }
        in.slot = static_cast<int>(spec.operands.size());
        spec.operands.push_back(DType::kUInt8);
        inputs_.push_back(b);
        random_sources_.push_back({b.data(), strides, n->seed(), n->stream(), in.slot, in.args});
        break;
      }
      case NodeKind::kCast:
        in.kind = Instr::kCast;
        in.args = {value_of_.at(n->inputs()[0].get())};
        break;
      case NodeKind::kUfunc: {
        in.kind = Instr::kUfunc;
        in.op = n->op();
        in.compute = n->compute_dtype();
        for (size_t k = 0; k < n->inputs().size(); ++k) {
          const DType to =
              IsCondition(n->op(), static_cast<int>(k)) ? DType::kBool : n->compute_dtype();
          in.args.push_back(CastTo(value_of_.at(n->inputs()[k].get()), to));
        }
        break;
      }
      case NodeKind::kReduce:
      case NodeKind::kContract:
        return absl::InternalError(
            "a kernel body cannot hold a reduction: its result must be computed first");
    }
    value_of_[n] = Append(std::move(in), n);
  }
  return absl::OkStatus();
}

std::string KernelSpec::Bytes() const {
  // Little-endian fixed-width fields, counts before lists: no two distinct
  // specs share an encoding. A new field of KernelSpec or Instr goes here.
  std::string out;
  out.reserve(64 + 16 * body.size());
  auto put = [&](int64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(static_cast<uint64_t>(v) >> 8 * i));
  };
  put(rank);
  put(lanes);
  put(num_outputs);
  put(stream_outputs);
  put(reduce_inner);
  put(unroll);
  put(static_cast<int64_t>(operands.size()));
  for (DType t : operands) put(static_cast<int64_t>(t));
  put(static_cast<int64_t>(inner.size()));
  for (InnerAccess a : inner) put(static_cast<int64_t>(a));
  put(static_cast<int64_t>(scalars.size()));
  for (DType t : scalars) put(static_cast<int64_t>(t));
  put(static_cast<int64_t>(body.size()));
  for (const Instr& in : body) {
    put(static_cast<int64_t>(in.kind) | static_cast<int64_t>(in.dtype) << 8 |
        static_cast<int64_t>(in.compute) << 16 | static_cast<int64_t>(in.op) << 24 |
        static_cast<int64_t>(in.compensated) << 40);
    put(in.slot);
    put(in.param);
    put(static_cast<int64_t>(in.args.size()));
    for (int a : in.args) put(a);
  }
  return out;
}

size_t KernelSpec::Hash() const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : Bytes()) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return static_cast<size_t>(h);
}

absl::StatusOr<KernelLaunch> PlanElementwiseKernel(absl::Span<const NodePtr> outputs,
                                                   int vector_bytes, absl::Span<const NDArray> out,
                                                   const ArrayMaker& make_outputs, LoopNest loops,
                                                   bool out_blocks) {
  if (outputs.empty()) return absl::InvalidArgumentError("PlanElementwiseKernel(): no outputs");
  const Shape shape(outputs[0]->shape().begin(), outputs[0]->shape().end());
  for (const NodePtr& o : outputs) {
    if (o->shape() != Dims(shape)) {
      return absl::InvalidArgumentError(
          absl::StrCat("PlanElementwiseKernel(): outputs of shapes ", ShapeString(shape), " and ",
                       ShapeString(o->shape()), " cannot share a loop nest"));
    }
  }
  KernelLaunch launch;
  KernelSpec& spec = launch.spec;
  spec.num_outputs = static_cast<int>(outputs.size());
  for (const NodePtr& o : outputs) spec.operands.push_back(o->dtype());
  launch.arrays.resize(outputs.size());

  BodyBuilder body(launch, shape);
  NDJIT_RETURN_IF_ERROR(body.Emit(outputs));
  for (int k = 0; k < spec.num_outputs; ++k) {
    Instr st;
    st.kind = Instr::kStore;
    st.dtype = outputs[k]->dtype();
    st.compute = st.dtype;
    st.slot = k;
    st.args = {body.ValueOf(outputs[k].get())};
    body.Append(std::move(st));
  }
  for (NDArray& a : body.inputs()) launch.arrays.push_back(std::move(a));
  NDJIT_RETURN_IF_ERROR(
      LayOutLoops(launch, shape, vector_bytes, out, make_outputs, loops, out_blocks));
  return launch;
}

absl::Status LayOutLoops(KernelLaunch& launch, Dims shape, int vector_bytes,
                         absl::Span<const NDArray> out, const ArrayMaker& make_outputs,
                         LoopNest loops, bool out_blocks) {
  KernelSpec& spec = launch.spec;
  const absl::Span<const NDArray> inputs =
      absl::MakeConstSpan(launch.arrays).subspan(spec.num_outputs);
  const Order order = OutputOrder(inputs, shape);
  for (int k = 0; k < spec.num_outputs; ++k) {
    const DType dtype = spec.operands[k];
    if (!out.empty()) {
      if (static_cast<int>(out.size()) != spec.num_outputs || out[k].shape() != shape ||
          out[k].dtype() != dtype || !out[k].writeable()) {
        return absl::InvalidArgumentError(
            absl::StrCat("PlanElementwiseKernel(): out array ", k, " (", out[k].Describe(),
                         ") does not take a writeable ", TypeString(dtype, shape)));
      }
      launch.arrays[k] = out[k];
      continue;
    }
    NDJIT_ASSIGN_OR_RETURN(NDArray fresh, make_outputs ? make_outputs(shape, dtype, order)
                                                       : NDArray::Empty(shape, dtype, order));
    launch.arrays[k] = std::move(fresh);
  }

  std::vector<Dims> strides;
  for (const NDArray& a : launch.arrays) strides.push_back(a.strides());
  CoalescedDims c;
  if (loops == LoopNest::kCoalesced) {
    c = CoalesceDims(shape, strides);
  } else {
    c.sizes.assign(shape.begin(), shape.end());
    c.empty = absl::c_linear_search(shape, 0);
    for (Dims s : strides) c.strides.emplace_back(s.begin(), s.end());
  }
  launch.empty = c.empty;
  if (c.empty || c.sizes.empty()) {
    launch.sizes = {c.empty ? 0 : 1};
    launch.strides.assign(launch.arrays.size(), Strides{0});
  } else {
    launch.sizes.assign(c.sizes.begin(), c.sizes.end());
    for (const auto& s : c.strides) launch.strides.emplace_back(s.begin(), s.end());
  }
  spec.rank = static_cast<int>(launch.sizes.size());
  spec.inner.clear();
  for (size_t k = 0; k < launch.arrays.size(); ++k) {
    spec.inner.push_back(AccessOf(launch.strides[k].back(), spec.operands[k]));
  }
  MarkIndexOperands(spec);
  spec.lanes = InnerLanes(spec, vector_bytes, WidestBytes(spec), 1);
  // Inputs that run along the second-innermost loop while the outputs run
  // along the innermost: 2-D tiles, so both sides are read along lines.
  if (spec.rank >= 2 && spec.lanes >= 4) {
    bool outputs_contiguous = true;
    for (int k = 0; k < spec.num_outputs; ++k) {
      outputs_contiguous &= spec.inner[k] == InnerAccess::kContiguous;
    }
    for (size_t k = spec.num_outputs; k < spec.inner.size() && outputs_contiguous; ++k) {
      const int64_t item = ItemSize(spec.operands[k]);
      if (spec.inner[k] == InnerAccess::kStrided && !IsComplex(spec.operands[k]) && item >= 4 &&
          launch.strides[k][spec.rank - 2] == item) {
        spec.inner[k] = InnerAccess::kTransposed;
      }
    }
  }
  // Streaming stores pay off once the output is far larger than the caches,
  // and need every full vector store aligned to the vector's size.
  constexpr int64_t kStreamingBytes = int64_t{4} << 20;
  // Every row must start on a vector boundary for that.
  // (Not for boxes: a box's rows start wherever the box does.)
  bool stream = (out.empty() || out_blocks) && !launch.empty && loops == LoopNest::kCoalesced;
  for (int k = 0; k < spec.num_outputs && stream; ++k) {
    const int64_t vector = int64_t{spec.lanes} * ItemSize(spec.operands[k]);
    stream = spec.inner[k] == InnerAccess::kContiguous &&
             (out_blocks || launch.arrays[k].nbytes() >= kStreamingBytes) &&
             reinterpret_cast<uintptr_t>(launch.arrays[k].data()) % vector == 0;
    for (int d = 0; d + 1 < spec.rank && stream; ++d) stream = launch.strides[k][d] % vector == 0;
  }
  spec.stream_outputs = stream;
  return absl::OkStatus();
}

std::string PrintKernel(const KernelLaunch& launch, const std::vector<std::string>& labels) {
  return PrintKernel(launch.spec, launch.sizes, launch.strides, labels);
}

std::string PrintKernel(const KernelSpec& spec, Dims sizes, absl::Span<const Strides> strides,
                        const std::vector<std::string>& labels) {
  auto operand_name = [&](int k) {
    return k < spec.num_outputs ? absl::StrCat("out", k) : absl::StrCat("in", k - spec.num_outputs);
  };
  std::vector<std::string> params;
  for (int k = 0; k < static_cast<int>(spec.operands.size()); ++k) {
    params.push_back(absl::StrCat(operand_name(k), " ", ShortTypeName(spec.operands[k]), " (",
                                  AccessName(spec.inner[k]), ")"));
  }
  for (size_t s = 0; s < spec.scalars.size(); ++s) {
    params.push_back(absl::StrCat("s", s, " ", ShortTypeName(spec.scalars[s])));
  }
  std::string out = absl::StrCat("kernel(", absl::StrJoin(params, ", "), ")\n");
  std::string indent = "  ";
  std::vector<std::string> index;
  for (int d = 0; d < spec.rank; ++d) {
    index.push_back(absl::StrCat("i", d));
    const bool inner = d + 1 == spec.rank;
    std::vector<std::string> notes;
    std::string step;
    if (inner && spec.lanes > 1) {
      step = absl::StrCat(" step ", spec.lanes);
      notes.push_back(absl::StrCat("vector x", spec.lanes, ", masked tail"));
      if (std::count(spec.inner.begin(), spec.inner.end(), InnerAccess::kTransposed) > 0) {
        notes.push_back(absl::StrCat(spec.lanes, "x", spec.lanes, " tiles with the loop above"));
      }
      if (spec.stream_outputs) notes.push_back("streaming stores");
      if (spec.reduce_inner) notes.push_back("reduced in registers");
    } else if (spec.unroll > 1 && d + 2 == spec.rank) {
      step = absl::StrCat(" step ", spec.unroll);
      notes.push_back(absl::StrCat(spec.unroll, " rows folded in registers per update"));
    }
    // The runtime splits loop 0 between threads when no two of its
    // iterations write one output element.
    bool parallel = d == 0 && sizes[0] > 1;
    for (int k = 0; k < spec.num_outputs && parallel; ++k) parallel = strides[k][0] != 0;
    notes.push_back(parallel ? "parallel" : "serial");
    absl::StrAppend(&out, indent, "for i", d, " in [0, ", sizes[d], ")", step, ": ",
                    absl::StrJoin(notes, ", "), "\n");
    indent += "  ";
  }
  const std::string at = absl::StrCat("[", absl::StrJoin(index, ", "), "]");
  for (size_t i = 0; i < spec.body.size(); ++i) {
    const Instr& in = spec.body[i];
    std::vector<std::string> args;
    for (int a : in.args) args.push_back(absl::StrCat("%", a));
    absl::StrAppend(&out, indent);
    switch (in.kind) {
      case Instr::kLoad:
        absl::StrAppend(&out, "%", i, " = load ", ShortTypeName(in.dtype), " ",
                        operand_name(in.slot), at);
        break;
      case Instr::kScalarArg:
        absl::StrAppend(&out, "%", i, " = scalar ", ShortTypeName(in.dtype), " s", in.slot);
        break;
      case Instr::kRandom:
        absl::StrAppend(&out, "%", i, " = philox4x32-10 ", ShortTypeName(in.dtype), " word ",
                        in.param, " of index ", operand_name(in.slot), at, ", key ", args[0],
                        ", stream ", args[1]);
        break;
      case Instr::kCast:
        absl::StrAppend(&out, "%", i, " = cast ", ShortTypeName(in.dtype), " ", args[0]);
        break;
      case Instr::kUfunc:
        absl::StrAppend(&out, "%", i, " = ", Name(in.op), " ", ShortTypeName(in.dtype), " ",
                        absl::StrJoin(args, ", "));
        break;
      case Instr::kStore:
        absl::StrAppend(&out, "store ", operand_name(in.slot), at, ", ", args[0]);
        break;
      case Instr::kAccumulate:
        absl::StrAppend(
            &out, "accumulate ", Name(in.op), " ", ShortTypeName(in.dtype),
            in.compute != in.dtype ? absl::StrCat(" (from ", ShortTypeName(in.compute), ")") : "",
            in.compensated ? " (compensated)" : "", " ", operand_name(in.slot), at, ", ", args[0]);
        break;
    }
    if (i < labels.size() && !labels[i].empty()) absl::StrAppend(&out, "    # ", labels[i]);
    out += "\n";
  }
  return out;
}

}  // namespace ndjit::ir
