// Internal to the frontend: einsum over labels already parsed, shared by
// einsum() and the functions of linalg.h that are einsums in disguise.
#pragma once

#include <string>
#include <vector>

#include "ndjit/array.h"
#include "ndjit/einsum_path.h"

namespace ndjit::internal {

// `labels[i]` names operand i's dims (a label may repeat: a diagonal);
// `output` the result's. Labels of size 1 broadcast against the others.
// Errors name `op` and the label, spelled by `spell`.
struct LabelledOperands {
  std::vector<Array<>> operands;
  std::vector<Labels> labels;
  Labels output;
};
Array<> ContractLabelled(LabelledOperands in, PathStrategy strategy, const std::string& op,
                         EinsumPath* path = nullptr);

}  // namespace ndjit::internal
