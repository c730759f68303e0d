// A flow survives kill -9 of its server: `millrace standalone` runs a flow
// with a step, a parallel loop, a retried step and an approval step, and is
// killed mid-loop, mid-retry-delay and mid-approval, then restarted each time.
// The database is the judge: every step job completed exactly once, the step
// that finished before the first kill never ran again, the retry kept its
// original deadline, and the approval given before a kill still counted.

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "api/cli/http_client.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/system_helpers.hpp"
#include "tests/support/test_database.hpp"

using namespace millrace;
using namespace millrace::test;
using namespace std::chrono_literals;

namespace {

const std::string bin = MILLRACE_BINARY;

std::string bash(const std::string& code, const std::string& transforms = "{}") {
  return R"({"type":"rawscript","language":"bash","content":)" + json_string(code)
         + R"(,"input_transforms":)" + transforms + "}";
}

// a; a parallel loop of 6 one-second iterations; r fails, waits 10 s, fails
// again (continue_on_error); ok waits for 2 approvals; z reports.
std::string the_flow() {
  return std::string{R"({"modules":[)"} + R"({"id":"a","value":)" + bash("echo 1\n") + "},"
         + R"({"id":"loop","value":{"type":"forloopflow","parallel":true,"parallelism":2,)"
           R"("skip_failures":false,"iterator":{"type":"static","value":[0,1,2,3,4,5]},)"
           R"("modules":[{"id":"it","value":)"
         + bash("i=\"$1\"\nsleep 1\necho $i\n",
                R"({"i":{"type":"javascript","expr":"flow_input.iter.value"}})")
         + "}]}},"
         + R"({"id":"r","continue_on_error":true,"retry":{"constant":{"attempts":1,"seconds":10}},)"
           R"("value":)"
         + bash("exit 3\n") + "},"
         + R"({"id":"ok","suspend":{"required_events":2,"timeout":600},"value":{"type":"identity"}},)"
         + R"({"id":"z","value":)"
         + bash("x=\"$1\"\necho \"$x\"\n",
                R"x({"x":{"type":"javascript","expr":"JSON.stringify({approvers, n: results.loop.length})"}})x")
         + "}]}";
}

class FlowRestart : public ::testing::Test {
protected:
  scratch_database db;
  std::string dir = "/tmp/millrace-flow-restart-" + std::to_string(::getpid());
  uint16_t port = free_port();

  void SetUp() override { std::filesystem::create_directories(dir); }
  void TearDown() override { std::filesystem::remove_all(dir); }

  std::unique_ptr<child_process> start() {
    auto p = std::make_unique<child_process>(
      std::vector<std::string>{bin, "standalone", "--database.url=" + db.conninfo(),
                               "--api.port=" + std::to_string(port), "--worker.slots=3",
                               "--worker.tags=bash", "--flows.slots=2", "--dispatcher.lease=3s",
                               "--api.admin_token_file=" + dir + "/token"},
      std::vector<std::string>{"MILLRACE_DATABASE_URL="});
    EXPECT_TRUE(p->wait_for_stderr("standalone is running", 60s)) << p->err();
    // The API binds on its own actor, a moment after the start-up message.
    EXPECT_TRUE(p->wait_for_stderr("HTTP API listening", 60s)) << p->err();
    return p;
  }

  void kill_and_restart(std::unique_ptr<child_process>& p) {
    p->signal(SIGKILL);
    EXPECT_EQ(p->wait(30s), 128 + SIGKILL);
    p = start();
  }

  api::api_endpoint ep() {
    api::api_endpoint e;
    e.port = std::to_string(port);
    std::ifstream in{dir + "/token"};
    std::getline(in, e.token);
    return e;
  }

  /// Module `k` of the flow's recorded status (a null document if none).
  rapidjson::Document module(const std::string& flow, int k) {
    auto text = scalar(db.conninfo(),
                       "SELECT COALESCE((SELECT flow_status->'modules'->" + std::to_string(k)
                         + " FROM job_queue WHERE job_id = $1::uuid), "
                           "(SELECT flow_status->'modules'->" + std::to_string(k)
                         + " FROM job_completed WHERE job_id = $1::uuid))::text",
                       {flow});
    rapidjson::Document d;
    d.Parse(text.empty() ? "null" : text.c_str());
    return d;
  }

  std::string type_of(const std::string& flow, int k) {
    auto m = module(flow, k);
    return m.IsObject() && m.HasMember("type") && m["type"].IsString() ? m["type"].GetString() : "";
  }

  void approve(const std::string& step_job, int resume_id, const std::string& who) {
    auto e = ep();
    auto r = api::http_call(e, "GET",
                            "/api/w/admins/jobs/resume_urls/" + step_job + "/"
                              + std::to_string(resume_id) + "?approver=" + who,
                            "", 30s);
    ASSERT_EQ(r.status, 200) << r.body;
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    std::string url = d["resume"].GetString();
    e.token.clear();
    auto a = api::http_call(e, "POST", url.substr(url.find("/api/")), "{}", 30s);
    ASSERT_EQ(a.status, 200) << a.body;
  }

  double seconds_between(const std::string& first_done, const std::string& second_started) {
    return std::stod(scalar(db.conninfo(),
                            "SELECT extract(epoch FROM (SELECT started_at FROM job_completed "
                            "WHERE job_id = $2::uuid) - (SELECT completed_at FROM job_completed "
                            "WHERE job_id = $1::uuid))",
                            {first_done, second_started}));
  }
};

TEST_F(FlowRestart, AFlowKilledMidLoopMidRetryAndMidApprovalFinishesWithEveryStepOnce) {
  auto srv = start();
  auto r = api::http_call(ep(), "POST", "/api/w/admins/jobs/run/preview_flow",
                          R"({"value":)" + the_flow() + R"(,"args":{}})", 30s);
  ASSERT_EQ(r.status, 201) << r.body;
  auto flow = r.body;

  // 1. Mid-loop: some iterations done, others running.
  ASSERT_TRUE(eventually(
    [&] {
      auto m = module(flow, 1);
      return m.IsObject() && m.HasMember("iterator") && m["iterator"]["index"].GetInt() >= 2;
    },
    60s))
    << srv->err();
  auto a_job = std::string{module(flow, 0)["job"].GetString()};
  kill_and_restart(srv);

  // 2. Mid-retry: r failed once and waits 10 s for its retry.
  ASSERT_TRUE(eventually(
    [&] {
      auto m = module(flow, 2);
      return m.IsObject() && m.HasMember("failed_retries");
    },
    90s))
    << srv->err();
  // Killed 3 s into the 10 s wait: restarting the wait would put the retry
  // at 13 s or later.
  std::this_thread::sleep_for(3s);
  kill_and_restart(srv);

  // 3. Mid-approval: one of two approvals given, then killed.
  ASSERT_TRUE(eventually([&] { return type_of(flow, 3) == "WaitingForEvents"; }, 90s))
    << srv->err();
  auto ok_job = std::string{module(flow, 3)["job"].GetString()};
  approve(ok_job, 1, "alice");
  ASSERT_TRUE(eventually(
    [&] {
      auto m = module(flow, 3);
      return m.IsObject() && m.HasMember("approvers");
    },
    30s));
  kill_and_restart(srv);
  ASSERT_TRUE(eventually([&] { return type_of(flow, 3) == "WaitingForEvents"; }, 90s))
    << srv->err();
  approve(ok_job, 2, "bob");

  ASSERT_TRUE(eventually(
    [&] {
      return !scalar(db.conninfo(), "SELECT status FROM job_completed WHERE job_id = $1::uuid",
                     {flow})
                .empty();
    },
    90s))
    << srv->err();
  EXPECT_EQ(scalar(db.conninfo(), "SELECT status FROM job_completed WHERE job_id = $1::uuid",
                   {flow}),
            "success")
    << scalar(db.conninfo(), "SELECT result::text FROM job_completed WHERE job_id = $1::uuid",
              {flow});
  EXPECT_EQ(scalar(db.conninfo(),
                   "SELECT (result->'approvers')::text FROM job_completed WHERE job_id = $1::uuid",
                   {flow}),
            R"(["alice", "bob"])");
  EXPECT_EQ(scalar(db.conninfo(), "SELECT result->>'n' FROM job_completed WHERE job_id = $1::uuid",
                   {flow}),
            "6");

  // Every step job: a, 6 iterations, r and its retry, z; each completed once.
  EXPECT_EQ(scalar(db.conninfo(), "SELECT count(*) FROM job WHERE parent_job = $1::uuid", {flow}),
            "10");
  EXPECT_EQ(scalar(db.conninfo(),
                   "SELECT count(*) FROM job_completed c JOIN job j ON j.id = c.job_id "
                   "WHERE j.parent_job = $1::uuid",
                   {flow}),
            "10");
  // a finished before the first kill and never ran again.
  EXPECT_EQ(scalar(db.conninfo(), "SELECT attempt FROM job_completed WHERE job_id = $1::uuid",
                   {a_job}),
            "1");
  // The retry fired at its original deadline (10 s after the failure), not
  // 10 s after the restarted server got to it (13 s or more).
  auto rm = module(flow, 2);
  ASSERT_TRUE(rm.IsObject() && rm.HasMember("failed_retries") && rm.HasMember("job"));
  auto gap = seconds_between(rm["failed_retries"][0].GetString(), rm["job"].GetString());
  std::printf("retry gap %.2f s\n", gap);
  EXPECT_GE(gap, 9.9);
  EXPECT_LT(gap, 12.0) << "the retry delay restarted with the server";
  EXPECT_GE(std::stoi(scalar(db.conninfo(),
                             "SELECT attempt FROM job_completed WHERE job_id = $1::uuid", {flow})),
            4)
    << "three kills, three new attempts of the flow job";

  srv->signal(SIGTERM);
  EXPECT_EQ(srv->wait(60s), 0) << srv->err();
}

} // namespace
