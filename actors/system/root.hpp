// The root of the supervision tree of a millrace process.
//
//   /millrace                      supervisor, rest_for_one
//   └── /millrace/storage          supervisor, one_for_one
//       ├── /millrace/storage/writer        group commit to PostgreSQL
//       ├── /millrace/storage/reader        read-only connection pool
//       └── /millrace/storage/maintenance   partitions and retention
//
// rest_for_one at the root: everything started after storage depends on it,
// so a storage restart restarts what comes after it.

#pragma once

#include <memory>

#include "caf/fwd.hpp"

#include "actors/storage/storage_tree.hpp"

namespace millrace::actors {

class registry;

struct root_config {
  storage_tree_config storage;
};

/// Spawns the root supervisor at /millrace (registered in `reg`).
caf::actor spawn_root(caf::actor_system& sys, std::shared_ptr<registry> reg, root_config cfg);

} // namespace millrace::actors
