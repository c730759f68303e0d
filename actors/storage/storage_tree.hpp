// The storage subtree: /millrace/storage (supervisor) with the writer, the
// reader pool and the maintenance actor. Behaviors: writer_actor.cpp,
// reader_actor.cpp, maintenance_actor.cpp.

#pragma once

#include <chrono>
#include <memory>

#include "caf/fwd.hpp"
#include "caf/timespan.hpp"

#include "actors/supervision/supervisor.hpp"
#include "storage/batch_writer.hpp"
#include "storage/reader_pool.hpp"

namespace millrace::actors {

struct writer_actor_config {
  storage::writer_config writer;
  /// Connections (each with its own writer thread) that writes are spread
  /// over, by key: writes with the same key always share one, so their order
  /// holds. A barrier write (empty key) waits until everything accepted before
  /// it committed on every connection, and holds back everything after it.
  size_t connections = 2;
  /// Most writes queued or in flight; past it, `write` is answered with
  /// storage_errc::overloaded instead of growing the queue.
  size_t queue_max = 100000;
  /// A write not committed within this time is answered with an error.
  caf::timespan write_timeout = std::chrono::seconds{10};
  /// Statements to prepare; null means the built-in ones (storage/sql).
  const storage::statement_registry* statements = nullptr;
};

struct reader_actor_config {
  storage::reader_config reader;
  size_t queue_max = 10000;
  caf::timespan read_timeout = std::chrono::seconds{10};
  const storage::statement_registry* statements = nullptr;
};

struct maintenance_config {
  /// Daily partitions are kept this many days ahead.
  int partitions_ahead_days = 7;
  /// Completed jobs, logs and events older than this are dropped; 0 keeps all.
  int retention_days = 30;
  /// How often upkeep runs (also once at start).
  caf::timespan interval = std::chrono::hours{1};
};

struct storage_tree_config {
  writer_actor_config writer;
  reader_actor_config reader;
  maintenance_config maintenance;
};

/// Child spec of the storage supervisor (id "storage"), one_for_one over the
/// writer, the reader pool and maintenance.
child_spec storage_tree_spec(storage_tree_config cfg);

/// Spawns the writer actor (a scheduled actor that owns the writer threads,
/// which make every libpq call). Exposed for tests
/// and benchmarks.
caf::actor spawn_storage_writer(caf::actor_system& sys, writer_actor_config cfg,
                                const std::string& path);
caf::actor spawn_storage_reader(caf::actor_system& sys, reader_actor_config cfg,
                                const std::string& path);
caf::actor spawn_storage_maintenance(caf::actor_system& sys, maintenance_config cfg,
                                     std::shared_ptr<registry> reg, const std::string& path);

} // namespace millrace::actors
