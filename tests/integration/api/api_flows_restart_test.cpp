// Flows over HTTP, continued: jobs/restart/f/{id}/from/{step} (a new flow job
// whose steps before `step` keep their recorded results and do not run
// again; refusals naming the problem) and from/{step}/{n} (an iteration or
// branch: those before keep their jobs), and early_return (run_wait_result
// answers with that step's result while the rest of the flow runs on), and
// cache_ttl of steps and of whole flows, and a flow job's own timeout.

#include <chrono>
#include <set>
#include <thread>

#include "actors/protocol/types/job.hpp"
#include "tests/integration/api/api_fixture.hpp"

namespace millrace::test {
namespace {

std::string str(const rapidjson::Value& v) { return v.IsString() ? v.GetString() : "<not a string>"; }

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

std::string bash(const std::string& id, const std::string& code, const std::string& transforms = "{}") {
  return R"({"id":")" + id + R"(","value":{"type":"rawscript","language":"bash","content":")" + code
         + R"(","input_transforms":)" + transforms + "}}";
}

// a prints a number that differs on every run; b fails unless flow_input.ok;
// c returns a's result.
std::string three_steps() {
  return R"({"modules":[)" + bash("a", R"(echo $((RANDOM * 32768 + RANDOM)))") + ","
         + bash("b", R"(ok=\"$1\"\n[ \"$ok\" = true ] || exit 4\necho 2)",
                R"({"ok":{"type":"javascript","expr":"flow_input.ok"}})")
         + ","
         + bash("c", R"(x=\"$1\"\necho \"$x\")", R"({"x":{"type":"javascript","expr":"results.a"}})")
         + "]}";
}

std::string run(const api_server& s, const std::string& value, const std::string& args) {
  auto r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run/preview_flow",
                  R"({"value":)" + value + R"(,"args":)" + args + "}");
  EXPECT_EQ(r.status, 201) << r.body;
  return r.body;
}

rapidjson::Document job(const api_server& s, const std::string& id) {
  auto g = s.call(s.user_token, "GET", "/api/w/ws-a/jobs_u/get/" + id);
  EXPECT_EQ(g.status, 200) << g.body;
  return json_of(g.body);
}

TEST(ApiFlowRestart, ARestartKeepsTheStepsBeforeAndRunsTheRest) {
  api_server s;
  auto first = run(s, three_steps(), R"({"ok":true})");
  ASSERT_EQ(s.tree->wait(first).status, actors::job_status::success);
  auto old = job(s, first);
  auto a_result = std::string{old["flow_status"]["modules"][0]["result"].IsNumber()
                                ? std::to_string(old["flow_status"]["modules"][0]["result"].GetInt64())
                                : ""};
  ASSERT_FALSE(a_result.empty());

  auto r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/restart/f/" + first + "/from/b", "{}");
  ASSERT_EQ(r.status, 201) << r.body;
  auto second = r.body;
  auto done = s.tree->wait(second);
  ASSERT_EQ(done.status, actors::job_status::success) << done.result;
  EXPECT_EQ(done.result, a_result) << "c returns a's recorded result: a did not run again";
  auto now = job(s, second);
  EXPECT_EQ(str(now["flow_status"]["modules"][0]["type"]), "Success");
  EXPECT_EQ(str(now["job_kind"]), "flowpreview");
  EXPECT_EQ(now["args"]["ok"].GetBool(), true) << "the first run's args";
  auto steps = s.sql("SELECT count(*) FROM job WHERE parent_job = $1::uuid", {second});
  EXPECT_EQ(steps.rows[0][0].text, "2") << "only b and c ran";

  // Refusals, each naming the problem.
  r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/restart/f/" + first + "/from/zz", "{}");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(contains(r.body, "its steps: a, b, c")) << r.body;
  r = s.call(s.user_b_token, "POST", "/api/w/ws-b/jobs/restart/f/" + first + "/from/b", "{}");
  EXPECT_EQ(r.status, 404) << r.body;
  r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/restart/f/not-a-uuid/from/b", "{}");
  EXPECT_EQ(r.status, 400) << r.body;
  push_script(s, s.user_token, "ws-a", "f/x/plain", "bash", "echo 1\n");
  auto plain = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run/p/f/x/plain", "{}");
  s.tree->wait(plain.body);
  r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/restart/f/" + plain.body + "/from/a", "{}");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(contains(r.body, "not a flow")) << r.body;

  // A failed flow: restarting after the failed step is refused; from it, it
  // runs that step again.
  auto failed = run(s, three_steps(), R"({"ok":false})");
  ASSERT_EQ(s.tree->wait(failed).status, actors::job_status::failure);
  r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/restart/f/" + failed + "/from/c", "{}");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_TRUE(contains(r.body, "step 'b' (before 'c') did not succeed")) << r.body;
  r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/restart/f/" + failed + "/from/b", "{}");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(s.tree->wait(r.body).status, actors::job_status::failure);
}

TEST(ApiFlowRestart, ARestartKeepsTheFlowsTimeoutAndPriorityUnlessTheRequestSetsThem) {
  api_server s;
  auto r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run/preview_flow?timeout=100&priority=5",
                  R"({"value":)" + three_steps() + R"(,"args":{"ok":true}})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto first = r.body;
  ASSERT_EQ(s.tree->wait(first).status, actors::job_status::success);
  r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/restart/f/" + first + "/from/b", "{}");
  ASSERT_EQ(r.status, 201) << r.body;
  s.tree->wait(r.body);
  auto again = job(s, r.body);
  EXPECT_EQ(again["timeout"].GetInt(), 100) << "the flow's own timeout";
  EXPECT_EQ(again["priority"].GetInt(), 5);
  r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/restart/f/" + first + "/from/b?timeout=50", "{}");
  ASSERT_EQ(r.status, 201) << r.body;
  s.tree->wait(r.body);
  again = job(s, r.body);
  EXPECT_EQ(again["timeout"].GetInt(), 50) << "the request's timeout";
  EXPECT_EQ(again["priority"].GetInt(), 5);
}

TEST(ApiFlowRestart, ARunningFlowCannotBeRestarted) {
  api_server s;
  auto id = run(s, R"({"modules":[)" + bash("slow", "sleep 5") + "]}", "{}");
  auto r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/restart/f/" + id + "/from/slow", "{}");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(str(json_of(r.body)["error"]), "still_running");
  s.call(s.user_token, "POST", "/api/w/ws-a/jobs_u/queue/cancel/" + id, "{}");
  s.tree->wait(id);
}

TEST(ApiFlowRestart, EarlyReturnAnswersWhileTheRestRunsOn) {
  api_server s;
  auto value = R"({"modules":[)" + bash("a", "echo 42") + "," + bash("b", "sleep 4\\necho 7")
               + R"(],"early_return":"a"})";
  auto t0 = std::chrono::steady_clock::now();
  auto r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run_wait_result/preview_flow",
                  R"({"value":)" + value + R"(,"args":{}})");
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "42");
  EXPECT_LT(took, std::chrono::seconds{4}) << "answered before step b ended";
  // The flow itself runs on and ends with b's result.
  auto flows = s.sql("SELECT id::text FROM job WHERE kind = 'flowpreview' ORDER BY created_at DESC "
                     "LIMIT 1");
  auto id = flows.rows[0][0].text;
  EXPECT_EQ(str(job(s, id)["status"]), "running");
  auto done = s.tree->wait(id);
  EXPECT_EQ(done.status, actors::job_status::success);
  EXPECT_EQ(done.result, "7");
}

// The step prints a random number: a repeated run that prints the same one
// got it from the cache.
std::string cached_step(const std::string& where_ttl) {
  return R"({"modules":[{"id":"r",)" + where_ttl
         + R"("value":{"type":"rawscript","language":"bash",)"
           R"x("content":"k=\"$1\"\necho $((RANDOM * 32768 + RANDOM))",)x"
           R"("input_transforms":{"k":{"type":"javascript","expr":"flow_input.k"}}}}]})";
}

std::string run_wait(const api_server& s, const std::string& value, const std::string& args) {
  auto r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run_wait_result/preview_flow",
                  R"({"value":)" + value + R"(,"args":)" + args + "}");
  EXPECT_EQ(r.status, 200) << r.body;
  return r.body;
}

std::string newest_flow(const api_server& s) {
  return s.sql("SELECT id::text FROM job WHERE kind = 'flowpreview' ORDER BY created_at DESC, id "
               "DESC LIMIT 1")
    .rows[0][0]
    .text;
}

std::string steps_of(const api_server& s, const std::string& flow) {
  return s.sql("SELECT count(*) FROM job WHERE parent_job = $1::uuid", {flow}).rows[0][0].text;
}

TEST(ApiFlowRestart, CacheTtlKeepsResultsOfStepsAndOfWholeFlows) {
  api_server s;
  // A step's cache: same code and args, same result, no job.
  auto step = cached_step(R"("cache_ttl":60,)");
  auto first = run_wait(s, step, R"({"k":1})");
  EXPECT_EQ(steps_of(s, newest_flow(s)), "1");
  auto again = run_wait(s, step, R"({"k":1})");
  EXPECT_EQ(again, first);
  auto id = newest_flow(s);
  EXPECT_EQ(steps_of(s, id), "0") << "the step came from the cache";
  auto g = json_of(s.call(s.user_token, "GET", "/api/w/ws-a/jobs_u/get/" + id).body);
  EXPECT_TRUE(g["flow_status"]["modules"][0]["cached"].GetBool());
  // Other args: the step runs.
  run_wait(s, step, R"({"k":2})");
  EXPECT_EQ(steps_of(s, newest_flow(s)), "1");
  // Without cache_ttl nothing is kept.
  auto plain = cached_step("");
  run_wait(s, plain, R"({"k":1})");
  run_wait(s, plain, R"({"k":1})");
  EXPECT_EQ(steps_of(s, newest_flow(s)), "1");

  // A flow's cache: the whole run's result, no step.
  auto flow = cached_step("");
  flow.insert(flow.size() - 1, R"(,"cache_ttl":60)");
  first = run_wait(s, flow, R"({"k":3})");
  again = run_wait(s, flow, R"({"k":3})");
  EXPECT_EQ(again, first);
  id = newest_flow(s);
  EXPECT_EQ(steps_of(s, id), "0");
  g = json_of(s.call(s.user_token, "GET", "/api/w/ws-a/jobs_u/get/" + id).body);
  EXPECT_TRUE(g["flow_status"]["cached"].GetBool()) << g["flow_status"].IsObject();
}

TEST(ApiFlowRestart, AFlowPastItsTimeoutEndsTimedOutAndCancelsItsStep) {
  api_server s;
  auto r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run/preview_flow?timeout=1",
                  R"({"value":{"modules":[)" + bash("slow", "sleep 30") + "," + bash("never", "echo 1")
                    + R"(]},"args":{}})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto t0 = std::chrono::steady_clock::now();
  auto done = s.tree->wait(r.body);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds{15});
  EXPECT_EQ(done.status, actors::job_status::timed_out) << done.result;
  EXPECT_TRUE(contains(done.result, "timeout of 1 s")) << done.result;
  auto step = s.sql("SELECT id FROM job WHERE parent_job = $1::uuid", {r.body});
  ASSERT_EQ(step.rows.size(), 1u) << "only the slow step ran";
  // The step's cancel is recorded on its own, not before the flow's end:
  // wait for it.
  EXPECT_EQ(s.tree->wait(step.rows[0][0].text).status, actors::job_status::canceled);
}

// l: three iterations, b: two branches, each printing a number that differs
// on every run; c passes b's result on.
std::string loop_and_branches() {
  auto r = [](const std::string& id) { return bash(id, "echo $((RANDOM * 32768 + RANDOM))"); };
  return R"({"modules":[{"id":"l","value":{"type":"forloopflow",)"
         R"("iterator":{"type":"static","value":[1,2,3]},"modules":[)"
         + r("li") + R"(]}},{"id":"b","value":{"type":"branchall","branches":[{"modules":[)"
         + r("b0") + R"(]},{"modules":[)" + r("b1")
         + R"(]}]}},{"id":"c","value":{"type":"identity"}}]})";
}

// The results of top-level module k of a finished flow (an array).
std::vector<int64_t> results_of(const api_server& s, const std::string& id, size_t k) {
  auto j = job(s, id);
  std::vector<int64_t> out;
  auto& r = j["flow_status"]["modules"][static_cast<rapidjson::SizeType>(k)]["result"];
  if (r.IsArray())
    for (auto& v : r.GetArray())
      out.push_back(v.IsInt64() ? v.GetInt64() : -1);
  return out;
}

std::string restart(const api_server& s, const std::string& id, const std::string& from) {
  auto r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/restart/f/" + id + "/from/" + from, "{}");
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(s.tree->wait(r.body).status, actors::job_status::success);
  return r.body;
}

std::string own_steps(const api_server& s, const std::string& id) {
  return s.sql("SELECT count(*) FROM job WHERE parent_job = $1::uuid", {id}).rows[0][0].text;
}

TEST(ApiFlowRestart, FromAnIterationOrABranchThoseBeforeKeepTheirResults) {
  api_server s;
  auto first = run(s, loop_and_branches(), "{}");
  ASSERT_EQ(s.tree->wait(first).status, actors::job_status::success);
  auto l1 = results_of(s, first, 0);
  auto b1 = results_of(s, first, 1);
  ASSERT_EQ(l1.size(), 3u);
  ASSERT_EQ(b1.size(), 2u);

  // From iteration 2 of l: iterations 0 and 1 are the first run's jobs.
  auto second = restart(s, first, "l/2");
  auto l2 = results_of(s, second, 0);
  ASSERT_EQ(l2.size(), 3u);
  EXPECT_EQ(l2[0], l1[0]);
  EXPECT_EQ(l2[1], l1[1]);
  EXPECT_NE(l2[2], l1[2]) << "iteration 2 ran again";
  EXPECT_NE(results_of(s, second, 1), b1) << "b ran again";
  EXPECT_EQ(own_steps(s, second), "3") << "iteration 2 and both branches";

  // From branch 1 of b: l is a step before (its recorded result), branch 0
  // is the second run's job.
  auto b2 = results_of(s, second, 1);
  auto third = restart(s, second, "b/1");
  EXPECT_EQ(results_of(s, third, 0), l2);
  auto b3 = results_of(s, third, 1);
  ASSERT_EQ(b3.size(), 2u);
  EXPECT_EQ(b3[0], b2[0]);
  EXPECT_NE(b3[1], b2[1]);
  EXPECT_EQ(own_steps(s, third), "1");

  // A restart of a restart: iteration 0 of the second run was the first's.
  auto fourth = restart(s, second, "l/1");
  auto l4 = results_of(s, fourth, 0);
  ASSERT_EQ(l4.size(), 3u);
  EXPECT_EQ(l4[0], l1[0]);
  EXPECT_NE(l4[1], l1[1]);
  EXPECT_EQ(own_steps(s, fourth), "4");

  // A restart from a later step keeps l as done; a restart of that one from
  // l/2 takes iterations 0 and 1 from the flow that ran l.
  auto fifth = restart(s, first, "c");
  auto l6 = results_of(s, restart(s, fifth, "l/2"), 0);
  ASSERT_EQ(l6.size(), 3u);
  EXPECT_EQ(l6[0], l1[0]);
  EXPECT_EQ(l6[1], l1[1]);
  EXPECT_NE(l6[2], l1[2]);

  // Three deep: the second run kept iterations 0 and 1 from the first; a
  // restart of it from a later step carries that on with l, and a restart
  // of that one from l/1 takes iteration 0 from the first run.
  auto l7 = results_of(s, restart(s, restart(s, second, "c"), "l/1"), 0);
  ASSERT_EQ(l7.size(), 3u);
  EXPECT_EQ(l7[0], l1[0]);
  EXPECT_NE(l7[1], l1[1]);

  // Refusals name the problem.
  auto refused = [&](const std::string& from, const std::string& what) {
    auto r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/restart/f/" + first + "/from/" + from,
                    "{}");
    EXPECT_EQ(r.status, 400) << from << ": " << r.body;
    EXPECT_TRUE(contains(r.body, what)) << from << ": " << r.body;
    EXPECT_TRUE(contains(r.body, "/branch_or_iteration")) << r.body;
  };
  refused("l/x", "'x' is not an iteration or branch number");
  refused("l/3", "iteration 3: step 'l' of flow " + first + " had 3 iterations");
  refused("b/2", "branch 2: step 'b' of flow " + first + " had 2 branches");
  refused("c/0", "step 'c' (identity) has no iterations or branches");
}

// A kept iteration counts only if it succeeded: one that failed (tolerated by
// skip_failures) runs again.
TEST(ApiFlowRestart, AKeptIterationThatFailedRunsAgain) {
  api_server s;
  auto value = std::string{R"({"modules":[{"id":"l","value":{"type":"forloopflow",)"}
               + R"("iterator":{"type":"static","value":[1,2,3]},"skip_failures":true,"modules":[)"
               + bash("li",
                      R"(x=\"$1\"\nif [ \"$x\" = 2 ]; then exit 3; fi\n)"
                      R"(echo $((RANDOM * 32768 + RANDOM)))",
                      R"({"x":{"type":"javascript","expr":"flow_input.iter.value"}})")
               + "]}}]}";
  auto first = run(s, value, "{}");
  ASSERT_EQ(s.tree->wait(first).status, actors::job_status::success);
  auto l1 = results_of(s, first, 0);
  ASSERT_EQ(l1.size(), 3u);
  auto second = restart(s, first, "l/2");
  auto l2 = results_of(s, second, 0);
  ASSERT_EQ(l2.size(), 3u);
  EXPECT_EQ(l2[0], l1[0]) << "iteration 0 succeeded: kept";
  EXPECT_EQ(own_steps(s, second), "2") << "iteration 1 (it had failed) and iteration 2 ran";
}

// A kept step that failed and succeeded on its retry is kept: its retries
// are followed to the try that succeeded (the first try of iteration 0 fails
// once per flow run: a marker in the run's ./shared folder, same_worker).
TEST(ApiFlowRestart, AKeptStepThatSucceededOnARetryIsKept) {
  api_server s;
  auto value = std::string{R"({"same_worker":true,"modules":[{"id":"l","value":{)"}
               + R"("type":"forloopflow","iterator":{"type":"static","value":[1,2,3]},"modules":[)"
               + bash("li",
                      R"(x=\"$1\"\nmkdir -p shared\n)"
                      R"(if [ \"$x\" = 1 ] && [ ! -f shared/tried ]; then touch shared/tried; exit 3; fi\n)"
                      R"(echo $((RANDOM * 32768 + RANDOM)))",
                      R"({"x":{"type":"javascript","expr":"flow_input.iter.value"}})")
               + R"(]}}]})";
  // The retry goes on the loop's step.
  auto close = value.find("}}]}}]}");
  ASSERT_NE(close, std::string::npos);
  value.insert(close + 1, R"(,"retry":{"constant":{"attempts":1,"seconds":0}})");
  auto first = run(s, value, "{}");
  auto done = s.tree->wait(first);
  ASSERT_EQ(done.status, actors::job_status::success) << done.result;
  EXPECT_EQ(own_steps(s, first), "4") << "iteration 0 twice, 1 and 2 once";
  auto l1 = results_of(s, first, 0);
  ASSERT_EQ(l1.size(), 3u);
  auto second = restart(s, first, "l/2");
  auto l2 = results_of(s, second, 0);
  ASSERT_EQ(l2.size(), 3u);
  EXPECT_EQ(l2[0], l1[0]) << "iteration 0's retry was followed, not run again";
  EXPECT_EQ(l2[1], l1[1]);
  EXPECT_NE(l2[2], l1[2]);
  EXPECT_EQ(own_steps(s, second), "1") << "only iteration 2 ran";
}

// Approves, as its owner, the step of the flow that waits now and was not
// approved before. The route takes the newest open wait, and the end of an
// approved wait is recorded after the approval's answer: so it waits until
// every step approved before is closed and a new one is open.
void approve(const api_server& s, const std::string& flow, std::set<std::string>& approved) {
  for (int i = 0; i < 400; ++i) {
    auto open = s.sql("SELECT step_job::text FROM flow_suspend "
                      "WHERE flow_job = $1::uuid AND resolution IS NULL",
                      {flow});
    bool old_open = false;
    std::string fresh;
    for (auto& row : open.rows) {
      if (approved.count(row[0].text) > 0)
        old_open = true;
      else
        fresh = row[0].text;
    }
    if (!old_open && !fresh.empty()) {
      auto r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/flow/resume/" + flow, "{}");
      ASSERT_EQ(r.status, 200) << r.body;
      approved.insert(fresh);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  FAIL() << "flow " << flow << " never waited for a new approval";
}

// An approval step inside a kept iteration: its job is kept with the
// approval it had, and the restarted flow does not wait for it again.
TEST(ApiFlowRestart, AKeptIterationsApprovalIsNotAskedForAgain) {
  api_server s;
  auto value = std::string{R"({"modules":[{"id":"l","value":{"type":"forloopflow",)"}
               + R"("iterator":{"type":"static","value":[1,2]},"modules":[)"
               + bash("li", R"(echo $((RANDOM * 32768 + RANDOM)))") + "]}}]}";
  auto close = value.find("}}]}}]}");
  ASSERT_NE(close, std::string::npos);
  value.insert(close + 1, R"(,"suspend":{"required_events":1,"timeout":120})");
  auto first = run(s, value, "{}");
  std::set<std::string> approved;
  approve(s, first, approved);
  approve(s, first, approved);
  auto done = s.tree->wait(first, std::chrono::seconds{30});
  ASSERT_EQ(done.status, actors::job_status::success) << done.result;
  auto l1 = results_of(s, first, 0);
  ASSERT_EQ(l1.size(), 2u);

  auto r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/restart/f/" + first + "/from/l/1", "{}");
  ASSERT_EQ(r.status, 201) << r.body;
  auto second = r.body;
  approve(s, second, approved); // iteration 1's, the only one asked for
  done = s.tree->wait(second, std::chrono::seconds{30});
  ASSERT_EQ(done.status, actors::job_status::success) << done.result;
  auto l2 = results_of(s, second, 0);
  ASSERT_EQ(l2.size(), 2u);
  EXPECT_EQ(l2[0], l1[0]) << "iteration 0 kept";
  EXPECT_NE(l2[1], l1[1]);
  EXPECT_EQ(own_steps(s, second), "1");
  auto waits = s.sql("SELECT count(*) FROM flow_suspend WHERE flow_job = $1::uuid", {second});
  EXPECT_EQ(waits.rows[0][0].text, "1") << "one approval asked for";
}

} // namespace
} // namespace millrace::test
