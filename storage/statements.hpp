// The named SQL statements of storage/sql/*.sql, parsed once at start-up.
// C++ code refers to statements by name and never builds SQL strings.
//
// File format: each statement starts with a header of comment lines,
//   -- name: enqueue_job
//   -- mode: bulk          (bulk | single; default single)
//   -- idempotent: yes     (yes | no; default no)
//   -- match: ordinality   (ordinality | key; bulk statements only)
//   -- careful: other_name (optional)
// followed by its SQL, up to the next "-- name:" line.
//
// `careful` names a twin with the same parameters and results that tolerates
// being applied twice (ON CONFLICT DO NOTHING and the like). The writer sends
// the plain statement first, which is much cheaper (a speculative insertion
// costs about twice a plain one), and switches to the twin only when the batch
// is sent again after a broken connection or re-run one write at a time after
// a rejected write. A statement with a careful twin counts as idempotent.
//
// A *bulk* statement takes every parameter as an array with one element per
// write, so one execution covers many writes. Its result rows are handed back
// to their writes by the first result column, which is either the 1-based
// ordinality of the write (`match: ordinality`, from unnest WITH ORDINALITY)
// or the value of the write's first parameter (`match: key`, for INSERT ...
// RETURNING, which cannot return the ordinality). Prefer designs without a
// join between the unnested input and the statement's own output: the writer
// runs generic plans without hash joins, merge joins or sequential scans
// (batch_writer.cpp says why), so such a join is a nested loop over CTE
// scans, quadratic in the batch size. Joins to tables by an indexed key are
// index probes.
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

/// How a bulk statement's rows find their writes.
enum class row_match { ordinality, key };

struct statement_def {
  std::string name;
  std::string sql;
  statement_mode mode = statement_mode::single;
  bool idempotent = false;
  row_match match = row_match::ordinality;
  /// The twin used for re-sends and isolation runs, or null.
  const statement_def* careful = nullptr;
  std::string careful_name;
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
