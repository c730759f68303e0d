// Vocabulary of storage requests and results: text-format SQL values, result
// sets, writes and their outcomes. Plain C++; the inspect() overloads let CAF
// carry these types in messages without this header including CAF.

#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "storage/errors.hpp"

namespace millrace::storage {

/// One SQL value in PostgreSQL's text format, or NULL.
struct sql_value {
  std::string text;
  bool null = false;

  sql_value() = default;
  sql_value(std::string x) : text(std::move(x)) {}         // NOLINT
  sql_value(const char* x) : text(x) {}                    // NOLINT
  static sql_value null_value() { sql_value v; v.null = true; return v; }
  friend bool operator==(const sql_value& a, const sql_value& b) {
    return a.null == b.null && (a.null || a.text == b.text);
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sql_value& x) {
  return f(x.text, x.null);
}

using sql_row = std::vector<sql_value>;

/// Rows returned by one statement, in the text format.
struct result_set {
  std::vector<std::string> columns;
  std::vector<sql_row> rows;

  bool empty() const { return rows.empty(); }
  size_t size() const { return rows.size(); }
  /// Index of a column by name, or -1.
  int column(const std::string& name) const {
    for (size_t i = 0; i < columns.size(); ++i)
      if (columns[i] == name)
        return static_cast<int>(i);
    return -1;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, result_set& x) {
  return f(x.columns, x.rows);
}

/// A write for the batch writer: a named statement from storage/sql and its
/// parameters (one value per $n, in order).
struct write_request {
  /// Statement name, e.g. "enqueue_job".
  std::string statement;
  /// Parameters in the text format.
  std::vector<sql_value> params;
  /// Ordering key. Writes with the same key are applied in the order they
  /// were submitted; writes with different keys may be regrouped so that one
  /// statement covers many of them. An empty key makes the write a barrier:
  /// everything submitted before it is applied before it, everything after
  /// it after it.
  std::string key;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, write_request& x) {
  return f(x.statement, x.params, x.key);
}

/// A read for the reader pool: a named statement and its parameters.
struct read_request {
  std::string statement;
  std::vector<sql_value> params;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, read_request& x) {
  return f(x.statement, x.params);
}

/// Outcome of one write or read.
struct op_result;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, op_result& x);

struct op_result {
  storage_errc code = storage_errc::none;
  /// Human-readable detail when code != none (includes the SQLSTATE).
  std::string message;
  /// Rows the statement returned for this request (for bulk statements, the
  /// row of this write without its ordinality column).
  result_set rows;

  bool ok() const { return code == storage_errc::none; }
  static op_result failure(storage_errc c, std::string msg) {
    op_result r;
    r.code = c;
    r.message = std::move(msg);
    return r;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, op_result& x) {
  return f(x.code, x.message, x.rows);
}

} // namespace millrace::storage
