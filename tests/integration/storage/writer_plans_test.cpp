// How the group-commit writer's session plans its statements: once, as a
// generic plan, and never with a join that scans the table it looks keys up
// in (storage/batch_writer.cpp says why).

#include <gtest/gtest.h>

#include "storage/batch_writer.hpp"
#include "storage/pg/connection.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/write_collector.hpp"

using namespace millrace;
using namespace std::chrono_literals;
using storage::pg::connect_options;
using storage::pg::connection;

namespace {

// A keyed bulk update shaped like the writer's own (append_log, claim_job,
// complete_job: unnest joined to a table by its key), and a look at how the
// writer's session has planned it so far.
const std::vector<storage::embedded_file>& plan_statements() {
  static const std::vector<storage::embedded_file> files{
    {"test.sql", "-- name: touch\n"
                 "-- mode: bulk\n"
                 "WITH u AS (SELECT * FROM unnest($1::int[]) WITH ORDINALITY AS t(id, i)),\n"
                 "q AS (UPDATE t_queue q SET n = q.n + 1 FROM u WHERE q.id = u.id RETURNING u.i)\n"
                 "SELECT i FROM q\n"
                 "\n"
                 "-- name: plans_of_touch\n"
                 "SELECT generic_plans, custom_plans, current_setting('enable_hashjoin') AS hash,\n"
                 "       current_setting('enable_mergejoin') AS merge,\n"
                 "       current_setting('enable_seqscan') AS seq\n"
                 "FROM pg_prepared_statements WHERE name = 'touch'\n"}};
  return files;
}

TEST(WriterPlans, AKeyedBulkStatementIsPlannedOnceAsAGenericPlanThatProbesTheKey) {
  test::scratch_database db;
  connection admin{connect_options{db.conninfo()}};
  admin.exec("CREATE TABLE t_queue (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);"
             "INSERT INTO t_queue (id) SELECT g FROM generate_series(1, 100) g");
  storage::statement_registry reg{plan_statements()};
  storage::batch_writer w{test::writer_config_for(db.conninfo()), reg};
  w.start();
  test::write_collector col;
  auto deadline = [] { return storage::batch_writer::clock::now() + 30s; };
  // One at a time, as a bash job's writes come: a one-element array, which
  // PostgreSQL's own choice planned again at every call (a custom plan that
  // knows the array always looks cheaper than the generic one).
  for (uint64_t i = 1; i <= 8; ++i) {
    w.submit(storage::write_request{"touch", {std::to_string(i)}, "k" + std::to_string(i)},
             deadline(), col.reply(i));
    ASSERT_TRUE(col.wait_for(i));
    ASSERT_TRUE(col.get(i).ok()) << col.get(i).message;
    ASSERT_EQ(col.get(i).rows.size(), 1u) << "row " << i << " was updated";
  }
  w.submit(storage::write_request{"plans_of_touch", {}, ""}, deadline(), col.reply(100));
  ASSERT_TRUE(col.wait_for(9));
  auto r = col.get(100);
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_EQ(r.rows.size(), 1u);
  auto at = [&](const char* name) { return r.rows.rows[0][r.rows.column(name)].text; };
  EXPECT_EQ(at("custom_plans"), "0") << "the statement was planned again for its parameters";
  EXPECT_EQ(at("generic_plans"), "8");
  // The one plan is kept while the table grows: it must look the keys up
  // in the index, not hash or merge-join a scan of the whole table.
  EXPECT_EQ(at("hash"), "off");
  EXPECT_EQ(at("merge"), "off");
  EXPECT_EQ(at("seq"), "off");
  EXPECT_EQ(admin.query("SELECT sum(n) FROM t_queue").rows[0][0].text, "8");
  w.stop();
}

} // namespace
