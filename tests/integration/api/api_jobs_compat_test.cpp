// Windmill's other job reads and force_cancel, over HTTP: completed/get,
// completed/get_timing, get_args, get_root_job_id, queue/force_cancel.
// Each answers 400 for a bad id and 404 for another workspace's job.

#include "tests/integration/api/api_fixture.hpp"

namespace millrace::test {
namespace {

std::string str(const rapidjson::Value& v) {
  return v.IsString() ? std::string{v.GetString(), v.GetStringLength()} : std::string{"<not a string>"};
}

TEST(ApiJobsCompat, CompletedReadsWaitForTheEndAndShowTheJob) {
  api_server s;
  auto t = s.user_token;
  auto queued = s.call(t, "POST", "/api/w/ws-a/jobs/run/preview?scheduled_in_secs=86400",
                       R"({"kind":"noop","args":{"x":1}})");
  ASSERT_EQ(queued.status, 201) << queued.body;
  for (auto* route : {"completed/get/", "completed/get_timing/"}) {
    auto r = s.call(t, "GET", "/api/w/ws-a/jobs_u/" + std::string{route} + queued.body);
    EXPECT_EQ(r.status, 404) << route << " of a queued job: " << r.body;
    EXPECT_NE(r.body.find("has not finished"), std::string::npos) << r.body;
  }
  auto run = s.call(t, "POST", "/api/w/ws-a/jobs/run/preview", R"({"kind":"identity","args":{"k":"v"}})");
  ASSERT_EQ(run.status, 201) << run.body;
  s.tree->wait(run.body);
  auto r = s.call(t, "GET", "/api/w/ws-a/jobs_u/completed/get/" + run.body);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json_of(r.body);
  EXPECT_EQ(str(j["id"]), run.body);
  EXPECT_EQ(str(j["type"]), "CompletedJob");
  EXPECT_EQ(str(j["status"]), "success");
  EXPECT_EQ(str(j["result"]["k"]), "v");
  r = s.call(t, "GET", "/api/w/ws-a/jobs_u/completed/get_timing/" + run.body);
  ASSERT_EQ(r.status, 200) << r.body;
  j = json_of(r.body);
  EXPECT_TRUE(j["created_at"].IsString()) << r.body;
  EXPECT_TRUE(j["started_at"].IsString()) << r.body;
  EXPECT_TRUE(j["completed_at"].IsString()) << r.body;
  ASSERT_TRUE(j["duration_ms"].IsInt64()) << r.body;
  EXPECT_GE(j["duration_ms"].GetInt64(), 0);
}

TEST(ApiJobsCompat, ArgsAndRootJobId) {
  api_server s;
  auto t = s.user_token;
  auto run = s.call(t, "POST", "/api/w/ws-a/jobs/run/preview?scheduled_in_secs=86400",
                    R"({"kind":"noop","args":{"n":7,"s":"é"}})");
  ASSERT_EQ(run.status, 201) << run.body;
  auto r = s.call(t, "GET", "/api/w/ws-a/jobs_u/get_args/" + run.body);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json_of(r.body);
  EXPECT_EQ(j["n"].GetInt(), 7);
  EXPECT_EQ(str(j["s"]), "é");
  // A top-level job is its own root.
  r = s.call(t, "GET", "/api/w/ws-a/jobs_u/get_root_job_id/" + run.body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "\"" + run.body + "\"");
  // A flow's step has the flow as its root.
  auto flow = s.call(t, "POST", "/api/w/ws-a/jobs/run/preview_flow",
                     R"({"value":{"modules":[{"id":"a","value":{"type":"rawscript","language":"bash",)"
                     R"("content":"echo step"}}]},"args":{}})");
  ASSERT_EQ(flow.status, 201) << flow.body;
  s.tree->wait(flow.body);
  auto steps = s.sql("SELECT id::text FROM job WHERE parent_job = $1::uuid", {flow.body});
  ASSERT_EQ(steps.rows.size(), 1u);
  auto step = steps.rows[0][0].text;
  r = s.call(t, "GET", "/api/w/ws-a/jobs_u/get_root_job_id/" + step);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "\"" + flow.body + "\"");
}

TEST(ApiJobsCompat, ForceCancelCancelsLikeCancel) {
  api_server s;
  auto t = s.user_token;
  auto run = s.call(t, "POST", "/api/w/ws-a/jobs/run/preview?scheduled_in_secs=86400", R"({"kind":"noop"})");
  ASSERT_EQ(run.status, 201) << run.body;
  auto r = s.call(t, "POST", "/api/w/ws-a/jobs_u/queue/force_cancel/" + run.body, R"({"reason":"stop"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(str(json_of(r.body)["status"]), "canceled");
  auto j = json_of(s.call(t, "GET", "/api/w/ws-a/jobs_u/get/" + run.body).body);
  EXPECT_EQ(str(j["status"]), "canceled");
  EXPECT_EQ(str(j["canceled_reason"]), "stop");
  EXPECT_EQ(s.call(t, "POST", "/api/w/ws-a/jobs_u/queue/force_cancel/" + run.body, "{}").status, 409)
    << "a finished job is a conflict";
}

TEST(ApiJobsCompat, BadIdsAndOtherWorkspacesJobs) {
  api_server s;
  auto run = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run/preview", R"({"kind":"identity","args":{}})");
  ASSERT_EQ(run.status, 201) << run.body;
  s.tree->wait(run.body);
  for (auto* route : {"completed/get/", "completed/get_timing/", "get_args/", "get_root_job_id/"}) {
    auto r = s.call(s.user_token, "GET", "/api/w/ws-a/jobs_u/" + std::string{route} + "not-a-uuid");
    EXPECT_EQ(r.status, 400) << route << r.body;
    EXPECT_EQ(str(json_of(r.body)["field"]), "/id") << route;
    r = s.call(s.user_b_token, "GET", "/api/w/ws-b/jobs_u/" + std::string{route} + run.body);
    EXPECT_EQ(r.status, 404) << route << " of ws-a's job from ws-b: " << r.body;
  }
  EXPECT_EQ(s.call(s.user_b_token, "POST", "/api/w/ws-b/jobs_u/queue/force_cancel/" + run.body, "{}").status,
            404);
}

} // namespace
} // namespace millrace::test
