// Error codes of the storage layer. Plain C++ (no CAF): actors/protocol/errors.hpp
// registers this enum with CAF so the codes travel inside caf::error.

#pragma once

#include <cstdint>
#include <string>

namespace millrace::storage {

/// Why a storage request did not succeed. Values are pinned: they cross
/// process boundaries inside caf::error and must never be renumbered.
enum class storage_errc : uint8_t {
  /// Indicates success. Never carried by an error.
  none = 0,
  /// Indicates that the database could not be reached before the request's
  /// deadline. The write was never sent, so it was certainly not applied.
  unavailable = 1,
  /// Indicates that the writer's queue is full. Nothing was done; retry later.
  overloaded = 2,
  /// Indicates that the connection failed after the commit was requested and
  /// the write is not idempotent, so whether it was applied is unknown.
  outcome_unknown = 3,
  /// Indicates that the statement was rejected by a constraint (unique, check,
  /// foreign key). The write was not applied; repeating it will fail again.
  constraint_violation = 4,
  /// Indicates that the database rejected a value (bad UUID, bad JSON, ...).
  invalid_input = 5,
  /// Indicates that the statement name is not in the statement registry.
  unknown_statement = 6,
  /// Indicates that the request's deadline passed while it waited or ran.
  timeout = 7,
  /// Indicates another database error; the message carries the SQLSTATE.
  database_error = 8,
  /// Indicates that the database schema is newer than this binary.
  schema_too_new = 9,
  /// Indicates that the storage component is shutting down.
  shutting_down = 10,
};

/// @relates storage_errc
std::string to_string(storage_errc x);

/// Maps a SQLSTATE to the closest storage_errc.
storage_errc errc_from_sqlstate(const std::string& sqlstate);

} // namespace millrace::storage
