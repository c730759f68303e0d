// Options of a whole flow (not of one module), end to end: skip_expr decides
// on the flow's input whether anything runs.

#include <gtest/gtest.h>

#include "tests/integration/flows/flows_support.hpp"

using namespace millrace;
using namespace millrace::actors;
using namespace millrace::test::flows;
using test::job_tree;

namespace {

std::string skippable(const std::string& skip_expr) {
  return std::string{R"({"modules":[)"} + bash_step("a", "echo 7") + R"(],"skip_expr":")"
         + skip_expr + "\"}";
}

TEST(FlowOptions, SkipExprSkipsTheWholeFlowWhenItHolds) {
  job_tree t{with_flows()};
  db_view db{t.conninfo()};
  auto skipped = t.submit(flow(skippable("flow_input.off === true"), R"({"off":true})"));
  auto r = t.wait(skipped);
  EXPECT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, "null");
  EXPECT_TRUE(db.steps(skipped).empty()) << "no step ran";
  auto fs = db.flow_status(skipped);
  EXPECT_TRUE(contains(fs, R"("skipped": true)") || contains(fs, R"("skipped":true)")) << fs;
  EXPECT_TRUE(contains(fs, "WaitingForPriorSteps")) << fs;

  auto ran = t.submit(flow(skippable("flow_input.off === true"), R"({"off":false})"));
  r = t.wait(ran);
  EXPECT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, "7");
  EXPECT_EQ(db.steps(ran).size(), 1u);
  EXPECT_FALSE(contains(db.flow_status(ran), "skipped")) << db.flow_status(ran);
}

TEST(FlowOptions, ASkipExprThatFailsFailsTheFlowNamingIt) {
  job_tree t{with_flows()};
  db_view db{t.conninfo()};
  auto id = t.submit(flow(skippable("flow_input.missing.deeper"), "{}"));
  auto r = t.wait(id);
  EXPECT_EQ(r.status, job_status::failure);
  EXPECT_TRUE(contains(r.result, "ExpressionError")) << r.result;
  EXPECT_TRUE(contains(r.result, "skip_expr")) << r.result;
  EXPECT_TRUE(contains(r.result, "flow_input.missing.deeper")) << r.result;
  EXPECT_TRUE(db.steps(id).empty()) << "no step ran";
}

} // namespace
