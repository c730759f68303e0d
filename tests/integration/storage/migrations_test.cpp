// Migrations against a real PostgreSQL: idempotent, serialized by the
// advisory lock, refusing newer schemas and edited migrations; partition
// upkeep and retention.

#include <thread>

#include <gtest/gtest.h>

#include "storage/migrations.hpp"
#include "storage/pg/connection.hpp"
#include "tests/support/test_database.hpp"

using namespace millrace;
using storage::pg::connect_options;
using storage::pg::connection;

namespace {

std::string scalar(connection& c, const std::string& sql) {
  auto rs = c.query(sql);
  return rs.rows.at(0).at(0).text;
}

TEST(Migrations, ApplyingTwiceChangesNothing) {
  test::scratch_database db{false};
  connection c{connect_options{db.conninfo()}};
  auto first = storage::apply_migrations(c, storage::builtin_migrations());
  EXPECT_EQ(first.from_version, 0);
  EXPECT_EQ(first.to_version, storage::latest_schema_version());
  EXPECT_EQ(first.applied.size(), storage::builtin_migrations().size());
  auto second = storage::apply_migrations(c, storage::builtin_migrations());
  EXPECT_TRUE(second.applied.empty());
  EXPECT_EQ(second.from_version, storage::latest_schema_version());
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM millrace_migration"),
            std::to_string(storage::builtin_migrations().size()));
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM workspace WHERE id = 'admins'"), "1");
}

TEST(Migrations, ConcurrentStartsApplyEachMigrationOnce) {
  test::scratch_database db{false};
  std::vector<std::thread> threads;
  std::atomic<int> applied{0}, failed{0};
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      try {
        connection c{connect_options{db.conninfo()}};
        applied += static_cast<int>(
          storage::apply_migrations(c, storage::builtin_migrations()).applied.size());
      } catch (const std::exception& e) {
        ++failed;
        ADD_FAILURE() << e.what();
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(applied, static_cast<int>(storage::builtin_migrations().size()));
}

TEST(Migrations, RefusesADatabaseAtANewerSchemaVersion) {
  test::scratch_database db;
  connection c{connect_options{db.conninfo()}};
  c.exec("INSERT INTO millrace_migration (version, name, checksum) "
         "VALUES (999, '0999_future.sql', 'x')");
  try {
    storage::apply_migrations(c, storage::builtin_migrations());
    FAIL() << "expected migration_error";
  } catch (const storage::migration_error& e) {
    EXPECT_EQ(e.code(), storage::storage_errc::schema_too_new);
    std::string msg = e.what();
    EXPECT_NE(msg.find("version 999"), std::string::npos) << msg;
    EXPECT_NE(msg.find("newer than this binary"), std::string::npos) << msg;
  }
}

TEST(Migrations, RefusesAMigrationEditedAfterItWasApplied) {
  test::scratch_database db;
  connection c{connect_options{db.conninfo()}};
  c.exec("UPDATE millrace_migration SET checksum = 'edited' WHERE version = 1");
  try {
    storage::apply_migrations(c, storage::builtin_migrations());
    FAIL() << "expected migration_error";
  } catch (const storage::migration_error& e) {
    EXPECT_NE(std::string(e.what()).find("was changed after it was applied"), std::string::npos);
  }
}

TEST(Migrations, AFailingMigrationLeavesNothingBehind) {
  test::scratch_database db{false};
  connection c{connect_options{db.conninfo()}};
  auto ms = storage::builtin_migrations();
  storage::migration bad;
  bad.version = ms.back().version + 1;
  bad.name = "9999_bad.sql";
  bad.sql = "CREATE TABLE half_done (x int); SELECT * FROM no_such_table;";
  bad.checksum = "bad";
  ms.push_back(bad);
  EXPECT_THROW(storage::apply_migrations(c, ms), storage::migration_error);
  EXPECT_EQ(storage::current_schema_version(c), 0) << "everything ran in one transaction";
  EXPECT_EQ(scalar(c, "SELECT to_regclass('half_done') IS NULL"), "t");
}

TEST(Partitions, UpkeepCreatesDailyPartitionsAhead) {
  test::scratch_database db;
  connection c{connect_options{db.conninfo()}};
  c.exec("SELECT millrace_ensure_partitions(5)");
  auto today = scalar(c, "SELECT to_char(current_date + 5, 'YYYYMMDD')");
  for (auto* parent : {"job_completed", "job_log", "job_event"})
    EXPECT_EQ(scalar(c, std::string("SELECT to_regclass('") + parent + "_p" + today
                          + "') IS NOT NULL"),
              "t")
      << parent;
  // Running it again is a no-op.
  EXPECT_EQ(scalar(c, "SELECT millrace_ensure_partitions(5)"), "{}");
}

TEST(Partitions, RetentionDropsOldPartitionsAndTheirJobs) {
  test::scratch_database db;
  connection c{connect_options{db.conninfo()}};
  c.exec("CREATE TABLE job_completed_p20200101 PARTITION OF job_completed "
         "FOR VALUES FROM ('2020-01-01') TO ('2020-01-02');"
         "CREATE TABLE job_event_p20200101 PARTITION OF job_event "
         "FOR VALUES FROM ('2020-01-01') TO ('2020-01-02');"
         "INSERT INTO job (id, workspace_id, kind, tag, created_by, created_at) VALUES "
         "('00000000-0000-7000-8000-000000000001', 'admins', 'noop', 'x', 't', '2020-01-01 10:00');"
         "INSERT INTO job_completed (job_id, workspace_id, kind, tag, created_by, status, attempt, "
         "created_at, completed_at) VALUES ('00000000-0000-7000-8000-000000000001', 'admins', "
         "'noop', 'x', 't', 'success', 1, '2020-01-01 10:00', '2020-01-01 10:00:01');"
         "INSERT INTO job_event (job_id, job_created_at, attempt, kind) VALUES "
         "('00000000-0000-7000-8000-000000000001', '2020-01-01 10:00', 0, 'queued')");
  auto dropped = scalar(c, "SELECT millrace_drop_partitions(now() - interval '30 days')");
  EXPECT_NE(dropped.find("job_completed_p20200101"), std::string::npos) << dropped;
  EXPECT_NE(dropped.find("job_event_p20200101"), std::string::npos) << dropped;
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM job"), "0");
  EXPECT_EQ(scalar(c, "SELECT to_regclass('job_completed_p20200101') IS NULL"), "t");
  // Today's partitions are untouched.
  EXPECT_EQ(scalar(c, "SELECT to_regclass('job_completed_p' || to_char(current_date, 'YYYYMMDD')) "
                      "IS NOT NULL"),
            "t");
}

} // namespace
