// Runs prepared statements over one connection in libpq pipeline mode.
//
// The work is a list of *units*; each unit is a list of queries closed by a
// Sync, so each unit is one implicit transaction: it commits when the server
// reaches its Sync, or rolls back entirely if one of its queries fails.
// Results are read while sending (non-blocking socket), so a large batch can
// never deadlock against a server that is blocked writing results.

#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "storage/pg/connection.hpp"

namespace millrace::storage::pg {

struct pipeline_query {
  std::string statement;          // prepared statement name
  std::vector<std::string> values;
  std::vector<bool> nulls;        // same size as values
  std::vector<bool> binary;       // same size as values; false = text format
};

struct query_outcome {
  enum state_t { pending, ok, failed, aborted } state = pending;
  result res;                     // the rows when ok
  std::string sqlstate;
  std::string message;
};

struct unit_outcome {
  /// The unit's Sync was reached without an error in the unit: committed.
  bool committed = false;
  /// The Sync was reached but a query failed: rolled back.
  bool rolled_back = false;
};

enum class pipeline_status {
  /// Every unit reached its Sync (each is committed or rolled back).
  complete,
  /// The connection broke. Units whose Sync was reached are settled; the
  /// others may or may not have committed if their Sync was sent.
  connection_lost,
};

struct pipeline_work {
  std::vector<std::vector<pipeline_query>> units;
};

struct pipeline_result {
  pipeline_status status = pipeline_status::complete;
  std::vector<std::vector<query_outcome>> queries; // per unit, per query
  std::vector<unit_outcome> units;
  /// Index of the first unit whose Sync was sent but not acknowledged; units
  /// from here on are ambiguous when status == connection_lost.
  size_t first_unsettled = 0;
  /// Index of the first unit whose Sync was never sent: not committed.
  size_t first_unsent = 0;
  std::string error; // connection error text when connection_lost
};

/// Puts the connection into non-blocking pipeline mode (once per connection).
void enter_pipeline_mode(connection& conn);

/// Runs `work` and waits for every unit's Sync, or until `deadline`, after
/// which the connection is closed and the outcome is connection_lost.
pipeline_result run_pipeline(connection& conn, const pipeline_work& work,
                             std::chrono::steady_clock::time_point deadline);

} // namespace millrace::storage::pg
