#include <gtest/gtest.h>

#include "storage/batch_plan.hpp"
#include "storage/pg/text_array.hpp"

using namespace millrace::storage;

namespace {

struct fixture {
  statement_def bulk_a = def("a", statement_mode::bulk);
  statement_def bulk_b = def("b", statement_mode::bulk);
  statement_def single = def("s", statement_mode::single);

  static statement_def def(const char* name, statement_mode mode) {
    statement_def d;
    d.name = name;
    d.mode = mode;
    d.param_count = 1;
    return d;
  }
  std::vector<std::string> keys;

  std::vector<plan_input> inputs(const std::vector<const statement_def*>& sts) {
    std::vector<plan_input> out;
    for (size_t i = 0; i < sts.size(); ++i)
      out.push_back({sts[i], &keys[i]});
    return out;
  }
};

using idx = std::vector<size_t>;

TEST(BatchPlan, MergesOneStatementAcrossDistinctKeys) {
  fixture f;
  f.keys = {"j1", "j2", "j3"};
  auto plan = plan_batch(f.inputs({&f.bulk_a, &f.bulk_a, &f.bulk_a}));
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].writes, (idx{0, 1, 2}));
}

TEST(BatchPlan, KeepsPerKeyOrderAcrossStatements) {
  // claim j1, complete j1, claim j2, complete j2 -> claims first, then completes.
  fixture f;
  f.keys = {"j1", "j1", "j2", "j2"};
  auto plan = plan_batch(f.inputs({&f.bulk_a, &f.bulk_b, &f.bulk_a, &f.bulk_b}));
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].stmt, &f.bulk_a);
  EXPECT_EQ(plan[0].writes, (idx{0, 2}));
  EXPECT_EQ(plan[1].stmt, &f.bulk_b);
  EXPECT_EQ(plan[1].writes, (idx{1, 3}));
}

TEST(BatchPlan, SameKeySameStatementGoesToSeparateRounds) {
  fixture f;
  f.keys = {"j1", "j1", "j2"};
  auto plan = plan_batch(f.inputs({&f.bulk_a, &f.bulk_a, &f.bulk_a}));
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].writes, (idx{0, 2}));
  EXPECT_EQ(plan[1].writes, (idx{1}));
}

TEST(BatchPlan, BarrierSplitsTheBatch) {
  fixture f;
  f.keys = {"j1", "", "j2"};
  auto plan = plan_batch(f.inputs({&f.bulk_a, &f.single, &f.bulk_a}));
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].writes, (idx{0}));
  EXPECT_EQ(plan[1].stmt, &f.single);
  EXPECT_EQ(plan[2].writes, (idx{2}));
}

TEST(BatchPlan, SingleStatementsRunOnePerWrite) {
  fixture f;
  f.keys = {"x", "y"};
  auto plan = plan_batch(f.inputs({&f.single, &f.single}));
  ASSERT_EQ(plan.size(), 2u);
}

TEST(TextArray, QuotesEveryElementAndEscapes) {
  std::vector<sql_value> r1{sql_value{"plain"}}, r2{sql_value{"a\"b\\c,{}"}},
    r3{sql_value::null_value()}, r4{sql_value{"NULL"}};
  auto arr = pg::encode_text_array({&r1, &r2, &r3, &r4}, 0);
  EXPECT_EQ(arr, R"({"plain","a\"b\\c,{}",NULL,"NULL"})");
}

} // namespace
