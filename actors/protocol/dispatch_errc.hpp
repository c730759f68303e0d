// Error codes of the job path. Registered with CAF in errors.hpp.

#pragma once

#include <cstdint>
#include <string>

namespace millrace::actors {

enum class dispatch_errc : uint8_t {
  none = 0,
  /// Indicates a submission that cannot run: unknown kind or language, bad
  /// id, args that are not a JSON object. The message names the field.
  invalid_job = 1,
  /// Indicates that no job has this id (in this workspace).
  not_found = 2,
  /// Indicates a cancel of a job that already reached a terminal state.
  already_finished = 3,
  /// Indicates that the workspace has too many unfinished jobs; retry later.
  overloaded = 4,
  /// Indicates that the dispatcher is stopping and takes no new work.
  shutting_down = 5,
  /// Indicates an Idempotency-Key reused with a different request.
  idempotency_conflict = 6,
  /// Indicates a job id given by the client that another job already has.
  id_taken = 7,
  /// Indicates that no registered worker node serves what a same_worker
  /// flow needs.
  no_node = 8,
};

/// @relates dispatch_errc
std::string to_string(dispatch_errc x);

} // namespace millrace::actors
