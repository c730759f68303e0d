// Numbered SQL migrations (storage/migrations/NNNN_name.sql), compiled into the
// binary and applied in one transaction under an advisory lock, so that two
// processes starting together never apply the same migration twice.

#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "storage/errors.hpp"

namespace millrace::storage {

namespace pg {
class connection;
} // namespace pg

struct migration {
  int version = 0;
  std::string name;     // file name, e.g. 0001_init.sql
  std::string sql;
  std::string checksum; // FNV-1a of the SQL, to notice edited migrations
};

/// A migration run that could not complete. Nothing was applied.
class migration_error : public std::runtime_error {
public:
  migration_error(storage_errc code, const std::string& msg)
    : std::runtime_error(msg), code_(code) {}
  storage_errc code() const noexcept { return code_; }

private:
  storage_errc code_;
};

struct migrate_report {
  int from_version = 0;
  int to_version = 0;
  std::vector<std::string> applied;
};

/// The migrations compiled into this binary, by ascending version. Throws
/// std::invalid_argument if a file name does not start with a version number
/// or two files share a version.
std::vector<migration> builtin_migrations();

/// The schema version this binary expects.
int latest_schema_version();

/// Applies the missing migrations in one transaction. Throws migration_error
/// when the database is at a newer version than `ms` knows (schema_too_new),
/// when an applied migration was edited afterwards, or when a statement fails.
migrate_report apply_migrations(pg::connection& conn, const std::vector<migration>& ms);

/// The version recorded in the database (0 when never migrated).
int current_schema_version(pg::connection& conn);

} // namespace millrace::storage
