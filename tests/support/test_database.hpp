// Integration tests run against the throwaway PostgreSQL cluster that
// `make test` starts (.ci/with-test-pg.sh sets MILLRACE_TEST_DATABASE_URL).
// Each test gets a fresh database, dropped afterwards, with the schema
// migrated in.

#pragma once

#include <string>

namespace millrace::test {

/// The server's conninfo; fails the calling test (ADD_FAILURE) when the
/// environment does not name one.
std::string server_conninfo();

/// A database of its own for one test.
class scratch_database {
public:
  /// Creates the database; applies migrations unless `migrate` is false.
  explicit scratch_database(bool migrate = true);
  ~scratch_database();

  scratch_database(const scratch_database&) = delete;
  scratch_database& operator=(const scratch_database&) = delete;

  const std::string& conninfo() const { return conninfo_; }
  const std::string& name() const { return name_; }

private:
  std::string name_;
  std::string conninfo_;
};

} // namespace millrace::test
