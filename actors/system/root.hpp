// The root of the supervision tree of a millrace process.
//
//   /millrace                      supervisor, rest_for_one
//   ├── /millrace/storage          supervisor, one_for_one
//   │   ├── writer                 group commit to PostgreSQL
//   │   ├── reader                 read-only connection pool
//   │   └── maintenance            partitions and retention
//   ├── /millrace/dispatcher       runnable jobs in memory, pushed to slots
//   ├── /millrace/worker           supervisor, one_for_one
//   │   └── slot-1 .. slot-N       one job at a time, in the sandbox
//   └── /millrace/api              the HTTP API (api/service/)
//
// rest_for_one at the root: each child depends on those started before it,
// so a restart of one restarts the ones after it (a new dispatcher recovers
// the queue from PostgreSQL; new slots register with it).

#pragma once

#include <memory>

#include "caf/fwd.hpp"

#include <optional>
#include <vector>

#include "actors/dispatcher/dispatcher.hpp"
#include "actors/storage/storage_tree.hpp"
#include "actors/worker/worker_node.hpp"

namespace millrace::actors {

class registry;

struct root_config {
  storage_tree_config storage;
  dispatcher_config dispatcher;
  /// Worker slots in this process; none when empty.
  std::optional<worker_config> worker;
  /// Started last, in order (the api: it talks to everything above).
  std::vector<child_spec> extra;
};

/// Spawns the root supervisor at /millrace (registered in `reg`).
caf::actor spawn_root(caf::actor_system& sys, std::shared_ptr<registry> reg, root_config cfg);

} // namespace millrace::actors
