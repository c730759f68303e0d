// Running and reading jobs over HTTP: run by path/hash/preview,
// run_wait_result (success, failure, timeout, GET with payload), args checked
// against the schema, Idempotency-Key, getupdate offsets, cancel, lists,
// counts and metrics.

#include <thread>

#include "api/service/crypto.hpp"
#include "tests/integration/api/api_fixture.hpp"

namespace millrace::test {
namespace {

using namespace std::chrono_literals;

const char* add_py = "def main(a: int, b: int = 1):\n    print('adding', a, b)\n    return a + b\n";

std::string wait_done(const api_server& s, const std::string& token, const std::string& ws,
                      const std::string& id) {
  for (int i = 0; i < 600; ++i) {
    auto r = s.call(token, "GET", "/api/w/" + ws + "/jobs_u/completed/get_result_maybe/" + id);
    auto j = json_of(r.body);
    if (j.IsObject() && j["completed"].GetBool())
      return r.body;
    std::this_thread::sleep_for(50ms);
  }
  ADD_FAILURE() << "job " << id << " did not finish";
  return {};
}

TEST(ApiJobs, RunWaitResultAnswersResultsAndErrors) {
  api_server s{3s};
  auto t = s.user_token;
  auto hash = push_script(s, t, "ws-a", "f/math/add", "python3", add_py);
  auto r = s.call(t, "POST", "/api/w/ws-a/jobs/run_wait_result/p/f/math/add", R"({"a": 40, "b": 2})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "42");
  r = s.call(t, "POST", "/api/w/ws-a/jobs/run_wait_result/h/" + hash, R"({"a": 1})");
  EXPECT_EQ(r.body, "2");
  // GET with the args as base64url JSON.
  r = s.call(t, "GET", "/api/w/ws-a/jobs/run_wait_result/p/f/math/add?payload="
                         + api::base64url_encode(R"({"a":5,"b":5})"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "10");
  // Args that violate the schema: 400 naming the field; no job.
  r = s.call(t, "POST", "/api/w/ws-a/jobs/run_wait_result/p/f/math/add", R"({"a": "forty"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(std::string{json_of(r.body)["field"].GetString()}, "/a");
  r = s.call(t, "POST", "/api/w/ws-a/jobs/run/p/f/math/add", R"({"b": 1})");
  EXPECT_EQ(r.status, 400) << "a is required";
  // A failing job: 500 with its error.
  push_script(s, t, "ws-a", "f/math/boom", "python3",
              "def main():\n    raise ValueError('no luck')\n");
  r = s.call(t, "POST", "/api/w/ws-a/jobs/run_wait_result/p/f/math/boom", "{}");
  EXPECT_EQ(r.status, 500);
  auto j = json_of(r.body);
  EXPECT_EQ(std::string{j["error"].GetString()}, "job_failure");
  EXPECT_EQ(std::string{j["result"]["name"].GetString()}, "ValueError");
  // Longer than max_wait (3 s): 504 with the job id; the job goes on.
  push_script(s, t, "ws-a", "f/math/slow", "bash", "sleep 30\n");
  r = s.call(t, "POST", "/api/w/ws-a/jobs/run_wait_result/p/f/math/slow", "{}");
  EXPECT_EQ(r.status, 504);
  j = json_of(r.body);
  EXPECT_EQ(std::string{j["error"].GetString()}, "wait_timeout");
  std::string slow = j["job_id"].GetString();
  auto g = s.call(t, "GET", "/api/w/ws-a/jobs_u/get/" + slow);
  EXPECT_EQ(std::string{json_of(g.body)["status"].GetString()}, "running");
  auto c = s.call(t, "POST", "/api/w/ws-a/jobs_u/queue/cancel/" + slow, R"({"reason":"enough"})");
  EXPECT_EQ(c.status, 200) << c.body;
  wait_done(s, t, "ws-a", slow);
  g = s.call(t, "GET", "/api/w/ws-a/jobs_u/get/" + slow);
  j = json_of(g.body);
  EXPECT_EQ(std::string{j["status"].GetString()}, "canceled");
  EXPECT_EQ(std::string{j["canceled_reason"].GetString()}, "enough");
  EXPECT_EQ(s.call(t, "POST", "/api/w/ws-a/jobs_u/queue/cancel/" + slow, "{}").status, 409)
    << "cancelling a finished job is a conflict";
}

TEST(ApiJobs, AnIdempotencyKeyReplaysTheFirstJobAndRefusesAnotherRequest) {
  api_server s;
  auto ep = s.as(s.user_token, "ws-a");
  push_script(s, s.user_token, "ws-a", "f/k/echo", "bash", "x=\"$1\"\necho \"$x\"\n");
  auto run = [&](const std::string& key, const std::string& body) {
    // http_call has no header hook: send the request by hand.
    auto raw = s.raw("POST /api/w/ws-a/jobs/run/p/f/k/echo HTTP/1.1\r\nHost: x\r\n"
                     "Authorization: Bearer " + s.user_token + "\r\nIdempotency-Key: " + key
                     + "\r\nContent-Type: application/json\r\nContent-Length: "
                     + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    auto status = std::atoi(raw.substr(9, 3).c_str());
    return std::make_pair(status, raw.substr(raw.find("\r\n\r\n") + 4));
  };
  auto first = run("key-1", R"({"x":"a"})");
  ASSERT_EQ(first.first, 201) << first.second;
  auto again = run("key-1", R"({"x":"a"})");
  EXPECT_EQ(again.first, 201);
  EXPECT_EQ(again.second, first.second) << "the same job";
  auto other = run("key-1", R"({"x":"b"})");
  EXPECT_EQ(other.first, 422) << other.second;
  EXPECT_EQ(std::string{json_of(other.second)["error"].GetString()}, "idempotency_conflict");
  auto n = s.sql("SELECT count(*) FROM job WHERE idempotency_key = 'key-1'");
  EXPECT_EQ(n.rows[0][0].text, "1") << "never a second job";
  (void)ep;
}

TEST(ApiJobs, RunOptionsAreCheckedBeforeAnythingIsWritten) {
  api_server s;
  auto run = [&](const std::string& token, const std::string& ws, const std::string& query) {
    return s.call(token, "POST", "/api/w/" + ws + "/jobs/run/preview" + query,
                  R"({"language":"bash","content":"echo hi\n"})");
  };
  auto first = run(s.user_token, "ws-a", "");
  ASSERT_EQ(first.status, 201) << first.body;
  auto id = first.body; // the job id, as plain text (as Windmill answers)
  auto field_of = [](const api::http_reply& r) {
    auto j = json_of(r.body);
    return j.IsObject() && j.HasMember("field") ? std::string{j["field"].GetString()} : "";
  };
  // A job id that a job of another workspace has: 409, never that job.
  auto r = run(s.user_b_token, "ws-b", "?job_id=" + id);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(field_of(r), "/job_id");
  EXPECT_EQ(r.body.find("echo"), std::string::npos);
  r = run(s.user_token, "ws-a", "?job_id=" + id);
  EXPECT_EQ(r.status, 409) << "an id given twice, without an Idempotency-Key";
  struct bad {
    const char* query;
    const char* field;
  };
  for (auto b : {bad{"?parent_job=foo", "/parent_job"},
                 bad{"?scheduled_for=999999999999999999", "/scheduled_for"},
                 bad{"?scheduled_for=2026-01-01T00:00:00%2B1:00", "/scheduled_for"},
                 bad{"?tag=nosuch", "/tag"}}) {
    r = run(s.user_token, "ws-a", b.query);
    EXPECT_EQ(r.status, 400) << b.query << ": " << r.body;
    EXPECT_EQ(field_of(r), b.field) << b.query;
  }
  r = run(s.user_token, "ws-a", "?tag=net");
  EXPECT_EQ(r.status, 403) << "network tags are for admin tokens: " << r.body;
  auto n = s.sql("SELECT count(*) FROM job WHERE workspace_id = 'ws-a'");
  EXPECT_EQ(n.rows[0][0].text, "1") << "only the first job was written";
  // A taken id goes in as the ON CONFLICT twin: no batch failed and was
  // re-run one write at a time because of it.
  auto m = s.call(s.admin_token, "GET", "/metrics");
  EXPECT_NE(m.body.find("\nmillrace_storage_isolated_batches_total 0\n"), std::string::npos)
    << m.body.substr(0, 200);
}

TEST(ApiJobs, FinishedJobsAreServedFromMemoryUnfinishedOnesNever) {
  api_server s;
  auto t = s.admin_token;
  auto created_by = [&](const std::string& id) {
    auto r = s.call(t, "GET", "/api/w/admins/jobs_u/get/" + id);
    EXPECT_EQ(r.status, 200) << r.body;
    auto j = json_of(r.body);
    return std::string{j["created_by"].GetString()} + "/" + j["status"].GetString();
  };
  auto later = s.call(t, "POST", "/api/w/admins/jobs/run/preview?scheduled_in_secs=3600",
                      R"({"kind":"noop"})");
  ASSERT_EQ(later.status, 201) << later.body;
  auto done = s.call(t, "POST", "/api/w/admins/jobs/run/preview", R"({"kind":"identity","args":{"a":1}})");
  ASSERT_EQ(done.status, 201) << done.body;
  wait_done(s, t, "admins", done.body);
  EXPECT_EQ(created_by(later.body), "test admin/queued");
  EXPECT_EQ(created_by(done.body), "test admin/success");
  s.sql("UPDATE job SET created_by = 'edited' WHERE id IN ('" + later.body + "', '" + done.body + "')");
  EXPECT_EQ(created_by(later.body), "edited/queued") << "an unfinished job is read every time";
  EXPECT_EQ(created_by(done.body), "test admin/success") << "a finished one is kept";
}

TEST(ApiJobs, GetupdateHandsOutTheLogByOffsets) {
  api_server s;
  auto t = s.user_token;
  auto r = s.call(t, "POST", "/api/w/ws-a/jobs/run/preview",
                  R"({"language":"bash","content":"for i in 1 2 3 4 5; do echo line-$i; sleep 0.2; done\n"})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto id = r.body;
  std::string logs;
  int64_t offset = 0;
  bool completed = false;
  for (int i = 0; i < 400 && !completed; ++i) {
    auto u = s.call(t, "GET", "/api/w/ws-a/jobs_u/getupdate/" + id + "?log_offset="
                                + std::to_string(offset));
    ASSERT_EQ(u.status, 200) << u.body;
    auto j = json_of(u.body);
    logs += j["new_logs"].GetString();
    EXPECT_EQ(j["log_offset"].GetInt64(),
              offset + static_cast<int64_t>(j["new_logs"].GetStringLength()));
    offset = j["log_offset"].GetInt64();
    completed = j["completed"].GetBool() && j["new_logs"].GetStringLength() == 0;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(completed);
  EXPECT_EQ(logs, "line-1\nline-2\nline-3\nline-4\nline-5\n");
  auto all = s.call(t, "GET", "/api/w/ws-a/jobs_u/get_logs/" + id);
  EXPECT_EQ(all.body, logs);
  // From the middle, and past the end.
  auto mid = json_of(s.call(t, "GET", "/api/w/ws-a/jobs_u/getupdate/" + id + "?log_offset=7").body);
  EXPECT_EQ(std::string{mid["new_logs"].GetString()}, logs.substr(7));
  auto end = json_of(s.call(t, "GET", "/api/w/ws-a/jobs_u/getupdate/" + id + "?log_offset=999").body);
  EXPECT_EQ(std::string{end["new_logs"].GetString()}, "");
  EXPECT_EQ(s.call(t, "GET", "/api/w/ws-a/jobs_u/getupdate/" + id + "?log_offset=-1").status, 400);
  EXPECT_EQ(s.call(t, "GET", "/api/w/ws-a/jobs_u/completed/get_result/" + id).body, "\"line-5\"");
}

TEST(ApiJobs, ListsCountsCancelAndMetrics) {
  api_server s;
  auto t = s.user_token;
  auto metric = [&](const std::string& name) {
    auto m = s.call("", "GET", "/metrics").body;
    auto p = m.find("\n" + name + " ");
    return p == std::string::npos ? -1.0 : std::atof(m.c_str() + p + name.size() + 2);
  };
  auto before = metric("millrace_jobs_completed_total{status=\"success\"}");
  ASSERT_GE(before, 0);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = s.call(t, "POST", "/api/w/ws-a/jobs/run/preview",
                    R"({"language":"bash","content":"echo )" + std::to_string(i) + "\\n\"}");
    ASSERT_EQ(r.status, 201) << r.body;
    ids.push_back(r.body);
  }
  for (auto& id : ids)
    wait_done(s, t, "ws-a", id);
  // A queued job (an hour from now), cancelled while queued.
  auto later = s.call(t, "POST", "/api/w/ws-a/jobs/run/preview?scheduled_in_secs=3600",
                      R"({"language":"bash","content":"echo later\n"})");
  ASSERT_EQ(later.status, 201);
  auto count = json_of(s.call(t, "GET", "/api/w/ws-a/jobs/queue/count").body);
  EXPECT_EQ(count["database_length"].GetInt64(), 1);
  auto c = s.call(t, "POST", "/api/w/ws-a/jobs_u/queue/cancel/" + later.body, "{}");
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(std::string{json_of(c.body)["status"].GetString()}, "canceled");
  // jobs/list: newest first, in pages; filters.
  std::vector<std::string> listed;
  std::string target = "/api/w/ws-a/jobs/list?per_page=2";
  for (int page = 0; page < 10; ++page) {
    auto r = s.call(t, "GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    auto page_doc = json_of(r.body);
    for (auto& v : page_doc.GetArray())
      listed.push_back(v["id"].GetString());
    auto next = header_of(r, "X-Next-Cursor");
    if (next.empty())
      break;
    target = "/api/w/ws-a/jobs/list?per_page=2&cursor=" + next;
  }
  ASSERT_EQ(listed.size(), 6u);
  EXPECT_EQ(listed.front(), later.body) << "newest first";
  EXPECT_EQ(listed.back(), ids.front());
  auto canceled = json_of(s.call(t, "GET", "/api/w/ws-a/jobs/list?status=canceled").body);
  ASSERT_EQ(canceled.Size(), 1u);
  auto done = json_of(s.call(t, "GET", "/api/w/ws-a/jobs/completed/list?success=true").body);
  EXPECT_EQ(done.Size(), 5u);
  EXPECT_EQ(s.call(t, "GET", "/api/w/ws-a/jobs/list?status=bogus").status, 400);
  EXPECT_GE(metric("millrace_jobs_completed_total{status=\"success\"}"), before + 5)
    << "metrics move after jobs run";
  EXPECT_GE(metric("millrace_jobs_completed_total{status=\"canceled\"}"), 1);
  auto m = s.call("", "GET", "/metrics").body;
  for (auto name : {"millrace_queue_depth", "millrace_dispatch_latency_seconds_bucket",
                    "millrace_storage_batch_size_bucket", "millrace_storage_commit_latency_seconds_bucket",
                    "millrace_http_request_duration_seconds"})
    EXPECT_NE(m.find(name), std::string::npos) << name;
}

} // namespace
} // namespace millrace::test
