// A graph as plain data: what pickling a lazy value, or shipping an
// expression to another process, carries. Leaves keep their arrays (the
// caller decides how to move their bytes); everything else is numbers.
// Rebuilding goes through the same constructors as building, so a record
// rebuilt over the same arrays interns to the very nodes it was taken from.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "ndjit/ir/graph.h"

namespace ndjit::ir {

struct NodeRecord {
  NodeKind kind = NodeKind::kScalar;
  DType dtype = DType::kFloat64;
  Shape shape;
  std::vector<int> inputs;     // indices of earlier records
  Ufunc op = Ufunc::kAdd;      // kUfunc, kReduce
  std::vector<int64_t> axes;   // kReduce
  bool keepdims = false;       // kReduce
  std::vector<int> labels[3];  // kContract: input 0's, input 1's, the result's
  ScalarValue scalar;          // kScalar
  int array = -1;              // kArray: index into GraphRecord::arrays
  // kRandom: the key, stream and word, and the index-space view: element i
  // reads index offset + sum(i[d] * strides[d]).
  uint64_t seed = 0, stream = 0;
  int word = 0;
  int64_t offset = 0;
  Strides strides;
};

struct GraphRecord {
  std::vector<NodeRecord> nodes;  // every node after its inputs
  std::vector<NDArray> arrays;    // the array leaves' values, each once
  std::vector<int> roots;         // records of the roots, in order
};

GraphRecord RecordGraph(absl::Span<const NodePtr> roots);
// Checks every index and field (a record may come from another process) and
// builds the roots again; errors name the record at fault.
absl::StatusOr<std::vector<NodePtr>> RebuildGraph(const GraphRecord& record);

}  // namespace ndjit::ir
