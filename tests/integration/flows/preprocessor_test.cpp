// A flow's preprocessor_module, end to end: its result is the flow's input
// for skip_expr and every step; a result that is not an object fails the flow
// before any step (the failure module names the preprocessor); a resumed
// attempt reuses the preprocessor's job instead of running it again.

#include <gtest/gtest.h>

#include "tests/integration/flows/flows_support.hpp"

using namespace millrace;
using namespace millrace::actors;
using namespace millrace::test::flows;
using test::job_tree;

namespace {

const std::string webhook_args = R"({"event":{"kind":"webhook","body":{"n":5}}})";

// Doubles event.body.n into {"x": ...}.
std::string doubling_preprocessor() {
  return bash_step("preprocessor", "n=\"$1\"\necho \"{\\\"x\\\": $((n * 2))}\"",
                   R"({"n":{"type":"javascript","expr":"flow_input.event.body.n"}})");
}

TEST(FlowPreprocessor, ItsResultIsTheFlowsInputForEverythingAfterIt) {
  job_tree t{with_flows()};
  // skip_expr would hold on the event (it has no x): it sees the result.
  auto value = std::string{R"({"modules":[)"}
               + bash_step("a", "x=\"$1\"\necho $((x + 1))",
                           R"({"x":{"type":"javascript","expr":"flow_input.x"}})")
               + R"(],"skip_expr":"flow_input.x !== 10","preprocessor_module":)"
               + doubling_preprocessor() + "}";
  auto id = t.submit(flow(value, webhook_args));
  auto r = t.wait(id);
  ASSERT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, "11");
  db_view db{t.conninfo()};
  auto steps = db.steps(id);
  ASSERT_EQ(steps.size(), 2u) << "the preprocessor, then a";
  EXPECT_EQ(steps[0].second, R"({"x": 10})");
  auto status = db.flow_status(id);
  EXPECT_TRUE(contains(status, R"("preprocessor_module": {"id": "preprocessor")")) << status;
  EXPECT_TRUE(contains(status, R"("type": "Success")")) << status;
  // Its entry names its job, as a top-level module's does.
  EXPECT_EQ(db.status_field(id, "preprocessor_module", "job"), db.step_ids(id).front()) << status;
}

// Save-time validation refuses skip_if and continue_on_error on a
// preprocessor; a definition that has them anyway (saved before that check,
// or a preview, which the engine takes as it is) runs without them.
TEST(FlowPreprocessor, OptionsThatWouldSkipOrSwallowItAreIgnoredAtRunTime) {
  job_tree t{with_flows()};
  auto with_option = [](std::string pre, const std::string& option) {
    pre.pop_back(); // the module's closing brace
    return pre + "," + option + "}";
  };
  auto step_a = bash_step("a", "x=\"$1\"\necho $((x + 1))",
                          R"({"x":{"type":"javascript","expr":"flow_input.x"}})");
  auto skipped = std::string{R"({"modules":[)"} + step_a + R"(],"preprocessor_module":)"
                 + with_option(doubling_preprocessor(), R"("skip_if":{"expr":"true"})") + "}";
  auto r = t.wait(t.submit(flow(skipped, webhook_args)));
  ASSERT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, "11") << "the preprocessor ran: a saw x = 10";

  auto swallowed = std::string{R"({"modules":[)"} + step_a + R"(],"preprocessor_module":)"
                   + with_option(bash_step("preprocessor", "exit 3"), R"("continue_on_error":true)")
                   + "}";
  auto id = t.submit(flow(swallowed, webhook_args));
  r = t.wait(id);
  EXPECT_EQ(r.status, job_status::failure) << r.result;
  EXPECT_TRUE(contains(r.result, "\"exit_code\":3")) << r.result;
  db_view db{t.conninfo()};
  EXPECT_EQ(db.steps(id).size(), 1u) << "its error did not become the input of a";
}

TEST(FlowPreprocessor, AResultThatIsNotAnObjectFailsTheFlowBeforeAnyStep) {
  job_tree t{with_flows()};
  auto value = std::string{R"({"modules":[)"} + bash_step("a", "echo never")
               + R"(],"preprocessor_module":)" + bash_step("preprocessor", "echo 5")
               + R"(,"failure_module":)"
               + bash_step("failure", "s=\"$1\"\necho \"{\\\"handled\\\": \\\"$s\\\"}\"",
                           R"({"s":{"type":"javascript","expr":"previous_result.step_id"}})")
               + "}";
  auto id = t.submit(flow(value, webhook_args));
  auto r = t.wait(id);
  EXPECT_EQ(r.status, job_status::failure);
  EXPECT_EQ(r.result, R"({"handled": "preprocessor"})");
  db_view db{t.conninfo()};
  EXPECT_EQ(db.steps(id).size(), 2u) << "the preprocessor and the failure module; a never ran";
  auto status = db.flow_status(id);
  EXPECT_TRUE(contains(status, "InvalidPreprocessorResult")) << status;
  EXPECT_TRUE(contains(status, "it returned a number")) << status;

  // Without a failure module the flow's result is that error.
  auto plain = std::string{R"({"modules":[)"} + bash_step("a", "echo never")
               + R"(],"preprocessor_module":)" + bash_step("preprocessor", "echo '[1]'") + "}";
  auto r2 = t.wait(t.submit(flow(plain, webhook_args)));
  EXPECT_EQ(r2.status, job_status::failure);
  EXPECT_TRUE(contains(r2.result, "InvalidPreprocessorResult")) << r2.result;
  EXPECT_TRUE(contains(r2.result, "it returned an array")) << r2.result;
}

// The server stops while step b runs, after the preprocessor and step a; the
// resumed attempt submits the preprocessor's job again (same id), finds it
// finished and goes on with its result, and resumes at b: its status, which
// says a finished, was not overwritten by the preprocessor's.
TEST(FlowPreprocessor, AResumedAttemptReusesThePreprocessorsJob) {
  auto db = std::make_shared<test::scratch_database>();
  auto opts = with_flows(4, std::chrono::seconds{2});
  opts.db = db;
  auto value = std::string{R"({"modules":[)"} + bash_step("a", "echo 1") + ","
               + bash_step("b", "x=\"$1\"\nsleep 2\necho $((x + 1))",
                           R"({"x":{"type":"javascript","expr":"flow_input.x"}})")
               + R"(],"preprocessor_module":)" + doubling_preprocessor() + "}";
  auto id = submit_and_stop_mid_step(opts, flow(value, webhook_args), "%sleep 2%");
  ASSERT_FALSE(id.empty()) << "step b never started";
  job_tree t2{opts};
  auto r = t2.wait(id);
  EXPECT_EQ(r.status, job_status::success) << r.result;
  EXPECT_EQ(r.result, "11");
  EXPECT_GE(r.attempt, 2) << "the flow ran again as a new attempt";
  caf::scoped_actor self{t2.system()};
  uint64_t submitted = 0;
  self->request(t2.dispatcher(), std::chrono::seconds{5}, stats_atom_v)
    .receive([&](dispatcher_stats& s) { submitted = s.submitted; }, [](caf::error&) {});
  EXPECT_EQ(submitted, 2u) << "the preprocessor's job and b's again, not a's";
  db_view view{t2.conninfo()};
  auto steps = view.c.query("SELECT j.raw_code LIKE 'n=%', c.attempt FROM job j "
                            "JOIN job_completed c ON c.job_id = j.id WHERE j.parent_job = $1 "
                            "ORDER BY j.created_at, j.id",
                            {id});
  ASSERT_EQ(steps.rows.size(), 3u) << "one job each of the preprocessor, a and b";
  EXPECT_EQ(steps.rows[0][0].text, "t");
  EXPECT_EQ(steps.rows[0][1].text, "1") << "the preprocessor was not run again";
}

} // namespace
