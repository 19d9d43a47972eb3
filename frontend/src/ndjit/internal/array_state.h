// What an Array handle points to: its node, which becomes an array leaf once
// the value has been computed. Shared by every copy of the handle.
#pragma once

#include "absl/synchronization/mutex.h"
#include "ndjit/ir/graph.h"

namespace ndjit::internal {

struct ArrayState {
  explicit ArrayState(ir::NodePtr n) : node(std::move(n)) {}

  ir::NodePtr Node() {
    absl::MutexLock lock(&mu);
    return node;
  }

  absl::Mutex mu;
  ir::NodePtr node ABSL_GUARDED_BY(mu);
};

}  // namespace ndjit::internal
