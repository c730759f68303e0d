// A thin RAII layer over libpq: one connection, blocking calls, errors as
// exceptions. Used by the writer and reader threads, migrations and tools;
// never on a CAF scheduler thread.

#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/values.hpp"

struct pg_conn;
struct pg_result;

namespace millrace::storage::pg {

/// A failed libpq call. `connection_lost()` tells a broken connection (retry
/// on a new one) from a statement the server rejected (retrying won't help).
class error : public std::runtime_error {
public:
  error(const std::string& msg, std::string sqlstate, bool connection_lost)
    : std::runtime_error(msg),
      sqlstate_(std::move(sqlstate)),
      connection_lost_(connection_lost) {
    // nop
  }

  const std::string& sqlstate() const noexcept { return sqlstate_; }
  bool connection_lost() const noexcept { return connection_lost_; }

private:
  std::string sqlstate_;
  bool connection_lost_;
};

/// Owns one PGresult.
class result {
public:
  result() = default;
  explicit result(pg_result* r) : res_(r) {}
  result(result&& other) noexcept : res_(other.res_) { other.res_ = nullptr; }
  result& operator=(result&& other) noexcept;
  result(const result&) = delete;
  result& operator=(const result&) = delete;
  ~result();

  pg_result* get() const noexcept { return res_; }
  explicit operator bool() const noexcept { return res_ != nullptr; }

  /// Copies the rows into a result_set. When `skip_first_column` is set the
  /// first column (a bulk statement's ordinality) is left out.
  result_set to_result_set(bool skip_first_column = false) const;

  /// Splits the rows of a bulk statement by their first column, a 1-based
  /// ordinality, into `n` result sets (without that column). Returns false if
  /// an ordinality is missing or out of range.
  bool split_by_ordinality(size_t n, std::vector<result_set>& out) const;

  /// Splits the rows of a bulk statement by their first column, matched
  /// against `keys` (one per write; text comparison), into keys.size() result
  /// sets (without that column). Returns false for a row whose key is unknown.
  bool split_by_key(const std::vector<const std::string*>& keys,
                    std::vector<result_set>& out) const;

private:
  /// Row `r`, from column `first` on.
  sql_row row_at(int r, int first) const;

  pg_result* res_ = nullptr;
};

/// Options for opening a connection.
struct connect_options {
  /// libpq connection string or URI.
  std::string conninfo;
  /// Gives up connecting after this long.
  std::chrono::seconds connect_timeout{5};
  /// Reported in pg_stat_activity.application_name.
  std::string application_name = "millrace";
};

/// One libpq connection. Not thread-safe; move-only.
class connection {
public:
  connection() = default;
  /// Connects or throws pg::error.
  explicit connection(const connect_options& opts);
  connection(connection&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  connection& operator=(connection&& other) noexcept;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();

  bool connected() const noexcept;
  pg_conn* native() const noexcept { return conn_; }
  int backend_pid() const noexcept;
  void close() noexcept;

  /// Runs one or more statements with the simple query protocol.
  void exec(const std::string& sql);

  /// Runs one statement with parameters and returns its rows.
  result_set query(const std::string& sql, const std::vector<sql_value>& params = {});

  /// Prepares a named statement.
  void prepare(const std::string& name, const std::string& sql);

  /// The parameter type OIDs of a prepared statement.
  std::vector<uint32_t> describe_params(const std::string& name);

  /// Runs a prepared statement and returns its rows.
  result_set query_prepared(const std::string& name, const std::vector<sql_value>& params);

  /// The last error message of the connection (trimmed).
  std::string last_error() const;

  /// Throws pg::error unless `r` has one of the OK statuses.
  void check(const result& r, const char* what) const;

private:
  pg_conn* conn_ = nullptr;
};

/// Builds pg::error from a failed result (or from the connection when null).
error make_error(pg_conn* conn, pg_result* res, const std::string& what);

/// Redacts the password from a conninfo string or URI for logs.
std::string redact_conninfo(const std::string& conninfo);

} // namespace millrace::storage::pg
