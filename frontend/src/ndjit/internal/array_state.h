// What an Array handle points to: its node, which becomes an array leaf once
// the value has been computed. Shared by every copy of the handle.
#pragma once

#include <mutex>
#include "ndjit/ir/graph.h"

namespace ndjit::internal {

struct ArrayState {
  explicit ArrayState(ir::NodePtr n) : node(std::move(n)) {}

  ir::NodePtr Node() {
    std::lock_guard<std::mutex> lock(mu);
    return node;
  }

  std::mutex mu;
  ir::NodePtr node;  // guarded by mu
};

}  // namespace ndjit::internal
