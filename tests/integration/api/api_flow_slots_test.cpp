// The flow slot pool over HTTP with flows.slots = 1: sub-flows never wait for
// a slot their parents hold (parallel sub-flows nested two deep finish), and
// top-level flows still run one at a time. Approval waits that do not count
// against flows.slots: api_flows_resume_test.cpp.

#include "actors/protocol/types/job.hpp"
#include "tests/integration/api/api_fixture.hpp"

namespace millrace::test {
namespace {

void create(const api_server& s, const std::string& path, const std::string& value) {
  auto r = s.call(s.user_token, "POST", "/api/w/ws-a/flows/create",
                  R"({"path":")" + path + R"(","summary":"","value":)" + value + "}");
  ASSERT_EQ(r.status, 201) << path << ": " << r.body;
}

/// A parallel loop over `items` that calls the flow at `path` for each.
std::string loop_calling(const std::string& path, const std::string& items) {
  return R"({"modules":[{"id":"loop","value":{"type":"forloopflow","iterator":)"
         R"({"type":"javascript","expr":")"
         + items
         + R"("},"parallel":true,"parallelism":4,"skip_failures":false,"modules":[)"
           R"({"id":"call","value":{"type":"flow","path":")"
         + path + R"(","input_transforms":{}}}]}}]})";
}

TEST(ApiFlowSlots, ParallelSubFlowsNestedTwoDeepFinishWithOneFlowSlot) {
  api_server s{std::chrono::seconds{20}, 1};
  create(s, "f/nest/leaf", R"({"modules":[{"id":"x","value":{"type":"identity"}}]})");
  create(s, "f/nest/mid", loop_calling("f/nest/leaf", "[1, 2, 3]"));
  create(s, "f/nest/top", loop_calling("f/nest/mid", "[1, 2]"));
  // With one slot for every flow job, the top run would hold it and wait
  // forever for its sub-flows.
  auto r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run_wait_result/f/f/nest/top", "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json_of(r.body);
  ASSERT_TRUE(j.IsArray() && j.Size() == 2) << r.body;
  for (auto& mid : j.GetArray())
    EXPECT_TRUE(mid.IsArray() && mid.Size() == 3) << r.body;
  auto n = s.sql("SELECT count(*) FROM job WHERE workspace_id = 'ws-a' AND kind = 'flow'", {});
  EXPECT_EQ(n.rows[0][0].text, "9") << "1 top, 2 mid and 6 leaf flow runs";
}

TEST(ApiFlowSlots, TopLevelFlowsStillRunOneAtATime) {
  api_server s{std::chrono::seconds{20}, 1};
  auto value = R"({"modules":[{"id":"a","value":{"type":"rawscript","language":"bash",)"
               R"("content":"sleep 0.4\necho 1\n","input_transforms":{}}}]})";
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    auto r = s.call(s.user_token, "POST", "/api/w/ws-a/jobs/run/preview_flow",
                    std::string{R"({"value":)"} + value + R"(,"args":{}})");
    ASSERT_EQ(r.status, 201) << r.body;
    ids.push_back(r.body);
  }
  for (auto& id : ids)
    ASSERT_EQ(s.tree->wait(id).status, actors::job_status::success);
  // Two worker slots could run both steps at once; one flow slot must not:
  // the second flow's step starts in a later transaction than the one that
  // recorded the first flow's step done.
  auto rs = s.sql("SELECT count(*) FROM job ja JOIN job_completed a ON a.job_id = ja.id, "
                  "job jb JOIN job_completed b ON b.job_id = jb.id "
                  "WHERE ja.parent_job = $1::uuid AND jb.parent_job = $2::uuid "
                  "AND (a.completed_at <= b.started_at OR b.completed_at <= a.started_at)",
                  {ids[0], ids[1]});
  EXPECT_EQ(rs.rows[0][0].text, "1") << "the steps of the two flows overlapped";
}

} // namespace
} // namespace millrace::test
