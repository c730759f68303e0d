#include "tests/support/test_database.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>

#include <gtest/gtest.h>

#include "storage/migrations.hpp"
#include "storage/pg/connection.hpp"

namespace millrace::test {

std::string server_conninfo() {
  auto* url = std::getenv("MILLRACE_TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << "MILLRACE_TEST_DATABASE_URL is not set: run the tests through `make test`, "
                     "which starts a throwaway PostgreSQL (.ci/with-test-pg.sh)";
    return "host=/nonexistent dbname=none";
  }
  return url;
}

namespace {

std::string with_dbname(const std::string& conninfo, const std::string& db) {
  // Later keywords win in a libpq conninfo string.
  return conninfo + " dbname=" + db;
}

} // namespace

scratch_database::scratch_database(bool migrate) {
  static std::atomic<int> counter{0};
  std::random_device rd;
  name_ = "mrt_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_"
          + std::to_string(rd() % 100000);
  auto server = server_conninfo();
  storage::pg::connection admin{storage::pg::connect_options{server}};
  admin.exec("CREATE DATABASE " + name_);
  conninfo_ = with_dbname(server, name_);
  if (migrate) {
    storage::pg::connection c{storage::pg::connect_options{conninfo_}};
    storage::apply_migrations(c, storage::builtin_migrations());
    c.exec("SELECT millrace_ensure_partitions(2)");
  }
}

scratch_database::~scratch_database() {
  try {
    storage::pg::connection admin{storage::pg::connect_options{server_conninfo()}};
    admin.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception& e) {
    ADD_FAILURE() << "cannot drop test database " << name_ << ": " << e.what();
  }
}

} // namespace millrace::test
