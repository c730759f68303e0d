// Flows end to end: OpenFlow values run by the flow engine, their steps as
// real bash jobs through the dispatcher and the worker slots, on a real
// PostgreSQL; the step jobs and the recorded FlowStatus are read back.

#include <algorithm>

#include <gtest/gtest.h>

#include "runtime/expr/evaluator.hpp"
#include "tests/integration/flows/flows_support.hpp"

using namespace millrace;
using namespace millrace::actors;
using namespace millrace::test::flows;
using test::job_tree;

namespace {

TEST(Flows, StepsChainThroughInputTransforms) {
  job_tree t{with_flows()};
  auto value = R"({"modules":[)" + bash_step("a", "x=\"$1\"\necho $((x * 2))",
                                                R"({"x":{"type":"javascript","expr":"flow_input.n"}})")
               + "," + bash_step("b", "y=\"$1\"\nz=\"$2\"\necho \"{\\\"sum\\\": $((y + z))}\"",
                                 R"({"y":{"type":"javascript","expr":"results.a + 1"},
                                     "z":{"type":"static","value":100}})")
               + R"(,{"id":"c","value":{"type":"identity"}}]})";
  auto id = t.submit(flow(value, R"({"n":20})"));
  auto r = t.wait(id);
  EXPECT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, R"({"sum": 141})") << "a = 40, b = 41 + 100, c passes b on";
  db_view db{t.conninfo()};
  auto steps = db.steps(id);
  ASSERT_EQ(steps.size(), 2u) << "identity runs without a job";
  EXPECT_EQ(steps[0], std::make_pair(std::string{"success"}, std::string{"40"}));
  auto status = db.flow_status(id);
  EXPECT_TRUE(contains(status, R"("id": "a")") || contains(status, R"("id":"a")")) << status;
  EXPECT_TRUE(contains(status, "Success")) << status;
}

TEST(Flows, BranchOneRunsTheFirstTrueBranchElseDefault) {
  job_tree t{with_flows()};
  auto value = std::string{R"({"modules":[{"id":"pick","value":{"type":"branchone","branches":[
      {"expr":"flow_input.n > 10","modules":[)"}
               + bash_step("big", "echo '\"big\"'") + R"(]},
      {"expr":"flow_input.n > 5","modules":[)" + bash_step("mid", "echo '\"mid\"'") + R"(]}],
      "default":[)" + bash_step("small", "echo '\"small\"'") + "]}}]}";
  EXPECT_EQ(t.wait(t.submit(flow(value, R"({"n":20})"))).result, "\"big\"");
  EXPECT_EQ(t.wait(t.submit(flow(value, R"({"n":7})"))).result, "\"mid\"");
  auto id = t.submit(flow(value, R"({"n":1})"));
  EXPECT_EQ(t.wait(id).result, "\"small\"");
  db_view db{t.conninfo()};
  EXPECT_TRUE(contains(db.flow_status(id), "default")) << db.flow_status(id);
}

TEST(Flows, ParallelLoopKeepsOrderAndNeverExceedsItsParallelism) {
  job_tree t{with_flows(4)};
  auto value = std::string{R"({"modules":[{"id":"loop","value":{"type":"forloopflow",
      "iterator":{"type":"javascript","expr":"flow_input.items"},"skip_failures":false,
      "parallel":true,"parallelism":2,"modules":[)"}
               + bash_step("sq", "v=\"$1\"\ni=\"$2\"\nsleep 0.2\necho $((v * v + i * 1000))",
                           R"({"v":{"type":"javascript","expr":"flow_input.iter.value"},
                               "i":{"type":"javascript","expr":"iter.index"}})")
               + "]}}]}";
  auto id = t.submit(flow(value, R"({"items":[1,2,3,4,5,6]})"));
  auto r = t.wait(id);
  EXPECT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, "[1,1004,2009,3016,4025,5036]");
  db_view db{t.conninfo()};
  EXPECT_EQ(db.steps(id).size(), 6u);
  EXPECT_LE(db.max_overlap(id), 2);
  EXPECT_GE(db.max_overlap(id), 2) << "the loop should use its parallelism";
}

TEST(Flows, WhileLoopStopsWhenItsStopAfterIfHolds) {
  job_tree t{with_flows()};
  auto value = std::string{R"({"modules":[{"id":"w","value":{"type":"whileloopflow",
      "skip_failures":false,"modules":[)"}
               + bash_step("s", "k=\"$1\"\necho $((k * 10))",
                           R"({"k":{"type":"javascript","expr":"flow_input.iter.index"}})")
               + R"(]},"stop_after_if":{"expr":"result >= 30"}}]})";
  auto r = t.wait(t.submit(flow(value)));
  EXPECT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, "[0,10,20,30]");
}

TEST(Flows, BranchAllCollectsEveryBranchAndSkipsTolerableFailures) {
  job_tree t{with_flows()};
  auto value = std::string{R"({"modules":[{"id":"all","value":{"type":"branchall","parallel":true,
      "branches":[{"modules":[)"}
               + bash_step("one", "echo 1") + R"(]},{"skip_failure":true,"modules":[)"
               + bash_step("bad", "exit 4") + R"(]},{"modules":[)" + bash_step("three", "echo 3")
               + "]}]}}]}";
  auto r = t.wait(t.submit(flow(value)));
  EXPECT_EQ(r.status, job_status::success) << r.result;
  EXPECT_TRUE(contains(r.result, "[1,{")) << r.result;
  EXPECT_TRUE(contains(r.result, "\"exit_code\":4")) << r.result;
  EXPECT_TRUE(contains(r.result, "},3]")) << r.result;
}

TEST(Flows, RetriesRunOutThenTheFailureModuleRunsOnce) {
  job_tree t{with_flows()};
  auto value = R"({"modules":[{"id":"flaky","value":{"type":"rawscript","language":"bash",
      "content":"echo nope >&2\nexit 2","input_transforms":{}},
      "retry":{"constant":{"attempts":2,"seconds":0}}}],
      "failure_module":)"
               + bash_step("failure", "e=\"$1\"\necho \"{\\\"handled\\\": \\\"$e\\\"}\"",
                           R"({"e":{"type":"javascript","expr":"previous_result.step_id"}})")
               + "}";
  auto id = t.submit(flow(value));
  auto r = t.wait(id);
  EXPECT_EQ(r.status, job_status::failure);
  EXPECT_EQ(r.result, R"({"handled": "flaky"})");
  db_view db{t.conninfo()};
  auto steps = db.steps(id);
  ASSERT_EQ(steps.size(), 4u) << "3 attempts of flaky, then the failure module once";
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(steps[i].first, "failure");
  EXPECT_EQ(steps[3].first, "success");
  auto status = db.flow_status(id);
  EXPECT_TRUE(contains(status, "failed_retries")) << status;
  // The failure module's entry names its job and the step that failed.
  EXPECT_EQ(db.status_field(id, "failure_module", "job"), db.step_ids(id).back()) << status;
  EXPECT_EQ(db.status_field(id, "failure_module", "parent_module"), "flaky") << status;
  EXPECT_EQ(db.status_field(id, "failure_module", "type"), "Success") << status;
}

TEST(Flows, RetryIfDecidesWhetherToRetry) {
  job_tree t{with_flows()};
  auto value = R"({"modules":[{"id":"f","value":{"type":"rawscript","language":"bash",
      "content":"exit 7","input_transforms":{}},
      "retry":{"constant":{"attempts":3,"seconds":0},"retry_if":{"expr":"false"}}}]})";
  auto id = t.submit(flow(value));
  EXPECT_EQ(t.wait(id).status, job_status::failure);
  db_view db{t.conninfo()};
  EXPECT_EQ(db.steps(id).size(), 1u) << "retry_if false: no retry";
}

TEST(Flows, ContinueOnErrorPassesTheErrorOn) {
  job_tree t{with_flows()};
  auto value = R"({"modules":[{"id":"bad","value":{"type":"rawscript","language":"bash",
      "content":"exit 5","input_transforms":{}},"continue_on_error":true},
      {"id":"after","value":{"type":"identity"}}]})";
  auto r = t.wait(t.submit(flow(value)));
  EXPECT_EQ(r.status, job_status::success) << r.result;
  EXPECT_TRUE(contains(r.result, "\"exit_code\":5")) << r.result;
}

TEST(Flows, StopAfterIfEndsTheFlowEarlyOrFailsItWithItsMessage) {
  job_tree t{with_flows()};
  auto stop = std::string{R"({"modules":[{"id":"a","value":{"type":"rawscript","language":"bash",
      "content":"echo 5","input_transforms":{}},"stop_after_if":{"expr":"result == 5"}},
      {"id":"never","value":{"type":"rawscript","language":"bash","content":"echo 9",
       "input_transforms":{}}}]})"};
  auto id = t.submit(flow(stop));
  auto r = t.wait(id);
  EXPECT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, "5");
  db_view db{t.conninfo()};
  EXPECT_EQ(db.steps(id).size(), 1u) << "the step after the stop never ran";
  auto failing = stop;
  failing.replace(failing.find(R"("expr":"result == 5"})"), 21,
                  R"("expr":"result == 5","error_message":"five is not allowed"})");
  auto r2 = t.wait(t.submit(flow(failing)));
  EXPECT_EQ(r2.status, job_status::failure);
  EXPECT_TRUE(contains(r2.result, "five is not allowed")) << r2.result;
}

TEST(Flows, SkipIfSkipsAStep) {
  job_tree t{with_flows()};
  auto value = std::string{R"({"modules":[)"} + bash_step("a", "echo 1")
               + R"(,{"id":"b","value":{"type":"rawscript","language":"bash","content":"echo 2",
                 "input_transforms":{}},"skip_if":{"expr":"results.a === 1"}}]})";
  auto id = t.submit(flow(value));
  EXPECT_EQ(t.wait(id).result, "1") << "b skipped: the result stays a's";
  db_view db{t.conninfo()};
  EXPECT_EQ(db.steps(id).size(), 1u);
}

TEST(Flows, AnExpressionErrorFailsTheStepNamingTheExpression) {
  job_tree t{with_flows()};
  auto value = std::string{R"({"modules":[)"}
               + bash_step("a", "echo 1", R"({"x":{"type":"javascript","expr":"flow_input.missing.deeper"}})")
               + "]}";
  auto r = t.wait(t.submit(flow(value)));
  EXPECT_EQ(r.status, job_status::failure);
  EXPECT_TRUE(contains(r.result, "ExpressionError")) << r.result;
  EXPECT_TRUE(contains(r.result, "flow_input.missing.deeper")) << r.result;
}

TEST(Flows, NestedLoopsInsideBranchesInsideLoops) {
  job_tree t{with_flows()};
  // outer loop over [10, 20]: step ov echoes the outer value; a branch holds
  // an inner loop over [1, 2] whose step multiplies it by results.ov (the
  // enclosing iteration's results are in scope).
  auto ov = bash_step("ov", "v=\"$1\"\necho $v",
                      R"({"v":{"type":"javascript","expr":"flow_input.iter.value"}})");
  auto mul = bash_step("mul", "a=\"$1\"\nb=\"$2\"\necho $((a * b))",
                       R"({"a":{"type":"javascript","expr":"flow_input.iter.value"},
                           "b":{"type":"javascript","expr":"results.ov"}})");
  auto value = std::string{R"({"modules":[{"id":"outer","value":{"type":"forloopflow",
      "skip_failures":false,"iterator":{"type":"static","value":[10,20]},"modules":[)"}
               + ov + R"(,{"id":"br","value":{"type":"branchone","default":[],"branches":[
          {"expr":"results.ov > 0","modules":[{"id":"inner","value":{"type":"forloopflow",
          "skip_failures":false,"iterator":{"type":"javascript","expr":"[1, 2]"},"modules":[)"
               + mul + "]}}]}]}}]}}]}";
  auto id = t.submit(flow(value));
  auto r = t.wait(id);
  EXPECT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, "[[10,20],[20,40]]");
}

TEST(Flows, CancelingAFlowCancelsItsRunningStep) {
  job_tree t{with_flows()};
  auto value = std::string{R"({"modules":[)"} + bash_step("slow", "sleep 30\necho done")
               + R"(,{"id":"after","value":{"type":"rawscript","language":"bash","content":"echo x",
                 "input_transforms":{}}}]})";
  auto id = t.submit(flow(value));
  db_view db{t.conninfo()};
  // Wait until the step job runs.
  caf::scoped_actor self{t.system()};
  for (int i = 0; i < 2000; ++i) {
    auto rs = db.c.query("SELECT count(*) FROM job j JOIN job_queue q ON q.job_id = j.id "
                         "WHERE j.parent_job = $1 AND q.state = 'running'",
                         {id});
    if (rs.rows[0][0].text == "1")
      break;
    self->receive(caf::after(std::chrono::milliseconds{10}) >> [] {});
  }
  t.cancel(id);
  auto r = t.wait(id);
  EXPECT_EQ(r.status, job_status::canceled) << r.result;
  // The step was canceled too, and `after` never ran.
  auto step = db.c.query("SELECT j.id FROM job j WHERE j.parent_job = $1", {id});
  ASSERT_EQ(step.rows.size(), 1u);
  EXPECT_EQ(t.wait(step.rows[0][0].text).status, job_status::canceled);
}

} // namespace

namespace {

// The server stops while step b runs (its process is killed; the rows stay
// as a kill -9 leaves them); a new server on the same database resumes the
// flow: a is not run again, b's job gets a new attempt that the flow waits
// for, then c runs.
TEST(Flows, AFlowResumesAfterTheServerStopsMidStep) {
  auto db = std::make_shared<test::scratch_database>();
  auto opts = with_flows(4, std::chrono::seconds{2});
  opts.db = db;
  auto value = std::string{R"({"modules":[)"} + bash_step("a", "echo 1") + ","
               + bash_step("b", "sleep 2\necho 2") + ","
               + bash_step("c", "x=\"$1\"\necho $((x + 40))",
                           R"({"x":{"type":"javascript","expr":"results.a + results.b"}})")
               + "]}";
  auto id = submit_and_stop_mid_step(opts, flow(value), "sleep 2%");
  ASSERT_FALSE(id.empty()) << "step b never started";
  job_tree t2{opts};
  auto r = t2.wait(id);
  EXPECT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, "43");  // a number: no formatting difference
  EXPECT_GE(r.attempt, 2) << "the flow ran again as a new attempt";
  db_view view{t2.conninfo()};
  auto steps = view.c.query("SELECT c.status, c.attempt, c.result::text FROM job j "
                            "JOIN job_completed c ON c.job_id = j.id WHERE j.parent_job = $1 "
                            "ORDER BY j.created_at, j.id",
                            {id});
  ASSERT_EQ(steps.rows.size(), 3u) << "a, b and c ran as one job each";
  EXPECT_EQ(steps.rows[0][1].text, "1") << "a was not run again";
  EXPECT_GE(std::stoi(steps.rows[1][1].text), 2) << "b's job was run again as a new attempt";
  EXPECT_EQ(steps.rows[1][2].text, "2");
}

} // namespace

namespace {

// Mid-loop: the server stops while iteration 3 of 4 runs. The resumed
// attempt submits the same step jobs again (same ids), finds the finished
// ones and the interrupted one, and runs none of them twice.
TEST(Flows, AFlowResumesMidLoopWithoutRunningFinishedIterationsAgain) {
  auto db = std::make_shared<test::scratch_database>();
  auto opts = with_flows(4, std::chrono::seconds{2});
  opts.db = db;
  auto value = std::string{R"({"modules":[{"id":"loop","value":{"type":"forloopflow",
      "skip_failures":false,"iterator":{"type":"static","value":[1,2,3,4]},"modules":[)"}
               + bash_step("s", "v=\"$1\"\nsleep 0.3\necho $((v * 10))",
                           R"({"v":{"type":"javascript","expr":"flow_input.iter.value"}})")
               + "]}}]}";
  std::string id;
  {
    job_tree t{opts};
    id = t.submit(flow(value));
    db_view view{t.conninfo()};
    caf::scoped_actor self{t.system()};
    bool third = false;
    for (int i = 0; i < 3000 && !third; ++i) {
      auto rs = view.c.query("SELECT (SELECT count(*) FROM job_completed c JOIN job j ON "
                             "j.id = c.job_id WHERE j.parent_job = $1), (SELECT count(*) FROM "
                             "job_queue q JOIN job j ON j.id = q.job_id WHERE j.parent_job = $1 "
                             "AND q.state = 'running')",
                             {id});
      third = rs.rows[0][0].text == "2" && rs.rows[0][1].text == "1";
      if (!third)
        self->receive(caf::after(std::chrono::milliseconds{5}) >> [] {});
    }
    ASSERT_TRUE(third) << "iteration 3 never ran";
  }
  job_tree t2{opts};
  auto r = t2.wait(id);
  EXPECT_EQ(r.status, job_status::success) << r.result;
  auto compact = r.result;
  compact.erase(std::remove(compact.begin(), compact.end(), ' '), compact.end());
  EXPECT_EQ(compact, "[10,20,30,40]") << "(read back from jsonb when the flow ended first)";
  db_view view{t2.conninfo()};
  auto jobs = view.c.query("SELECT count(*), count(*) FILTER (WHERE c.attempt = 1) FROM job j "
                           "JOIN job_completed c ON c.job_id = j.id WHERE j.parent_job = $1",
                           {id});
  EXPECT_EQ(jobs.rows[0][0].text, "4") << "one job per iteration, none submitted twice";
  EXPECT_EQ(jobs.rows[0][1].text, "3") << "only the interrupted iteration ran again";
}

} // namespace
