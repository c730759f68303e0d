// The named SQL statements of storage/sql/*.sql, parsed once at start-up.
// C++ code refers to statements by name and never builds SQL strings.
//
// File format: each statement starts with a header of comment lines,
//   -- name: enqueue_job
//   -- mode: bulk          (bulk | single; default single)
//   -- idempotent: yes     (yes | no; default no)
// followed by its SQL, up to the next "-- name:" line.
//
// A *bulk* statement takes every parameter as an array with one element per
// write and unnests them WITH ORDINALITY; its first result column must be that
// ordinality (1-based), so the writer can hand each row back to its write.
// An *idempotent* statement has the same effect when applied twice, so a batch
// whose commit outcome is unknown can be sent again.

#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/embedded_file.hpp"

namespace millrace::storage {

enum class statement_mode { single, bulk };

struct statement_def {
  std::string name;
  std::string sql;
  statement_mode mode = statement_mode::single;
  bool idempotent = false;
  /// Highest $n in the SQL.
  int param_count = 0;
  /// File it came from, for error messages.
  std::string file;
};

class statement_registry {
public:
  /// Parses the given files; throws std::invalid_argument naming the file and
  /// statement on a malformed header or a duplicate name.
  explicit statement_registry(const std::vector<embedded_file>& files);

  /// The statements compiled into this binary (storage/sql).
  static const statement_registry& builtin();

  const statement_def* find(const std::string& name) const;
  const std::vector<statement_def>& all() const { return defs_; }

private:
  std::vector<statement_def> defs_;
  std::unordered_map<std::string, size_t> index_;
};

} // namespace millrace::storage
