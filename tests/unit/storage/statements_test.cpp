#include <gtest/gtest.h>

#include "storage/migrations.hpp"
#include "storage/statements.hpp"

using namespace millrace::storage;

namespace {

TEST(Statements, ParsesHeadersAndCountsParameters) {
  std::vector<embedded_file> files{{"x.sql", "-- leading comment\n"
                                             "-- name: one\n"
                                             "-- mode: bulk\n"
                                             "-- idempotent: yes\n"
                                             "-- Docs mention $9 but that is a comment.\n"
                                             "SELECT $1, $2\n"
                                             "\n"
                                             "-- name: two\n"
                                             "SELECT 1\n"}};
  statement_registry reg{files};
  auto* one = reg.find("one");
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->mode, statement_mode::bulk);
  EXPECT_TRUE(one->idempotent);
  EXPECT_EQ(one->param_count, 2) << "header comments are not part of the SQL";
  auto* two = reg.find("two");
  ASSERT_NE(two, nullptr);
  EXPECT_EQ(two->mode, statement_mode::single);
  EXPECT_FALSE(two->idempotent);
  EXPECT_EQ(two->param_count, 0);
}

TEST(Statements, RejectsDuplicatesAndBadHeaders) {
  using files = std::vector<embedded_file>;
  EXPECT_THROW(statement_registry(files{{"a.sql", "-- name: x\nSELECT 1\n-- name: x\nSELECT 2\n"}}),
               std::invalid_argument);
  EXPECT_THROW(statement_registry(files{{"a.sql", "-- name: x\n-- mode: fast\nSELECT 1\n"}}),
               std::invalid_argument);
  EXPECT_THROW(statement_registry(files{{"a.sql", "-- name: x\n"}}), std::invalid_argument);
}

TEST(Statements, BuiltinStatementsParse) {
  auto& reg = statement_registry::builtin();
  auto* enq = reg.find("enqueue_job");
  ASSERT_NE(enq, nullptr);
  EXPECT_EQ(enq->mode, statement_mode::bulk);
  EXPECT_TRUE(enq->idempotent);
  EXPECT_EQ(enq->param_count, 18);
  EXPECT_EQ(enq->match, row_match::key);
}

TEST(Migrations, BuiltinMigrationsAreNumberedFromOne) {
  auto ms = builtin_migrations();
  ASSERT_FALSE(ms.empty());
  EXPECT_EQ(ms.front().version, 1);
  for (size_t i = 0; i < ms.size(); ++i)
    EXPECT_EQ(ms[i].version, static_cast<int>(i + 1)) << ms[i].name;
  EXPECT_EQ(latest_schema_version(), ms.back().version);
}

} // namespace

#include "storage/pg/connection.hpp"

namespace {

TEST(Conninfo, PasswordsAreRedacted) {
  using millrace::storage::pg::redact_conninfo;
  EXPECT_EQ(redact_conninfo("postgresql://u:s3cret@db:5432/x"), "postgresql://u:***@db:5432/x");
  EXPECT_EQ(redact_conninfo("host=db password=s3cret user=u"), "host=db password=*** user=u");
  EXPECT_EQ(redact_conninfo("host=db password = 'a b' user=u"), "host=db password = *** user=u");
  EXPECT_EQ(redact_conninfo("host=/tmp dbname=x"), "host=/tmp dbname=x");
}

} // namespace
