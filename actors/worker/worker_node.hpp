// The worker node: /millrace/worker, a supervisor of N worker slots that
// share one sandbox launcher. In standalone it sits in the same process as
// the dispatcher; the cluster issue runs it in processes of its own.

#pragma once

#include <memory>
#include <string>
#include <vector>

#include "actors/supervision/supervisor.hpp"
#include "actors/worker/slot.hpp"

namespace millrace::actors {

struct worker_config {
  /// Node name, the prefix of slot names and so of lease owners.
  std::string node = "local";
  size_t slots = 4;
  /// Tags every slot of this node serves.
  std::vector<std::string> tags = {"bash", "python3", "noop"};
  /// Everything else a slot needs (name and tags are set per slot).
  slot_config slot;
};

/// Child spec of the worker node supervisor (id "worker"): one_for_one over
/// slot-1 .. slot-N, each permanent.
child_spec worker_node_spec(worker_config cfg);

} // namespace millrace::actors
