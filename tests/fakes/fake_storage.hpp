// In-memory stand-ins for the storage actors, for deterministic actor tests
// on the test coordinator. They answer the job statements the dispatcher
// sends like PostgreSQL would for a consistent database, record every write,
// and can be told to fence or fail chosen ones.

#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "caf/fwd.hpp"

#include "storage/values.hpp"

namespace millrace::test {

struct fake_db {
  /// Every write received, in order: "statement key".
  std::vector<std::string> writes;
  /// Every group message received (its size).
  std::vector<size_t> groups;
  /// Per job id: restarts so far (answers requeue_job).
  std::map<std::string, int> restarts;
  /// Rows answered to recover_jobs (columns as in storage/sql).
  storage::result_set recover_rows;
  /// recover_jobs is answered only once the test sends the reader
  /// `recover_atom` (a node joining during recovery).
  bool hold_recovery = false;
  /// Rows answered to job_status, by job id.
  std::map<std::string, storage::result_set> status_rows;
  /// Milliseconds left answered to flow_timer_start, by key (a deadline
  /// already recorded); keys not here answer the full wait.
  std::map<std::string, int64_t> timer_left_ms;
  /// Decides the fate of a write: return false to fence it (no row).
  std::function<bool(const storage::write_request&)> applies;

  /// The writes to `statement`, in order (their keys).
  std::vector<std::string> keys_of(const std::string& statement) const;
  /// How many writes went to `statement`.
  size_t count(const std::string& statement) const;
};

/// Spawns a fake writer and a fake reader sharing `db`.
caf::actor spawn_fake_writer(caf::actor_system& sys, std::shared_ptr<fake_db> db);
caf::actor spawn_fake_reader(caf::actor_system& sys, std::shared_ptr<fake_db> db);

/// The recover_jobs columns, for building recover_rows.
std::vector<std::string> recover_columns();

} // namespace millrace::test
